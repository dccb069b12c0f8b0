"""The `--net_onnx` tests' NumPy twins (support/own_network.py) differentiate their own forward
passes: each twin's backward against central differences of its forward, in float64."""
from __future__ import annotations

import numpy as np

from support.onnx_classifiers import BUILDERS
from support.own_network import DEMO, AdapterTwin, CaffeGeneratorTwin, OnnxClassifierTwin


def _directional_check(forward, backward, x: np.ndarray, seed: int) -> None:
    """<backward(probe), direction> equals the central difference of <forward, probe>."""
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(x.shape)
    probe = rng.standard_normal(forward(x).shape)
    analytic = float((backward(x, probe).astype(np.float64) * direction).sum())
    eps = 1e-6
    value = lambda point: float((forward(point).astype(np.float64) * probe).sum())  # noqa: E731
    numeric = (value(x + eps * direction) - value(x - eps * direction)) / (2 * eps)
    assert abs(numeric - analytic) <= 1e-5 * max(1.0, abs(numeric)), (numeric, analytic)


def test_classifier_twins_backward_is_the_gradient_of_forward() -> None:
    """Each family's NumPy backward matches central differences (float64 twins)."""
    for kind, side in (("resnet", 16), ("mobilenet", 16), ("squeezenet", 24)):
        twin = OnnxClassifierTwin(BUILDERS[kind](side=side, opset=17, seed=4), np.float64)
        _directional_check(lambda x, twin=twin: twin.forward(x, "logits")[0],
                           lambda x, probe, twin=twin: twin.backward(twin.forward(x, "logits")[1],
                                                                     "logits", probe),
                           np.random.default_rng(1).standard_normal((1, 3, side, side)), seed=2)


def test_adapter_twin_backward_is_the_gradient_of_forward() -> None:
    """The NumPy adapter (swap, scale, shift, bilinear resize down and up) is differentiated right."""
    for adapter in (AdapterTwin(True, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (7, 9)),
                    AdapterTwin(False, (120.0, 110.0, 100.0), None, (15, 13))):
        x = np.random.default_rng(3).standard_normal((1, 3, 11, 11)) * 50
        _directional_check(adapter.forward, lambda v, probe: adapter.backward(v.shape, probe),
                           x, seed=5)


def test_generator_twin_backward_is_the_gradient_of_forward() -> None:
    twin = CaffeGeneratorTwin.load(DEMO / "generator.prototxt", DEMO / "generator.caffemodel",
                                   np.float64)
    code = np.random.default_rng(0).standard_normal((1, 256))
    _directional_check(lambda c: twin.forward(c)[0], lambda c, probe: twin.backward(twin.forward(c)[1], probe),
                       code, seed=6)
