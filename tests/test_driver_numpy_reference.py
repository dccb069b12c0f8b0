"""The driver tests' NumPy twins of the tiny nets (support/tiny_nets.py) differentiate their own
forward passes: checked against central differences in float64."""
from __future__ import annotations

import numpy as np

from support.tiny_nets import (CLASSES, CODE_SIZE, GEN_SIDE, NET_SIDE, TinyClassifier, TinyGenerator,
                              tiny_weights)


def test_reference_gradients_match_finite_differences() -> None:
    """The NumPy twins' backward passes are the gradients of their forward passes."""
    gen_weights, net_weights = tiny_weights(3)
    rng = np.random.default_rng(1)
    code = rng.standard_normal((1, CODE_SIZE)).astype(np.float64)
    direction = rng.standard_normal(code.shape)
    probe = rng.standard_normal((1, 3, GEN_SIDE, GEN_SIDE))
    gen_f64 = TinyGenerator({k: [w.astype(np.float64) for w in v] for k, v in gen_weights.items()})
    _, cache = gen_f64.forward(code)
    analytic = float((gen_f64.backward(cache, probe).astype(np.float64) * direction).sum())
    eps = 1e-4
    plus = (gen_f64.forward(code + eps * direction)[0].astype(np.float64) * probe).sum()
    minus = (gen_f64.forward(code - eps * direction)[0].astype(np.float64) * probe).sum()
    assert abs((plus - minus) / (2 * eps) - analytic) <= 1e-3 * max(1.0, abs(analytic))
    image = rng.standard_normal((1, 3, NET_SIDE, NET_SIDE))
    net_f64 = TinyClassifier({k: [w.astype(np.float64) for w in v] for k, v in net_weights.items()})
    for end, unit_grad in (("fc8", np.eye(CLASSES)[[2]]), ("conv1", np.zeros((1, 4, 4, 4)))):
        if end == "conv1":
            unit_grad[0, 1, 2, 2] = 1
        _, net_cache = net_f64.forward(image, end)
        g = net_f64.backward(net_cache, end, unit_grad).astype(np.float64)
        move = rng.standard_normal(image.shape)
        value = lambda im: float((net_f64.forward(im, end)[0] * unit_grad).sum())  # noqa: E731
        numeric = (value(image + eps * move) - value(image - eps * move)) / (2 * eps)
        assert abs(numeric - float((g * move).sum())) <= 1e-3 * max(1.0, abs(numeric))
