"""`python -m reproduce sweep` end to end on the demo pair (models/demo), few iterations:
act_max's bytes, resuming, new hyperparameter values, batch-size independence, bad input, the
single-writer lock, a SIGKILL mid-sweep, final_act's definition, --atlas and the export (the
atlas's pages: tests/test_atlas.py)."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reproduce.sweep.lock import exclusive
from support.atlas import run_elements
from support.paths import REPO_ROOT
from support.sweep import (HYPER, N_ITERS, SWEEP, env, reproduce, result_files, results_of,
                           store_rows)

DEMO = REPO_ROOT / "models" / "demo"
SET_DIR = f"fc8_xy0_n{N_ITERS}_L2_0.99_lr_8.0_1e-10_bound-"
ACT_MAX_NETS = ["--net_definition", str(DEMO / "classifier.prototxt"),
                "--net_weights", str(DEMO / "classifier.caffemodel"),
                "--generator_definition", str(DEMO / "generator.prototxt"),
                "--generator_weights", str(DEMO / "generator.caffemodel"),
                "--bound", str(DEMO / "fc6_3x.txt")]
UNITS, SEEDS = list(range(12)), [0, 1]


def sweep(out_dir: Path, *flags: str) -> subprocess.CompletedProcess:
    done = reproduce("sweep", str(out_dir), *SWEEP, *flags)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted sweep: 12 units × 2 seeds, batches of 4."""
    out_dir = tmp_path_factory.mktemp("sweep") / "reference"
    done = sweep(out_dir, "--units", "0-11", "--seeds", "0,1", "--batch", "4")
    assert "24 runs; 0 done already; 24 to run in 6 batch(es)" in done.stdout
    assert "estimated time left" in done.stdout
    return out_dir


def set_dir_of(out_dir: Path) -> Path:
    (folder,) = [path for path in out_dir.iterdir() if path.name.startswith(SET_DIR)]
    return folder


def test_files_are_act_max_bytes_lone_and_batched(reference, tmp_path):
    """Each run's JPEG and PNG equal act_max's with the same flags: one act_max job over all
    units and seeds, and lone act_max runs."""
    batched = reproduce("act_max", *ACT_MAX_NETS, "--act_layer", "fc8", *HYPER, "--threads", "1",
                        "--units", *map(str, UNITS), "--seeds", *map(str, SEEDS), "--batch", "0",
                        "--output_dir", str(tmp_path / "batched"))
    assert batched.returncode == 0, batched.stderr
    swept = result_files(set_dir_of(reference))
    assert len(swept) == 2 * len(UNITS) * len(SEEDS)
    assert result_files(tmp_path / "batched") == swept
    for unit, seed in ((5, 1), (11, 0)):
        lone = reproduce("act_max", *ACT_MAX_NETS, "--act_layer", "fc8", *HYPER, "--threads", "1",
                         "--unit", str(unit), "--seed", str(seed),
                         "--output_dir", str(tmp_path / "lone"))
        assert lone.returncode == 0, lone.stderr
        name = f"fc8_{unit:04d}_{N_ITERS}_0.99_8.0__{seed}"
        for suffix in (".jpg", ".png"):
            assert (tmp_path / "lone" / (name + suffix)).read_bytes() == swept[name + suffix]


def test_batch_size_does_not_change_a_run(reference, tmp_path):
    """Lone runs (--batch 1) and one batch of all 24 (--batch 0) give the batch-4 bytes."""
    for batch in ("1", "0"):
        sweep(tmp_path / batch, "--units", "0-11", "--seeds", "0,1", "--batch", batch)
        assert result_files(tmp_path / batch) == result_files(reference)
        assert results_of(store_rows(tmp_path / batch)) == results_of(store_rows(reference))


def test_demo_batches_are_kept_they_do_not_change_bits(reference):
    """The demo's 3×56×56 crop is a multiple of 64 bytes per sample: the probe finds batches
    bit-identical (reproduce.sweep.invariance), so the sweep really ran batches of 4."""
    assert {row["batch_size"] for row in store_rows(reference)} == {4}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The suite's tiny nets: a 3×9×9 crop, 972 bytes per sample (not a multiple of 64)."""
    from support.tiny_nets import CODE_SIZE, write_tiny_nets
    directory = tmp_path_factory.mktemp("tiny")
    nets = write_tiny_nets(directory)
    (directory / "bound.txt").write_text(" ".join(["3"] * CODE_SIZE))
    return ["--net_definition", str(nets.classifier_prototxt),
            "--net_weights", str(nets.classifier_caffemodel),
            "--generator_definition", str(nets.generator_prototxt),
            "--generator_weights", str(nets.generator_caffemodel),
            "--bound", str(directory / "bound.txt"), "--act_layer", "fc8", *HYPER, "--threads", "1"]


def test_where_batches_change_bits_the_sweep_runs_lone_runs(tiny, tmp_path):
    """Whatever --batch, the files are lone act_max runs' bytes; when the probe finds that a
    batch changes bits (it does for the tiny nets on the machines measured) the sweep says so
    and runs lone runs; --inexact_batches keeps the batches."""
    done = reproduce("sweep", str(tmp_path / "sweep"), *tiny, "--units", "all", "--seeds", "0-3",
                     "--batch", "4")
    assert done.returncode == 0, done.stderr
    rows = store_rows(tmp_path / "sweep")
    if "change a run's bits" in done.stdout:
        assert {row["batch_size"] for row in rows} == {1}
    else:
        assert {row["batch_size"] for row in rows} == {4}
    lone = reproduce("act_max", *tiny, "--units", "0", "1", "2", "3", "4", "--seeds", "0", "1",
                     "2", "3", "--batch", "1", "--output_dir", str(tmp_path / "lone"))
    assert lone.returncode == 0, lone.stderr
    assert result_files(tmp_path / "lone") == result_files(set_dir_of(tmp_path / "sweep"))
    inexact = reproduce("sweep", str(tmp_path / "inexact"), *tiny, "--units", "all",
                        "--seeds", "0-3", "--batch", "4", "--inexact_batches")
    assert inexact.returncode == 0, inexact.stderr
    assert "change a run's bits" not in inexact.stdout
    assert {row["batch_size"] for row in store_rows(tmp_path / "inexact")} == {4}


def test_final_act_is_the_activation_of_the_returned_image(reference, tmp_path):
    """final_act = the last iteration's act = the net's unit on the returned image (the trace's
    `best`, before that iteration's update); acts = the trace's per-iteration acts."""
    from converters.caffe.to_onnx import caffe_to_onnx
    import onnxruntime as ort
    unit, seed = 7, 1
    done = reproduce("act_max", *ACT_MAX_NETS, "--act_layer", "fc8", *HYPER, "--threads", "1",
                     "--unit", str(unit), "--seed", str(seed), "--output_dir", str(tmp_path),
                     "--trace", str(tmp_path / "trace.npz"))
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "trace.npz") as trace:
        acts, best = trace["acts"], trace["best"]
    (row,) = [row for row in store_rows(reference) if (row["unit"], row["seed"]) == (unit, seed)]
    assert json.loads(row["acts"]) == acts.tolist()
    assert row["final_act"] == acts[-1] and row["iterations"] == len(acts)
    net = caffe_to_onnx(str(DEMO / "classifier.prototxt"), str(DEMO / "classifier.caffemodel"),
                        outputs=("fc8",), end="fc8", batch=1)
    session = ort.InferenceSession(net.SerializeToString(), providers=["CPUExecutionProvider"])
    (fc8,) = session.run(None, {session.get_inputs()[0].name: best})
    # The same float32 forward as inside the step graph, fed the same crop: equal up to float32
    # summation order (a few ulp of the largest partial sums; |act| ~ 10-100).
    np.testing.assert_allclose(fc8[0, unit], row["final_act"], rtol=1e-5, atol=1e-5)


def test_rerun_runs_nothing_and_touches_nothing(reference):
    before = {path: path.stat().st_mtime_ns for path in set_dir_of(reference).iterdir()}
    rows = store_rows(reference)
    done = sweep(reference, "--units", "0-11", "--seeds", "0,1", "--batch", "4")
    assert "24 done already; 0 to run" in done.stdout
    assert {path: path.stat().st_mtime_ns for path in set_dir_of(reference).iterdir()} == before
    assert store_rows(reference) == rows


def test_a_new_hyperparameter_value_adds_only_its_runs(reference, tmp_path):
    out_dir = tmp_path / "grown"
    shutil.copytree(reference, out_dir)
    before = {path: (path.stat().st_mtime_ns, path.read_bytes())
              for path in set_dir_of(out_dir).iterdir()}
    old_rows = store_rows(out_dir)
    done = sweep(out_dir, "--units", "0-11", "--seeds", "0,1", "--L2", "0.99", "0.9")
    assert "48 runs; 24 done already; 24 to run" in done.stdout
    assert {path: (path.stat().st_mtime_ns, path.read_bytes())
            for path in set_dir_of(out_dir).iterdir()} == before
    rows = store_rows(out_dir)
    assert [row for row in rows if row["L2"] == 0.99] == old_rows
    new_dirs = {row["set_dir"] for row in rows if row["L2"] == 0.9}
    assert len(new_dirs) == 1 and new_dirs.pop().startswith(f"fc8_xy0_n{N_ITERS}_L2_0.9_lr_")
    assert len(result_files(out_dir)) == 2 * 48


BAD_INPUTS = [
    (["--units", "0-12", "--seeds", "0"], "--units 0-12: 12 is out of range (valid: 0-11)"),
    (["--units", "3-1", "--seeds", "0"], "--units 3-1: empty range"),
    (["--units", "1;2", "--seeds", "0"], "--units 1;2: bad item"),
    (["--units", "0", "--seeds", "all"], "--seeds all: 'all' is not allowed"),
    (["--units", "0", "--seeds", "0", "--act_layer", "fc9"], "--act_layer fc9: no such layer"),
    (["--units", "0", "--seeds", "0", "--bound", "missing.txt"],
     "--bound missing.txt: file not found"),
    (["--units", "0", "--seeds", "0", "--L2", "nan"], "--L2 nan: must be a finite number"),
    (["--units", "0", "--seeds", "0", "--batch", "-1"], "--batch -1: must not be negative"),
    (["--units", "0", "--seeds", "0", "--bound", "x", "--clip"], "not allowed with argument"),
    (["--seeds", "0"], "--units: required for a sweep"),
]


@pytest.mark.parametrize("flags, message", BAD_INPUTS, ids=[m.split(":")[0] for _, m in BAD_INPUTS])
def test_bad_input_is_one_line_and_writes_nothing(flags, message, tmp_path, capsys):
    """Exit status 2, one line naming the flag, before anything runs (OUT_DIR not created)."""
    from common.cli import run_subcommands
    from reproduce.__main__ import SUBCOMMAND_MODULES
    out_dir = tmp_path / "out"
    argv = ["sweep", str(out_dir), *SWEEP, *flags]
    try:
        status = run_subcommands("python -m reproduce", None, SUBCOMMAND_MODULES, argv)
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("sweep") or "Error" in line]
    assert status == 2 and len(errors) == 1 and message in errors[0], errors
    assert not out_dir.exists()


def test_a_second_sweep_is_refused_while_one_writes(reference):
    rows = store_rows(reference)
    with exclusive(reference):  # as a running sweep holds it
        done = reproduce("sweep", str(reference), *SWEEP, "--units", "0-11", "--seeds", "0,1,2")
    assert done.returncode == 2
    assert re.fullmatch(r"sweep: error: .*another sweep is writing here \(pid \d+\)[^\n]*\n",
                        done.stderr)  # refused at once: before any conversion (no progress line)
    assert store_rows(reference) == rows


def row_count(store: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_sigkill_mid_sweep_loses_only_batches_in_flight(reference, tmp_path):
    """kill -9 while batches run: every stored row has complete images equal to the
    uninterrupted sweep's, no final-named file is half written; the rerun completes the sweep
    and equals the uninterrupted one (files and rows)."""
    out_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "reproduce", "sweep", str(out_dir), *SWEEP,
               "--units", "0-11", "--seeds", "0,1", "--batch", "2"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while row_count(out_dir / "runs.sqlite") < 2 and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the sweep ended before it could be killed")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    rows = store_rows(out_dir)
    assert 2 <= len(rows) < 24, "killed mid-way"
    expected = result_files(reference)
    for row in rows:
        for relative in (row["image"], row["jpeg"]):
            assert (out_dir / relative).read_bytes() == expected[relative]
    for path in out_dir.rglob("*"):
        if path.suffix in (".jpg", ".png"):  # final names only (temporaries end in .tmp)
            with Image.open(path) as image:
                image.load()  # a truncated file raises here
    done = sweep(out_dir, "--units", "0-11", "--seeds", "0,1", "--batch", "2")
    assert f"{len(rows)} done already" in done.stdout
    assert result_files(out_dir) == expected
    assert results_of(store_rows(out_dir)) == results_of(store_rows(reference))
    assert not list(out_dir.rglob("*.tmp"))


def test_atlas_action_and_export_work_on_the_store_alone(reference, tmp_path):
    out_dir = tmp_path / "copy"
    shutil.copytree(reference, out_dir)  # the reference's atlas keeps the demo labels
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"plain label {unit}\n" for unit in range(12)))
    done = reproduce("sweep", str(out_dir), "--atlas", "--labels", str(labels),
                     "--export", str(tmp_path / "runs.csv"))
    assert done.returncode == 0, done.stderr
    tiles = run_elements(out_dir / "atlas" / "index.html")  # the atlas: tests/test_atlas.py
    assert {tile["data-label"] for tile in tiles} == {f"plain label {unit}" for unit in range(12)}
    lines = (tmp_path / "runs.csv").read_text().splitlines()
    assert len(lines) == 1 + 24 and lines[0].startswith("act_layer,unit,xy,seed,n_iters,L2,")
    missing = reproduce("sweep", str(tmp_path / "nothing"), "--atlas")
    assert missing.returncode == 2 and "no sweep store" in missing.stderr
