"""Our VJP graphs reproduce torch's float64 autograd on models torch exported (no torch here).

tests/fixtures/torch/ holds seven small random-weight classifiers built from torchvision's
own blocks (ResNet BasicBlock with a max-pool stem, MobileNetV3 inverted residuals with
squeeze-excitation, EfficientNet MBConv, a DenseNet dense block, ConvNeXt CNBlocks, a 2-layer
ViT with a class token, a Swin window + shifted-window block), each exported by both of torch's
exporters (TorchScript at opset 17, dynamo at its default opset), with torch's float64 logits
and input gradient for a fixed image and cotangent (tools/torch_fixtures/export_fixtures.py).

- `build_vjp` of each exported model (wrt the image, of the logits), run on ONNX Runtime in
  float32, gives torch's float64 logits and input gradient within relative 1e-5 (infinity-norm,
  common.numerics.relative_error).
- Flip-aware (support/torch_fixtures.py): no ReLU / Clip / hard-swish / hard-sigmoid input and no
  max-pool window of ONNX Runtime's float32 forward is within 1e-6 (relative; float32 noise is
  ~1e-7) of its kink, so no decision of ours can differ from torch's float64 one; a gradient
  error over 1e-5 is then a wrong rule, never a flip.
- The user-facing path: `act_max --net_onnx FIXTURE --act_layer logits --net_preset torchvision
  --demo --n_iters 2` exits 0 for every fixture.

Measured (ONNX Runtime 1.32, CPU): relative errors 5e-8 to 5e-7 for the logits and input
gradients of all 14 fixtures; the smallest float32 kink margin is 1.1e-5 (mobilenet_v3_se).
"""
from __future__ import annotations

import logging

import pytest

from common.numerics import relative_error
from support import torch_fixtures as tf

RTOL = 1e-5
FLOAT32_NOISE = 1e-6  # a kink margin below this could flip in float32
log = logging.getLogger(__name__)

FIXTURES = tf.fixtures()
PARAMS = [pytest.param(f, id=f.id) for f in FIXTURES] or [
    pytest.param(None, marks=pytest.mark.skip(
        "no tests/fixtures/torch/index.json (tools/torch_fixtures/export_fixtures.py writes it)"))]


def test_the_fixtures_cover_every_family_with_both_exporters_and_stay_small():
    index = tf.index()
    assert index, "tests/fixtures/torch/index.json missing"
    pairs = {(f.family, f.exporter) for f in FIXTURES}
    families = {family for family, _ in pairs}
    assert len(families) == 7 and pairs == {(family, exporter) for family in families
                                            for exporter in ("torchscript", "dynamo")}
    total = sum(path.stat().st_size for path in tf.FIXTURES.iterdir())
    assert total < 4_000_000, f"tests/fixtures/torch/ holds {total} bytes"
    for fixture in FIXTURES:
        assert {"image", "cotangent", "logits", "image_grad"} <= set(fixture.numbers())


@pytest.mark.parametrize("fixture", PARAMS)
def test_no_kink_decision_is_within_float32_noise(fixture):
    margins = tf.float32_kink_margins(fixture)
    log.info("%s: %d kink nodes, smallest margin %s", fixture.id, len(margins),
             min(margins.values(), default=None))
    close = {node: margin for node, margin in margins.items() if margin < FLOAT32_NOISE}
    assert not close, f"{fixture.id}: kink inputs within float32 noise: {close}"


@pytest.mark.parametrize("fixture", PARAMS)
def test_activation_and_input_gradient_equal_torch_float64(fixture):
    numbers = fixture.numbers()
    logits, gradient = tf.ours(fixture)
    errors = {"logits": relative_error(logits, numbers["logits"]),
              "image_grad": relative_error(gradient, numbers["image_grad"])}
    log.info("%s (opset %d): relative error logits %.3g, input gradient %.3g", fixture.id,
             fixture.opset, errors["logits"], errors["image_grad"])
    assert max(errors.values()) <= RTOL, f"{fixture.id}: {errors}"


@pytest.mark.parametrize("fixture", PARAMS)
def test_act_max_runs_on_every_fixture(fixture, tmp_path):
    from support.own_network import act_max
    status = act_max("--net_onnx", str(fixture.onnx_path), "--act_layer", fixture.activation,
                     "--unit", "3", "--net_preset", "torchvision", "--demo", "--crop_size", "56",
                     "--n_iters", "2", "--output_dir", str(tmp_path), "--no_cache")
    assert status == 0
    assert list(tmp_path.glob("*.jpg"))
