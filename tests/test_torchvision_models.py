"""Opt-in: real torchvision classifiers through the project (needs the `torch` extra:
pip install -r requirements-torch.txt onnxscript; skipped without torch).

resnet18, mobilenet_v3_small and densenet121 with random weights (`weights=None` under seed 0,
nothing downloaded), each exported by both of torch's exporters
(tools/torch_fixtures/check_torchvision.py does the same for 15 models, with a table):

- `build_vjp`'s input gradient of one logit, on ONNX Runtime in float32, against torch's
  float64 autograd. These nets have millions of ReLU units, some within float32 noise of 0, and
  one flipped unit moves the gradient by up to ~1e-2 (tests/test_torch_fixtures.py does the
  flip-free comparison at 1e-5); the bound here is 5e-2, which a wrong rule (an O(1) error)
  cannot meet;
- act_max --net_onnx (the demo generator) runs 3 iterations and exits 0.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (the `torch` extra: "
                                            "pip install -r requirements-torch.txt onnxscript)")
pytest.importorskip("torchvision", reason="torchvision not installed (requirements-torch.txt)")

from common.numerics import relative_error  # noqa: E402
from tools.torch_fixtures import check_torchvision as tv  # noqa: E402

MODELS = ["resnet18", "mobilenet_v3_small", "densenet121"]
FLIP_BOUND = 5e-2
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
    error = relative_error(tv.our_input_gradient(path, image, tv.UNIT),
                           tv.torch_input_gradient(model, image, tv.UNIT))
    log.info("%s %s: input gradient relative error %.3g", name, exporter, error)
    assert error <= FLIP_BOUND
    from support.own_network import act_max
    status = act_max("--net_onnx", str(path), "--act_layer", tv.OUTPUT_NAME, "--unit", str(tv.UNIT),
                     "--net_preset", "torchvision", "--demo", "--crop_size", str(tv.CROP),
                     "--n_iters", "3", "--output_dir", str(tmp_path), "--no_cache")
    assert status == 0
