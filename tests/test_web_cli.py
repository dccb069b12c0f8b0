"""`python -m reproduce web OUT_DIR`: the site it writes (page, step graph, settings from the same
places the Python driver takes them, labels, onnxruntime-web's files), the runtime fetched once
with npm and cached, bad input (one line, exit status 2, nothing written), and --serve (the URL
printed, the cross-origin isolation headers sent)."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import onnx
import pytest

from reproduce.inputs.bounds import load_bounds
from reproduce.inputs.demo import demo_settings
from reproduce.run.job import NetFiles, build_step_model
from reproduce.step import rules
from reproduce.web.runtime_files import DIST_FILES
from support.web import REPO_ROOT, demo_site, web_command, web_in_process

STEP_INPUTS = ["code", "step", "unit", "l2", "active", "best", "lower", "upper"]


def test_demo_site_holds_the_page_model_settings_labels_and_runtime():
    site = demo_site()
    demo = demo_settings()
    for name in ("index.html", "app.mjs", "seed.mjs", "loop.mjs", "style.css", "labels.json",
                 "site.json", *(f"ort/{file}" for file in DIST_FILES)):
        assert (site / name).is_file(), name
    settings = json.loads((site / "settings.json").read_text())
    assert (settings["act_layer"], settings["xy"], settings["L2"], settings["mode"]) == (
        demo.act_layer, demo.xy, demo.L2, "bound")
    assert settings["defaults"] == {"unit": demo.units[0], "seed": demo.seed, "n_iters": demo.n_iters,
                                    "start_lr": demo.start_lr, "end_lr": demo.end_lr}
    step = build_step_model(NetFiles(**demo.net_files), demo.act_layer, 1, "bound")
    assert settings["code_size"] == step.shapes.code_size
    assert settings["image_shape"] == list(step.shapes.net_input)
    assert (settings["crop"]["top"], settings["crop"]["left"]) == step.shapes.crop_offset
    _, upper = load_bounds(demo.bound, step.shapes.code_size)
    assert settings["bound"]["upper"] == upper.ravel().tolist()
    assert settings["rules"]["step_size"] == rules.to_json(rules.STEP_SIZE)
    assert settings["runtime"]["version"] == json.loads(
        (REPO_ROOT / "web" / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    model = onnx.load(str(site / "model" / "step.onnx"))
    assert [value.name for value in model.graph.input] == STEP_INPUTS
    assert model.SerializeToString() == step.exported(weight_copies=False).SerializeToString()
    labels = json.loads((site / "labels.json").read_text())
    assert labels == (Path(demo.labels).read_text().split("\n"))[:len(demo.units)]
    assert settings["memory"]["model_bytes"] == (site / "model" / "step.onnx").stat().st_size


def test_flags_override_the_published_run_and_a_rebuild_replaces_the_site(tmp_path):
    site = tmp_path / "site"
    done = web_command(str(site), "--demo", "--unit", "4", "--seed", "7", "--n_iters", "30",
                       "--L2", "0.9", "--start_lr", "2.5", "--clip", "1")
    assert done.returncode == 0, done.stderr
    settings = json.loads((site / "settings.json").read_text())
    assert settings["defaults"] == {"unit": 4, "seed": 7, "n_iters": 30, "start_lr": 2.5,
                                    "end_lr": 1e-10}
    assert (settings["L2"], settings["mode"], settings["bound"]) == (0.9, "clip", None)
    assert [value.name for value in onnx.load(str(site / "model" / "step.onnx")).graph.input] == \
        STEP_INPUTS[:6]
    done = web_command(str(site), "--demo")
    assert done.returncode == 0, done.stderr
    assert json.loads((site / "settings.json").read_text())["mode"] == "bound"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]  # no partial/old folders


@pytest.mark.parametrize("flags, message", [
    (["--demo", "--unit", "12"], "--unit 12: out of range for layer fc8 (12 units)"),
    (["--demo", "--n_iters", "0"], "--n_iters 0: must be at least 1"),
    (["--demo", "--seed", "-1"], "--seed -1: must be in [0, 2**32)"),
    (["--demo", "--act_layer", "fc9"], "--act_layer fc9: no such layer"),
    (["--demo", "--bound", "missing.txt"], "--bound missing.txt: file not found"),
    (["--demo", "--labels", "models/demo/fc6_3x.txt"], "--labels models/demo/fc6_3x.txt: 1 labels"),
    (["--demo", "--serve", "70000"], "--serve 70000: not a port number"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, flags, message):
    assert web_in_process(str(tmp_path / "site"), *flags) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"web: error: {message}"), lines
    assert "Traceback" not in "\n".join(lines)
    assert list(tmp_path.iterdir()) == []


def test_bad_flag_from_the_command_line_is_one_line(tmp_path):
    done = web_command(str(tmp_path / "site"), "--demo", "--unit", "three")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["web: argument --unit: invalid int value: 'three'"]
    assert list(tmp_path.iterdir()) == []


def test_an_out_dir_that_is_not_a_site_is_left_alone(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert web_in_process(str(tmp_path), "--demo") == 2
    assert "is not a site this command built" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def _without_npm(tmp_path) -> str:
    """A PATH holding python and node but no npm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("node",):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def test_runtime_is_fetched_once_then_built_from_the_cache(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm not found (install Node.js and npm)")
    cache = {"DGN_AM_CACHE": str(tmp_path / "cache")}
    done = web_command(str(tmp_path / "first"), "--demo", env=cache)
    assert done.returncode == 0, done.stderr
    done = web_command(str(tmp_path / "second"), "--demo", env={**cache, "PATH": _without_npm(tmp_path)})
    assert done.returncode == 0, done.stderr
    for name in DIST_FILES:
        assert (tmp_path / "first" / "ort" / name).read_bytes() == \
            (tmp_path / "second" / "ort" / name).read_bytes()


def test_unreachable_registry_or_missing_npm_is_one_line(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm not found (install Node.js and npm)")
    offline = {"DGN_AM_CACHE": str(tmp_path / "cache"), "npm_config_registry": "http://127.0.0.1:9/",
               "npm_config_cache": str(tmp_path / "npm-cache"), "npm_config_fetch_retries": "0",
               "npm_config_offline": "false"}
    done = web_command(str(tmp_path / "site"), "--demo", env=offline)
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("web: error: npm pack onnxruntime-web@") and "failed" in line, done.stderr
    done = web_command(str(tmp_path / "site"), "--demo", env={**offline, "PATH": _without_npm(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("web: error: npm not found"), done.stderr
    assert not (tmp_path / "site").exists()


def test_serve_prints_the_url_and_sends_the_isolation_headers(tmp_path):
    demo_site()  # the runtime is cached
    process = subprocess.Popen([sys.executable, "-m", "reproduce", "web", str(tmp_path / "site"),
                                "--demo", "--serve", "0"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        serving = lines[-1]
        assert serving.startswith(f"serving {tmp_path / 'site'} at http://127.0.0.1:"), lines
        url = serving.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "index.html") as response:
            assert response.status == 200
            assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert b"DGN-AM in the browser" in response.read()
        with urllib.request.urlopen(url + "ort/ort-wasm-simd-threaded.wasm") as response:
            assert response.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(url + "app.mjs") as response:
            assert response.headers["Content-Type"] == "text/javascript"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_net_onnx_site_carries_the_adapter(tmp_path):
    demo = demo_settings()
    classifier = tmp_path / "classifier.onnx"
    converted = subprocess.run([sys.executable, "-m", "converters", "caffe2onnx", demo.net_definition,
                                demo.net_weights, "-o", str(classifier)], cwd=REPO_ROOT,
                               capture_output=True, text=True)
    assert converted.returncode == 0, converted.stderr
    demo_site()  # the runtime is cached
    done = web_command(str(tmp_path / "site"), "--net_onnx", str(classifier), "--crop_size", "56",
                       "--generator_definition", demo.generator_definition,
                       "--generator_weights", demo.generator_weights, "--bound", demo.bound,
                       "--unit", "3")
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / "site" / "settings.json").read_text())
    assert settings["nets"]["kind"] == "onnx" and settings["nets"]["net"] == "classifier.onnx"
    assert settings["nets"]["adapter"]["crop"] == 56 and settings["nets"]["adapter"]["rgb"] is False
    assert settings["defaults"]["unit"] == 3 and settings["units"] == 12
    assert json.loads((tmp_path / "site" / "labels.json").read_text()) is None
