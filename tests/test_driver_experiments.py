"""`python -m reproduce experiments`: the published table as Jobs, the missing-files
report with the demo fallback, and the export_step CLI."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from common.cli import run_subcommands
from reproduce.__main__ import SUBCOMMAND_MODULES
from reproduce.experiments.table import EXPERIMENTS, experiment_job
from reproduce.run.job import StartImage
from support.tiny_nets import CODE_SIZE, write_tiny_nets


def reproduce_cli(*argv: str) -> int:
    return run_subcommands("python -m reproduce", None, SUBCOMMAND_MODULES, list(argv))


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: f"exp{e.number}")
def test_table_rows_become_the_shell_scripts_jobs(experiment):
    job = experiment_job(experiment)
    assert (job.act_layer, tuple(unit for unit, _ in job.samples), job.xy, job.schedule.n_iters) == (
        experiment.act_layer, experiment.units, experiment.xy, experiment.n_iters)
    assert {seed for _, seed in job.samples} == {0} and not job.clip
    schedule = job.schedule
    assert (schedule.l2, schedule.lr_start, schedule.lr_end) == (0.99, experiment.start_lr, 1e-10)
    assert job.bound.endswith("act_range/3x/fc6.txt")
    assert job.nets.generator_weights.endswith("nets/upconv/fc6/generator.caffemodel")
    assert isinstance(job.start, StartImage) == (experiment.number == 3) == job.record_stepped


def test_table_matches_the_spec():
    rows = {e.number: (e.act_layer, e.units, e.xy, e.n_iters, e.start_lr) for e in EXPERIMENTS}
    assert rows == {1: ("fc8", (643, 624, 304, 629, 437), 0, 200, 8.0),
                    2: ("fc8", (2, 7, 8, 12, 71), 0, 200, 8.0),
                    3: ("fc8", (945,), 0, 30, 1.0),
                    4: ("conv5", (8, 55, 154, 181, 45), 6, 200, 8.0),
                    5: ("loss3/classifier", (643, 624, 304, 629, 437), 0, 200, 2.0)}
    assert EXPERIMENTS[3].crop == (32, 32, 163)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A demo folder in the layout of models/demo (demo.json naming the tiny nets)."""
    directory = tmp_path_factory.mktemp("demo")
    write_tiny_nets(directory)
    (directory / "fc6_3x.txt").write_text(" ".join(["3"] * CODE_SIZE) + "\n")
    (directory / "labels.txt").write_text("circle\nsquare\ntriangle\ncross\nstar\n")
    (directory / "demo.json").write_text(json.dumps({
        "net_definition": "classifier.prototxt", "net_weights": "classifier.caffemodel",
        "generator_definition": "generator.prototxt", "generator_weights": "generator.caffemodel",
        "bound": "fc6_3x.txt", "labels": "labels.txt", "units": [0, 1, 2, 3, 4], "act_layer": "fc8",
        "opt_layer": "fc6", "n_iters": 200, "L2": 0.99, "start_lr": 8.0, "end_lr": 1e-10, "seed": 0,
        "xy": 0}))
    return directory


def test_missing_official_files_are_listed_then_the_demo_runs(demo_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DGN_AM_DATA", str(tmp_path / "empty_data"))
    output = tmp_path / "output"
    assert reproduce_cli("experiments", "--only", "1", "--output", str(output), "--demo_dir",
                         str(demo_dir), "--n_iters", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    missing = [line for line in lines if line.startswith("missing: ")]
    assert len(missing) == 3
    assert any("nets/caffenet/bvlc_reference_caffenet.caffemodel" in line and
               "python -m reproduce fetch caffenet-weights" in line for line in missing)
    assert "running the demo models instead" in "\n".join(lines)
    names = sorted(p.name for p in (output / "demo").glob("*.jpg"))
    assert names == [f"fc8_{u:04d}_03_0.99_8.0__0.jpg" for u in range(5)]
    collage = Image.open(output / "demo.jpg")
    assert collage.width == 5 * 9 + 4 or collage.width > 5 * 9  # captions may widen the panels


def test_without_demo_files_the_error_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DGN_AM_DATA", str(tmp_path / "empty_data"))
    assert reproduce_cli("experiments", "--demo", "--demo_dir", str(tmp_path / "nodemo")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "demo.json: missing" in err[0]


def test_export_step_writes_a_valid_step_graph_and_loop(demo_dir, tmp_path, capsys):
    step, loop = tmp_path / "step.onnx", tmp_path / "loop.onnx"
    assert reproduce_cli("export_step", str(step), "--loop", str(loop), "--batch_size", "2",
                         "--net_definition", str(demo_dir / "classifier.prototxt"),
                         "--net_weights", str(demo_dir / "classifier.caffemodel"),
                         "--generator_definition", str(demo_dir / "generator.prototxt"),
                         "--generator_weights", str(demo_dir / "generator.caffemodel"),
                         "--bound", str(demo_dir / "fc6_3x.txt")) == 0
    for path in (step, loop):
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    names = [value.name for value in onnx.load(str(step)).graph.input]
    assert names == ["code", "step", "unit", "l2", "active", "best", "lower", "upper"]
    assert np.prod([d.dim_value for d in onnx.load(str(step)).graph.input[0].type.tensor_type.shape.dim]) \
        == 2 * CODE_SIZE
