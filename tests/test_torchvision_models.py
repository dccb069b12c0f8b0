"""Opt-in: real torchvision classifiers through the project (needs the `torch` extra:
pip install -r requirements-torch.txt onnxscript; skipped without torch).

resnet18, mobilenet_v3_small and densenet121 with random weights (`weights=None` under seed 0,
nothing downloaded), each exported by both of torch's exporters
(tools/torch_fixtures/check_torchvision.py does the same for 15 models, with a table):

- `build_vjp`'s input gradient of one logit, on ONNX Runtime in float32, against torch's
  float64 autograd within relative 1e-5, flip-aware: these nets have millions of ReLU units and
  max-pool windows, a few within float32 noise of their kink, and one flipped decision moves the
  gradient by up to ~1e-2; those units are held on both sides (tools/torch_fixtures/holds.py:
  torch picks them, and the graph holds the same ones, its kink nodes pairing with torch's
  kink calls; tools/torch_fixtures/check_torchvision.held_gradients), and both sides must
  hold as many;
- act_max --net_onnx (the demo generator) runs 3 iterations and exits 0.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (the `torch` extra: "
                                            "pip install -r requirements-torch.txt onnxscript)")
pytest.importorskip("torchvision", reason="torchvision not installed (requirements-torch.txt)")

from tools.torch_fixtures import check_torchvision as tv  # noqa: E402

MODELS = ["resnet18", "mobilenet_v3_small", "densenet121"]
RTOL = 1e-5
log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((1, 3, tv.SIZE, tv.SIZE)).astype(np.float32)


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
@pytest.mark.parametrize("name", MODELS)
def test_a_torchvision_model_runs_and_its_gradient_matches_torch(name, exporter, image, tmp_path):
    torch.manual_seed(0)
    model = tv.torchvision_model(name)
    path = tmp_path / f"{name}.{exporter}.onnx"
    tv.export(model, torch.from_numpy(image), exporter, path)
    held = tv.held_gradients(model, path, image, tv.UNIT)
    log.info("%s %s: input gradient relative error %.3g (%s units held at %g)", name, exporter,
             held.error, held.held, held.tau)
    assert held.held[0] == held.held[1]
    assert held.error <= RTOL
    from support.own_network import act_max
    status = act_max("--net_onnx", str(path), "--act_layer", tv.OUTPUT_NAME, "--unit", str(tv.UNIT),
                     "--net_preset", "torchvision", "--demo", "--crop_size", str(tv.CROP),
                     "--n_iters", "3", "--output_dir", str(tmp_path), "--no_cache")
    assert status == 0
