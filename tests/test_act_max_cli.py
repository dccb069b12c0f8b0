"""`python -m reproduce act_max` end to end on the tiny Caffe nets: outputs, trace, determinism,
bad flags (one clear line, non-zero exit, no traceback)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reproduce.outputs.images import to_saved_array
from reproduce.outputs.trace import read_trace
from reproduce.step.rules import Schedule
from support.paths import REPO_ROOT
from support.tiny_nets import CODE_SIZE, assert_close, assert_run_follows_reference, write_tiny_nets


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cli")
    nets = write_tiny_nets(directory)
    bound = directory / "fc6_3x.txt"
    bound.write_text(" ".join(["3"] * CODE_SIZE))
    return nets, bound


def net_flags(nets, bound) -> list[str]:
    return ["--net_definition", str(nets.classifier_prototxt), "--net_weights", str(nets.classifier_caffemodel),
            "--generator_definition", str(nets.generator_prototxt),
            "--generator_weights", str(nets.generator_caffemodel), "--bound", str(bound)]


def act_max(*flags: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reproduce", "act_max", *flags], cwd=cwd or REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_run_writes_the_release_file_name_png_and_trace(tiny, tmp_path):
    """Name {L}_{u:04d}_{n:02d}_{L2}_{lr}__{seed}.jpg, a PNG twin, and a trace that matches NumPy."""
    nets, bound = tiny
    done = act_max("--unit", "3", "--n_iters", "6", "--L2", "0.99", "--start_lr", "8.0", "--end_lr", "1e-10",
                   "--seed", "5", "--output_dir", str(tmp_path), "--trace", str(tmp_path / "t.npz"),
                   "--threads", "1", *net_flags(nets, bound))
    assert done.returncode == 0, done.stderr
    jpeg = tmp_path / "fc8_0003_06_0.99_8.0__5.jpg"
    assert jpeg.is_file() and jpeg.with_suffix(".png").is_file()
    trace = read_trace(tmp_path / "t.npz")
    assert trace["acts"].dtype == np.float64 and trace["acts"].shape == (6,)
    assert trace["codes"].dtype == np.float32 and trace["codes"].shape == (6, CODE_SIZE)
    assert trace["code_init"].shape == (1, CODE_SIZE) and trace["best"].shape == (1, 3, 9, 9)
    assert trace["saved"].dtype == np.uint8 and trace["saved"].shape == (9, 9, 3)
    start = np.random.RandomState(5).normal(0, 1, (1, CODE_SIZE)).astype(np.float32)
    np.testing.assert_array_equal(trace["code_init"], start)
    np.testing.assert_array_equal(trace["saved"], to_saved_array(trace["best"]))
    from PIL import Image
    np.testing.assert_array_equal(np.asarray(Image.open(jpeg.with_suffix(".png"))), trace["saved"])
    bounds = (np.zeros((1, CODE_SIZE)), np.full((1, CODE_SIZE), 3.0))
    # each iteration against the NumPy step from the trace's own previous code (tests/TOLERANCES.md)
    assert_run_follows_reference(nets, start, trace["codes"], trace["acts"], None, None, trace["best"],
                                 Schedule(6, 8.0, 1e-10, 0.99), act_layer="fc8", unit=3, xy=0, bounds=bounds)


def test_same_run_twice_gives_identical_bytes(tiny, tmp_path):
    """Determinism: the same flags (threads fixed) give byte-identical images and traces."""
    nets, bound = tiny
    outputs = []
    for run in ("a", "b"):
        directory = tmp_path / run
        done = act_max("--unit", "1", "--n_iters", "5", "--L2", "0.99", "--start_lr", "8.0",
                       "--output_dir", str(directory), "--trace", str(directory / "t.npz"),
                       "--threads", "1", *net_flags(nets, bound))
        assert done.returncode == 0, done.stderr
        outputs.append({path.name: path.read_bytes() for path in directory.iterdir()})
    assert outputs[0].keys() == outputs[1].keys()
    first, second = (read_trace(tmp_path / run / "t.npz") for run in ("a", "b"))
    for key in first:
        assert first[key].tobytes() == second[key].tobytes(), key
    for name in outputs[0]:
        if name.endswith((".jpg", ".png")):
            assert outputs[0][name] == outputs[1][name], name


def test_debug_writes_every_iteration(tiny, tmp_path):
    """--debug: ./debug/NNN.jpg per iteration plus the result as n_iters.jpg (the release's names)."""
    nets, bound = tiny
    done = act_max("--unit", "0", "--n_iters", "3", "--debug", "1", "--output_dir", str(tmp_path),
                   *net_flags(nets, bound), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "debug").iterdir()) == ["000.jpg", "001.jpg", "002.jpg",
                                                                       "003.jpg"]


BAD = [
    (["--unit", "5"], "--unit 5: out of range for layer fc8 (5 units)"),
    (["--unit", "1", "--act_layer", "conv1", "--xy", "4"], "--xy 4: out of range"),
    (["--unit", "1", "--act_layer", "fc99"], "--act_layer fc99: no such layer"),
    (["--unit", "1", "--n_iters", "0"], "--n_iters 0: must be at least 1"),
    (["--unit", "1", "--net_weights", "/nonexistent/w.caffemodel"], "--net_weights /nonexistent/w.caffemodel: file not found"),
    (["--unit", "1", "--bound", "SHORT"], "holds 15 numbers, the code has 16"),
    (["--unit", "1", "--init_code", "/nonexistent.npy"], "--init_code /nonexistent.npy: file not found"),
    (["--unit", "abc"], "argument --unit: invalid int value"),
]


@pytest.mark.parametrize("flags,message", BAD)
def test_bad_flags_give_one_clear_line(tiny, tmp_path, flags, message):
    nets, bound = tiny
    short = tmp_path / "short.txt"
    short.write_text(" ".join(["3"] * (CODE_SIZE - 1)))
    flags = [str(short) if flag == "SHORT" else flag for flag in flags]
    base = net_flags(nets, bound)
    for flag in ("--net_weights", "--bound"):
        if flag in flags:
            at = base.index(flag)
            del base[at:at + 2]
    done = act_max(*base, "--output_dir", str(tmp_path / "out"), *flags)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_image_code_is_the_encoders_fc6_after_relu6(tiny, tmp_path):
    """Experiment 3's start: the full forward's fc6 blob (after the in-place relu6)."""
    from PIL import Image

    from reproduce.run.encoder import encode_image, load_mean_image, preprocess
    from reproduce.step.nets import encoder_forward
    nets, _ = tiny
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    np.save(tmp_path / "mean.npy", rng.uniform(90, 130, (12, 12, 3)).astype(np.float32))
    mean = load_mean_image(tmp_path / "mean.npy")
    code = encode_image(encoder_forward(nets.classifier_prototxt, nets.classifier_caffemodel, "fc6"),
                        tmp_path / "photo.png", mean, "fc6")
    _, cache = nets.classifier.forward(preprocess(tmp_path / "photo.png", mean, (9, 9)), "fc8")
    assert code.shape == (1, 10) and (code >= 0).all()
    image = preprocess(tmp_path / "photo.png", mean, (9, 9))
    fc6_error = nets.classifier.forward_error(image, np.zeros(image.shape), cache, "fc8")["fc6"]
    assert_close("fc6 after relu6", cache["relu6"], code, fc6_error)  # tests/TOLERANCES.md


def test_init_file_with_a_code_of_the_wrong_size_is_one_line(tiny, tmp_path):
    nets, bound = tiny
    from PIL import Image
    Image.new("RGB", (12, 12), (10, 20, 30)).save(tmp_path / "photo.png")
    np.save(tmp_path / "mean.npy", np.zeros((12, 12, 3), np.float32))
    done = act_max("--unit", "1", "--init_file", str(tmp_path / "photo.png"), "--mean_file",
                   str(tmp_path / "mean.npy"), "--encoder_definition", str(nets.classifier_prototxt),
                   "--encoder_weights", str(nets.classifier_caffemodel), "--output_dir", str(tmp_path),
                   *net_flags(nets, bound))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "--opt_layer fc6: the encoder's blob has 10 values, the generator's code 16" in done.stderr


def test_units_and_seeds_in_chunks_equal_single_runs(tiny, tmp_path):
    """--units × --seeds in chunks of --batch: every pair saved, each as if run alone."""
    nets, bound = tiny
    common = ["--n_iters", "4", "--L2", "0.99", "--start_lr", "8.0", "--threads", "1", *net_flags(nets, bound)]
    done = act_max("--units", "0", "1", "2", "--seeds", "0", "1", "--batch", "4", "--output_dir",
                   str(tmp_path / "many"), "--trace", str(tmp_path / "many" / "t.npz"), *common)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "many").glob("fc8_*.jpg"))) == 6
    alone = act_max("--unit", "2", "--seed", "1", "--output_dir", str(tmp_path / "one"), "--trace",
                    str(tmp_path / "one" / "t.npz"), *common)
    assert alone.returncode == 0, alone.stderr
    batched, single = read_trace(tmp_path / "many" / "t_u0002_s1.npz"), read_trace(tmp_path / "one" / "t.npz")
    np.testing.assert_array_equal(batched["code_init"], single["code_init"])
    bounds = (np.zeros((1, CODE_SIZE)), np.full((1, CODE_SIZE), 3.0))
    for trace in (batched, single):  # runs are chaotic: each iteration against the NumPy step from
        # the run's own previous code, within the float32 tolerance (tests/TOLERANCES.md)
        assert trace["acts"].shape == (4,)
        assert_run_follows_reference(nets, trace["code_init"], trace["codes"], trace["acts"], None, None,
                                     trace["best"], Schedule.from_flags(4, 8.0, -1, 0.99), act_layer="fc8", unit=2,
                                     xy=0, bounds=bounds)


def test_demo_runs_the_shipped_pair_with_its_bound(tmp_path):
    """--demo = the demo pair's four files and its bound file (demo.json), byte for byte."""
    demo = REPO_ROOT / "models" / "demo"
    common = ["--unit", "3", "--n_iters", "2", "--threads", "1"]
    by_demo = act_max("--demo", *common, "--output_dir", str(tmp_path / "demo"))
    explicit = act_max(*common, "--output_dir", str(tmp_path / "explicit"),
                       "--net_definition", str(demo / "classifier.prototxt"),
                       "--net_weights", str(demo / "classifier.caffemodel"),
                       "--generator_definition", str(demo / "generator.prototxt"),
                       "--generator_weights", str(demo / "generator.caffemodel"),
                       "--bound", str(demo / "fc6_3x.txt"))
    assert by_demo.returncode == 0 and explicit.returncode == 0, by_demo.stderr + explicit.stderr
    name = "fc8_0003_02_1.0_2.0__0.png"
    assert (tmp_path / "demo" / name).read_bytes() == (tmp_path / "explicit" / name).read_bytes()
    clipped = act_max("--demo", *common, "--clip", "1", "--output_dir", str(tmp_path / "clip"))
    assert clipped.returncode == 0, clipped.stderr
    assert (tmp_path / "clip" / name).read_bytes() != (tmp_path / "demo" / name).read_bytes()
