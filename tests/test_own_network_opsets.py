"""Issue 22 item 1: a user's model at any opset from 13 to the newest onnx knows, with its
weights in a `.onnx.data` file beside it (as `torch.onnx.export(..., dynamo=True)` writes
it), run from another working directory.

The step graph is built at the higher of the model's and the generator's opset (the lower
one lifted, never lowered): act_max on the same classifier saved at opsets 13, 17, 18 (its
ReduceMean with `axes` as an input) and the newest gives the activations of the opset-13
model within float32 noise, and they are the model's own output (ONNX Runtime) on the image
the run ends with. `converters vjp`, `export_step` and `layers` read external data from the
model's folder whatever the working directory; written models embed their weights, or
(from 2 GiB on; here with the limit lowered) write them beside the output with a relative
location: written to a second folder, loaded from a third.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from common.errors import UserError
from reproduce.outputs.trace import read_trace
from reproduce.step.onnx_net import with_fixed_input
from support.onnx_small_models import pooled_classifier, save_with_external_data
from support.own_network import DEMO, act_max
from support.paths import REPO_ROOT

NEWEST = onnx.defs.onnx_opset_version()
OPSETS = (13, 17, 18, NEWEST)
GENERATOR = ("--generator_definition", str(DEMO / "generator.prototxt"),
             "--generator_weights", str(DEMO / "generator.caffemodel"))
RTOL = 1e-5  # float32 noise of the same arithmetic in other node forms (tests/test_own_network.py)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[int, Path]:
    """The classifier at each opset, saved with external data in its own folder."""
    root = tmp_path_factory.mktemp("models")
    return {opset: save_with_external_data(pooled_classifier(opset), root / f"opset{opset}" / "net.onnx")
            for opset in OPSETS}


def _run(model: Path, out: Path, *flags: str) -> dict:
    assert act_max("--net_onnx", os.path.relpath(model), "--act_layer", "logits",
                   "--units", "1", "3", "--n_iters", "3", "--no_cache", *GENERATOR,
                   "--output_dir", str(out), "--trace", str(out / "trace.npz"), *flags) == 0
    return {unit: read_trace(out / f"trace_u{unit:04d}_s0.npz") for unit in (1, 3)}


@pytest.fixture(scope="module")
def opset13_run(saved, tmp_path_factory) -> dict:
    cwd = tmp_path_factory.mktemp("cwd13")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return _run(saved[13], cwd / "out")


def test_the_models_really_differ_in_opset_and_reduce_mean_form(saved):
    for opset, path in saved.items():
        model = onnx.load(str(path), load_external_data=False)
        assert model.opset_import[0].version == opset
        assert (path.parent / "net.onnx.data").is_file()
        (reduce,) = [node for node in model.graph.node if node.op_type == "ReduceMean"]
        assert (len(reduce.input) == 2) == (opset >= 18)  # axes: an input from opset 18


@pytest.mark.parametrize("opset", OPSETS)
def test_act_max_at_any_opset_with_external_data_from_another_cwd(opset, saved, opset13_run,
                                                                  tmp_path, monkeypatch):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    traces = _run(saved[opset], tmp_path / "out")
    session = ort.InferenceSession(str(saved[opset]), providers=["CPUExecutionProvider"])
    for unit, trace in traces.items():
        reference = opset13_run[unit]
        assert len(trace["acts"]) == 3
        np.testing.assert_allclose(trace["acts"], reference["acts"], rtol=RTOL)
        np.testing.assert_allclose(trace["best"], reference["best"], rtol=RTOL, atol=1e-3)
        (logits,) = session.run(None, {"image": trace["best"].astype(np.float32)})
        np.testing.assert_allclose(trace["acts"][-1], logits[0, unit], rtol=RTOL)


@pytest.mark.parametrize("opset", OPSETS)
def test_the_step_graph_is_built_at_the_higher_opset_never_lowering_the_model(opset, saved):
    from reproduce.run.job import NetFiles, build_step_model
    from reproduce.step.graph import CodeMode
    from reproduce.step.onnx_net import OnnxNet
    nets = NetFiles(*GENERATOR[1::2], "", "", net_onnx=OnnxNet(str(saved[opset])))
    step = build_step_model(nets, "logits", 1, CodeMode.NONE, use_cache=False)
    assert step.model.opset_import[0].version == max(opset, 17)  # the generator's: 17
    onnx.checker.check_model(step.exported(weight_copies=False))


def test_a_model_newer_than_onnx_knows_is_one_line_exit_2(tmp_path, capsys):
    model = pooled_classifier(NEWEST)
    model.opset_import[0].version = NEWEST + 1
    path = tmp_path / "future.onnx"
    onnx.save(model, str(path))
    assert act_max("--net_onnx", str(path), "--act_layer", "logits", "--unit", "0", *GENERATOR,
                   "--output_dir", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip()
    assert "--net_onnx" in err and "future.onnx" in err and str(NEWEST + 1) in err
    assert "\n" not in err and not (tmp_path / "out").exists()


# ---------------------------------------------------------------- models the commands write

def _forward_and_vjp(model_path: Path, image: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    feeds = {"image": image, "logits_grad": np.eye(1, 5, 2, dtype=np.float32)}
    return session.run(None, {name: value for name, value in feeds.items()
                              if name in {i.name for i in session.get_inputs()}})


def test_converters_vjp_reads_external_data_and_writes_a_model_loadable_anywhere(saved, tmp_path):
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    for folder in (first, second, third):
        folder.mkdir()
    model = save_with_external_data(pooled_classifier(18), first / "net.onnx")
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "converters", "vjp", "../first/net.onnx",
                             "-o", "../second/net_vjp.onnx", "--wrt", "image", "--of", "logits"],
                            cwd=third, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    os.chdir(third)  # the third folder: load by a path relative to it
    try:
        image = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
        logits, image_grad = _forward_and_vjp(Path("../second/net_vjp.onnx"), image)
    finally:
        os.chdir(REPO_ROOT)
    (expected,) = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(
        None, {"image": image})
    np.testing.assert_allclose(logits, expected, rtol=1e-6)
    assert image_grad.shape == image.shape and np.abs(image_grad).sum() > 0


def test_a_written_model_too_big_to_embed_gets_its_data_file_beside_it(tmp_path, monkeypatch):
    from converters import __main__ as converters_main
    from converters.caffe import onnx_file
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    third.mkdir()
    save_with_external_data(pooled_classifier(17), first / "net.onnx")
    monkeypatch.setattr(onnx_file, "EMBED_LIMIT", 0)
    monkeypatch.setattr(onnx_file, "EXTERNAL_MIN_BYTES", 128)  # the test model's weights are small
    monkeypatch.chdir(third)
    second.mkdir()
    assert converters_main.main(["vjp", "../first/net.onnx", "-o", "../second/net_vjp.onnx",
                                 "--wrt", "image", "--of", "logits"]) == 0
    written = onnx.load(str(second / "net_vjp.onnx"), load_external_data=False)
    locations = {entry.value for tensor in written.graph.initializer
                 for entry in tensor.external_data if entry.key == "location"}
    assert locations == {"net_vjp.onnx.data"} and (second / "net_vjp.onnx.data").is_file()
    monkeypatch.chdir(first)  # another folder again
    image = np.zeros((1, 3, 64, 64), np.float32)
    logits, _ = _forward_and_vjp(Path("../second/net_vjp.onnx"), image)
    (expected,) = ort.InferenceSession("net.onnx", providers=["CPUExecutionProvider"]).run(
        None, {"image": image})
    np.testing.assert_allclose(logits, expected, rtol=1e-6)


def test_export_step_and_layers_read_external_data_from_another_cwd(saved, tmp_path, monkeypatch,
                                                                    capsys):
    from common.cli import run_subcommands
    monkeypatch.chdir(tmp_path)
    model = os.path.relpath(saved[18])
    assert run_subcommands("python -m reproduce", None, ["reproduce.cli.export_step"],
                           ["export_step", "out/step.onnx", "--net_onnx", model,
                            "--act_layer", "logits", "--no_cache", *GENERATOR]) == 0
    session = ort.InferenceSession(str(tmp_path / "out" / "step.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert "new_code" in {output.name for output in session.get_outputs()}
    capsys.readouterr()
    assert run_subcommands("python -m reproduce", None, ["reproduce.cli.layers"],
                           ["layers", model]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["conv", "relu", "pooled", "logits"]


def test_sweep_reads_external_data_from_another_cwd_and_its_identity_covers_it(tmp_path,
                                                                              monkeypatch, capsys):
    """A sweep of the model with its .onnx.data runs from another folder; its nets identity
    holds the data file's content, so a resume with other weights is refused."""
    from common.cli import run_subcommands
    from reproduce.sweep.store import Store
    from support.sweep import HYPER
    model = save_with_external_data(pooled_classifier(18), tmp_path / "models" / "net.onnx")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")

    def sweep() -> int:
        return run_subcommands("python -m reproduce", None, ["reproduce.cli.sweep"],
                               ["sweep", "../out", "--net_onnx", "../models/net.onnx", *GENERATOR,
                                "--act_layer", "logits", *HYPER, "--threads", "1",
                                "--units", "0-1", "--seeds", "0", "--no_cache"])
    assert sweep() == 0
    runs = [path for path in (tmp_path / "out").rglob("logits_000*.jpg") if "atlas" not in path.parts]
    assert len(runs) == 2
    with Store(tmp_path / "out", create=False) as store:
        assert len(store.meta("nets")["net_onnx_data"]) == 64
    data = model.parent / "net.onnx.data"
    weights = bytearray(data.read_bytes())
    weights[0] ^= 1
    data.write_bytes(bytes(weights))
    capsys.readouterr()
    assert sweep() == 2
    assert "--net_onnx" in capsys.readouterr().err


def test_an_empty_integer_tensor_is_shape_arithmetic_not_a_too_small_image():
    """Swin's exports slice shapes down to empty int64 tensors at any input size: those do not
    make `with_fixed_input` refuse the size; an empty float tensor (the image too small) does."""
    model = pooled_classifier(17)
    model.graph.initializer.extend([numpy_helper.from_array(np.array([4], np.int64), "four")])
    model.graph.node.extend([helper.make_node("Shape", ["image"], ["image_shape"]),
                             helper.make_node("Slice", ["image_shape", "four", "four"], ["no_dims"])])
    fixed, size = with_fixed_input(model, "image", 1, None, "m.onnx")
    # the shape arithmetic is static at a fixed input: folded into a constant (empty) tensor
    folded = {tensor.name: list(tensor.dims) for tensor in fixed.graph.initializer}
    assert size == (64, 64) and folded["no_dims"] == [0]
    empty_float = onnx.ModelProto()
    empty_float.CopyFrom(model)
    empty_float.graph.node.extend([helper.make_node("Slice", ["image", "four", "four", "two"], ["no_rows"])])
    empty_float.graph.initializer.extend([numpy_helper.from_array(np.array([2], np.int64), "two")])
    with pytest.raises(UserError, match="tensor no_rows would be 1x3x0x64"):
        with_fixed_input(empty_float, "image", 1, None, "m.onnx")
