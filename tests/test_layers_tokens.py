"""Issue 22 item 5: defaults that work and token layouts.

* `layers` skips constants (tensors computed from the image's shape only, such as an attention
  scale from `Shape`), reads rank-3 tensors as tokens ([1, T, C] and [T, 1, C]: unit =
  channel C), and says for each tensor what a unit is and whether `act_max --act_layer`
  (with the `--token` given) accepts it.
* act_max on a token layer optimises the mean over the tokens of channel `--unit`, or its
  value at `--token K`, in either layout (the same numbers), as ONNX Runtime computes them on
  the image the run ends with.
* `--crop_size` defaults to what the generator allows (227 for the fc6 generator's 256×256, the
  whole 64×64 image of the demo generator) and a wrong value's error names the valid range.
"""
from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from common.errors import UserError
from reproduce.outputs.trace import read_trace
from reproduce.step.onnx_net import crop_side
from support.onnx_small_models import TOKEN_CHANNELS, TOKENS, token_model
from support.own_network import DEMO, act_max

GENERATOR = ("--generator_definition", str(DEMO / "generator.prototxt"),
             "--generator_weights", str(DEMO / "generator.caffemodel"))
TOKEN_TENSORS = ("tokens", "mixed", "scaled", "act")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokens")
    paths = {}
    for layout in ("btc", "tbc"):
        paths[layout] = root / f"{layout}.onnx"
        onnx.save(token_model(layout), str(paths[layout]))
    return paths


def layers(capsys, *argv: str) -> tuple[int, list[list[str]], str]:
    from common.cli import run_subcommands
    capsys.readouterr()
    status = run_subcommands("python -m reproduce", None, ["reproduce.cli.layers"], ["layers", *argv])
    captured = capsys.readouterr()
    return status, [re.split(r"\s{2,}", line.strip()) for line in captured.out.splitlines()], captured.err


@pytest.mark.parametrize("layout,shape", [("btc", f"1x{TOKENS}x{TOKEN_CHANNELS}"),
                                          ("tbc", f"{TOKENS}x1x{TOKEN_CHANNELS}")])
def test_layers_reads_both_token_layouts_and_skips_constants(layout, shape, models, capsys):
    status, rows, _ = layers(capsys, str(models[layout]))
    assert status == 0
    by_name = {row[0]: row for row in rows}
    assert list(by_name) == ["patches", "rows", "tokens", "mixed", "merged", "scaled", "act",
                             "pooled", "logits"]  # no scale: a constant
    for name in TOKEN_TENSORS:
        assert by_name[name] == [name, shape, str(TOKEN_CHANNELS),
                                 f"channel, mean of {TOKENS} tokens", "yes"]
    assert by_name["patches"] == ["patches", "1x6x4x4", "6", "channel at --xy (4x4)", "yes"]
    assert by_name["logits"] == ["logits", "1x5", "5", "flat index", "yes"]
    merged = by_name["merged"]  # 1x16x6 at batch 1, but 1x32x6 at batch 2
    assert merged[:4] == ["merged", f"1x{TOKENS}x{TOKEN_CHANNELS}", str(TOKEN_CHANNELS),
                          f"channel, mean of {TOKENS} tokens"]
    assert merged[4].startswith("no: ") and "no axis of its own is the batch" in merged[4]


def test_layers_with_token_says_which_tensors_accept_it(models, capsys):
    status, rows, _ = layers(capsys, str(models["tbc"]), "--token", "3")
    assert status == 0
    by_name = {row[0]: row for row in rows}
    for name in TOKEN_TENSORS:
        assert by_name[name][2:] == [str(TOKEN_CHANNELS), f"channel, token 3 of {TOKENS} tokens",
                                     "yes"]
    for name in ("patches", "pooled", "logits"):
        assert by_name[name][4].startswith("no: ") and "not a token layout" in by_name[name][4]
    _, rows, _ = layers(capsys, str(models["btc"]), "--token", str(TOKENS))
    act = next(row for row in rows if row[0] == "act")
    assert act[4].startswith("no: ") and f"{TOKENS} tokens" in act[4]


def test_token_on_a_caffe_net_is_one_line_exit_2(capsys):
    status, rows, err = layers(capsys, str(DEMO / "classifier.prototxt"), "--token", "0")
    assert status == 2 and not rows and "--token" in err and "\n" not in err.strip()


def test_token_without_net_onnx_is_one_line_exit_2(tmp_path, capsys):
    assert act_max("--token", "1", "--act_layer", "fc8", "--unit", "0", *GENERATOR,
                   "--net_definition", str(DEMO / "classifier.prototxt"),
                   "--net_weights", str(DEMO / "classifier.caffemodel"),
                   "--output_dir", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip()
    assert "--token 1" in err and "--net_onnx" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def _act_max_acts(model, tmp_path, tag: str, *flags: str) -> dict[int, dict]:
    out = tmp_path / tag
    assert act_max("--net_onnx", str(model), "--act_layer", "mixed", "--units", "1", "4",
                   "--n_iters", "2", "--start_lr", "0.5", "--no_cache", *GENERATOR,
                   "--output_dir", str(out), "--trace", str(out / "trace.npz"), *flags) == 0
    return {unit: read_trace(out / f"trace_u{unit:04d}_s0.npz") for unit in (1, 4)}


@pytest.mark.parametrize("token", [None, 3])
def test_act_max_on_tokens_is_the_token_mean_or_the_chosen_token(token, models, tmp_path):
    flags = () if token is None else ("--token", str(token))
    runs = {layout: _act_max_acts(models[layout], tmp_path, layout, *flags) for layout in models}
    for layout, traces in runs.items():
        exposed = onnx.load(str(models[layout]))
        exposed.graph.output[0].CopyFrom(onnx.ValueInfoProto(name="mixed"))
        session = ort.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"])
        for unit, trace in traces.items():
            np.testing.assert_allclose(trace["acts"], runs["btc"][unit]["acts"], rtol=1e-5)
            (act,) = session.run(None, {"image": trace["best"].astype(np.float32)})
            per_token = act[0, :, unit] if layout == "btc" else act[:, 0, unit]
            expected = per_token.mean() if token is None else per_token[token]
            assert len(trace["acts"]) == 2 and expected != 0
            np.testing.assert_allclose(trace["acts"][-1], expected, rtol=1e-5)


@pytest.mark.parametrize("flags,words", [
    (("--act_layer", "act", "--unit", "0", "--token", str(TOKENS)), ("--token", "0-15")),
    (("--act_layer", "logits", "--unit", "0", "--token", "0"), ("--token", "not a token layout")),
    (("--act_layer", "act", "--unit", str(TOKEN_CHANNELS)), ("--unit", f"{TOKEN_CHANNELS} channels")),
    (("--act_layer", "merged", "--unit", "0"), ("--act_layer merged", "no axis of its own")),
    (("--act_layer", "merged", "--units", "0", "1"), ("--act_layer merged", "1x32x6", "batch of 2")),
])
def test_bad_token_or_unit_is_one_line_exit_2(flags, words, models, tmp_path, capsys):
    assert act_max("--net_onnx", str(models["btc"]), *flags, "--no_cache", *GENERATOR,
                   "--output_dir", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and all(word in err for word in words), err
    assert not (tmp_path / "out").exists()


def test_the_default_crop_is_what_the_generator_allows(models, tmp_path, capsys):
    assert act_max("--net_onnx", str(models["btc"]), "--act_layer", "logits", "--unit", "0",
                   "--n_iters", "1", "--no_cache", *GENERATOR, "--output_dir", str(tmp_path)) == 0
    (image,) = tmp_path.glob("*.png")
    assert Image.open(image).size == (64, 64)  # the demo generator's whole image
    assert crop_side(None, (256, 256)) == 227 and crop_side(None, (64, 64)) == 64
    assert crop_side(56, (64, 64)) == 56
    with pytest.raises(UserError, match=r"--crop_size 300: must be 1-256 .*default 227"):
        crop_side(300, (256, 256))


@pytest.mark.parametrize("crop", ["65", "0", "-3"])
def test_a_wrong_crop_names_the_valid_range(crop, models, tmp_path, capsys):
    assert act_max("--net_onnx", str(models["btc"]), "--act_layer", "logits", "--unit", "0",
                   "--crop_size", crop, "--no_cache", *GENERATOR,
                   "--output_dir", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip()
    assert f"--crop_size {crop}" in err and "1-64" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_the_step_graph_cache_keys_on_the_token(models, tmp_path, monkeypatch):
    """Mean and token 3 are different graphs in different entries; a rebuild is a cache hit
    with the same graph and the same StepShapes (token included)."""
    from reproduce.run.job import NetFiles, build_step_model
    from reproduce.step.graph import CodeMode
    from reproduce.step.onnx_net import OnnxNet
    monkeypatch.setenv("DGN_AM_CACHE", str(tmp_path / "cache"))

    def build(token):
        nets = NetFiles(*GENERATOR[1::2], "", "", net_onnx=OnnxNet(str(models["tbc"]), token=token))
        return build_step_model(nets, "mixed", 2, CodeMode.NONE)
    mean, third = build(None), build(3)
    entries = sorted((tmp_path / "cache").rglob("*.onnx"))
    assert len(entries) == 2 and (mean.shapes.act.token, third.shapes.act.token) == (None, 3)
    assert mean.shapes.act.batch_axis == third.shapes.act.batch_axis == 1  # [T, 2, C]
    again = build(3)
    assert sorted((tmp_path / "cache").rglob("*.onnx")) == entries
    assert again.shapes == third.shapes
    assert again.model.SerializeToString() == third.model.SerializeToString()
