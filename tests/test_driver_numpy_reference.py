"""A plain-NumPy DGN-AM loop and the tiny Caffe nets the driver tests run it against.

The tiny generator mirrors the fc6 generator's structure (InnerProduct + leaky ReLU 0.3,
Reshape, Deconvolution k4 s2 p1 + leaky ReLU, last Deconvolution without ReLU); the tiny
classifier is CaffeNet-like (Convolution + in-place ReLU, InnerProduct + in-place ReLU,
InnerProduct). Both are written as real prototxt + caffemodel files. The loop follows
../shared/spec/dgn-am.md line by line, with the float32/float64 boundaries written out.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CODE_SIZE = 16
GEN_SIDE = 12  # generator output 3×12×12
NET_SIDE = 9  # classifier input 3×9×9: crop offset (12 − 9) // 2 = 1
CLASSES = 5
CONV_CHANNELS = 4  # conv1 output 4×4×4

GENERATOR_PROTOTXT = """input: "feat"
input_shape { dim: 1 dim: 16 }
force_backward: true
layer { name: "defc7" type: "InnerProduct" bottom: "feat" top: "defc7"
  inner_product_param { num_output: 72 } }
layer { name: "relu_defc7" type: "ReLU" bottom: "defc7" top: "defc7" relu_param { negative_slope: 0.3 } }
layer { name: "reshape" type: "Reshape" bottom: "defc7" top: "reshape"
  reshape_param { shape { dim: 1 dim: 8 dim: 3 dim: 3 } } }
layer { name: "deconv1" type: "Deconvolution" bottom: "reshape" top: "deconv1"
  convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 } }
layer { name: "relu_deconv1" type: "ReLU" bottom: "deconv1" top: "deconv1" relu_param { negative_slope: 0.3 } }
layer { name: "deconv0" type: "Deconvolution" bottom: "deconv1" top: "deconv0"
  convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }
"""

CLASSIFIER_PROTOTXT = """input: "data"
input_shape { dim: 1 dim: 3 dim: 9 dim: 9 }
force_backward: true
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 4 kernel_size: 3 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "fc6" type: "InnerProduct" bottom: "conv1" top: "fc6" inner_product_param { num_output: 10 } }
layer { name: "relu6" type: "ReLU" bottom: "fc6" top: "fc6" }
layer { name: "fc8" type: "InnerProduct" bottom: "fc6" top: "fc8" inner_product_param { num_output: 5 } }
"""


def _im2col(x: np.ndarray, k: int, s: int, p: int) -> np.ndarray:
    channels, height, width = x.shape
    out_h, out_w = (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1
    padded = np.pad(x, ((0, 0), (p, p), (p, p)))
    cols = np.empty((channels, k, k, out_h, out_w), x.dtype)
    for dy in range(k):
        for dx in range(k):
            cols[:, dy, dx] = padded[:, dy:dy + s * out_h:s, dx:dx + s * out_w:s]
    return cols.reshape(channels * k * k, out_h * out_w)


def _col2im(cols: np.ndarray, shape: tuple[int, int, int], k: int, s: int, p: int) -> np.ndarray:
    channels, height, width = shape
    out_h, out_w = (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1
    padded = np.zeros((channels, height + 2 * p, width + 2 * p), cols.dtype)
    cols = cols.reshape(channels, k, k, out_h, out_w)
    for dy in range(k):
        for dx in range(k):
            padded[:, dy:dy + s * out_h:s, dx:dx + s * out_w:s] += cols[:, dy, dx]
    return padded[:, p:p + height, p:p + width]


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.maximum(x, 0) + np.float32(slope) * np.minimum(x, 0)


def _leaky_grad(dy: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    return dy * np.where(x > 0, np.float32(1), np.float32(slope))


@dataclass
class TinyGenerator:
    """NumPy forward/backward of GENERATOR_PROTOTXT for one sample."""

    weights: dict[str, list[np.ndarray]]

    def forward(self, code: np.ndarray) -> tuple[np.ndarray, dict]:
        w, b = self.weights["defc7"]
        fc = _leaky(code @ w.T + b, 0.3)
        hidden = fc.reshape(8, 3, 3)
        w1, b1 = self.weights["deconv1"]
        pre1 = _col2im(w1.reshape(8, -1).T @ hidden.reshape(8, -1), (4, 6, 6), 4, 2, 1)
        pre1 = pre1 + b1[:, None, None]
        act1 = _leaky(pre1, 0.3)
        w0, b0 = self.weights["deconv0"]
        out = _col2im(w0.reshape(4, -1).T @ act1.reshape(4, -1), (3, 12, 12), 4, 2, 1)
        out = out + b0[:, None, None]
        return out[None].astype(np.float32), {"fc": fc, "act1": act1}

    def backward(self, cache: dict, d_out: np.ndarray) -> np.ndarray:
        w0 = self.weights["deconv0"][0]
        d_act1 = (w0.reshape(4, -1) @ _im2col(d_out[0], 4, 2, 1)).reshape(4, 6, 6)
        d_pre1 = _leaky_grad(d_act1, cache["act1"], 0.3)
        w1 = self.weights["deconv1"][0]
        d_hidden = (w1.reshape(8, -1) @ _im2col(d_pre1, 4, 2, 1)).reshape(1, 72)
        d_fc = _leaky_grad(d_hidden, cache["fc"], 0.3)
        return (d_fc @ self.weights["defc7"][0]).astype(np.float32)


@dataclass
class TinyClassifier:
    """NumPy forward (to a layer, as Caffe forward(end=L)) and backward of CLASSIFIER_PROTOTXT."""

    weights: dict[str, list[np.ndarray]]

    def forward(self, image: np.ndarray, end: str) -> tuple[np.ndarray, dict]:
        w1, b1 = self.weights["conv1"]
        conv = (w1.reshape(4, -1) @ _im2col(image[0], 3, 2, 0)).reshape(4, 4, 4) + b1[:, None, None]
        if end == "conv1":
            return conv[None], {"conv": conv}
        relu1 = np.maximum(conv, 0)
        w6, b6 = self.weights["fc6"]
        fc6 = relu1.reshape(1, -1) @ w6.T + b6
        relu6 = np.maximum(fc6, 0)
        w8, b8 = self.weights["fc8"]
        return relu6 @ w8.T + b8, {"conv": conv, "relu1": relu1, "fc6": fc6, "relu6": relu6}

    def backward(self, cache: dict, end: str, d_end: np.ndarray) -> np.ndarray:
        if end == "conv1":
            d_conv = d_end[0]
        else:
            d_relu6 = d_end @ self.weights["fc8"][0]
            d_fc6 = d_relu6 * (cache["fc6"] > 0)
            d_relu1 = (d_fc6 @ self.weights["fc6"][0]).reshape(4, 4, 4)
            d_conv = d_relu1 * (cache["conv"] > 0)
        w1 = self.weights["conv1"][0]
        cols = w1.reshape(4, -1).T @ d_conv.reshape(4, -1)
        return _col2im(cols, (3, 9, 9), 3, 2, 0)[None].astype(np.float32)


def tiny_weights(seed: int) -> tuple[dict, dict]:
    """Random float32 weights for the tiny generator and classifier (Caffe blob shapes)."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    generator = {"defc7": [normal(72, CODE_SIZE, scale=0.5), normal(72, scale=0.1)],
                 "deconv1": [normal(8, 4, 4, 4, scale=0.4), normal(4, scale=0.1)],
                 "deconv0": [normal(4, 3, 4, 4, scale=8.0), normal(3, scale=1.0)]}
    classifier = {"conv1": [normal(4, 3, 3, 3, scale=0.05), normal(4, scale=0.1)],
                  "fc6": [normal(10, 64, scale=0.2), normal(10, scale=0.1)],
                  "fc8": [normal(5, 10, scale=0.5), normal(5, scale=0.1)]}
    return generator, classifier


@dataclass
class TinyNets:
    """Paths of the written files plus the NumPy twins."""

    generator_prototxt: Path
    generator_caffemodel: Path
    classifier_prototxt: Path
    classifier_caffemodel: Path
    generator: TinyGenerator
    classifier: TinyClassifier


def write_tiny_nets(directory: Path, seed: int = 0) -> TinyNets:
    """Writes the tiny generator and classifier as real prototxt + caffemodel files."""
    from converters.caffe.writer import write_caffemodel

    gen_weights, net_weights = tiny_weights(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in ("generator.prototxt", "generator.caffemodel",
                                                 "classifier.prototxt", "classifier.caffemodel")}
    paths["generator.prototxt"].write_text(GENERATOR_PROTOTXT)
    paths["classifier.prototxt"].write_text(CLASSIFIER_PROTOTXT)
    write_caffemodel(paths["generator.caffemodel"], gen_weights,
                     layer_types={"defc7": "InnerProduct", "deconv1": "Deconvolution",
                                  "deconv0": "Deconvolution"})
    write_caffemodel(paths["classifier.caffemodel"], net_weights,
                     layer_types={"conv1": "Convolution", "fc6": "InnerProduct",
                                  "fc8": "InnerProduct"})
    return TinyNets(paths["generator.prototxt"], paths["generator.caffemodel"],
                    paths["classifier.prototxt"], paths["classifier.caffemodel"],
                    TinyGenerator(gen_weights), TinyClassifier(net_weights))


@dataclass
class ReferenceRun:
    """Per-iteration records of the NumPy loop."""

    acts: list[float]
    net_norms: list[float]
    gen_norms: list[float]
    codes: list[np.ndarray]
    best: np.ndarray


def _normalised_step(value: np.ndarray, gradient: np.ndarray, step: float) -> tuple[np.ndarray, float, bool]:
    """The release's `value += step / np.abs(g).mean() * g` with its NaN / zero-norm rules.

    The factor is float64 (Python float over float32 scalar in NumPy 1.x), cast to float32
    when it multiplies the float32 array.
    """
    norm = float(np.linalg.norm(gradient))
    if np.isnan(norm):
        return value.copy(), 1e-12, False
    if norm == 0:
        return value.copy(), 0.0, False
    factor = np.float32(np.float64(step) / np.float64(np.abs(gradient).mean()))
    return (value + factor * gradient).astype(np.float32), norm, True


def reference_run(nets: TinyNets, code: np.ndarray, *, act_layer: str, unit: int, xy: int = 0,
                  n_iters: int, lr_start: float, lr_end: float, l2: float,
                  bounds: tuple[np.ndarray, np.ndarray] | None = None,
                  clip: bool = False) -> ReferenceRun:
    """The published loop for one sample, in plain NumPy (spec "One run", step 4)."""
    code = np.asarray(code, np.float32).reshape(1, CODE_SIZE)
    top = (GEN_SIDE - NET_SIDE) // 2
    window = (slice(None), slice(None), slice(top, top + NET_SIDE), slice(top, top + NET_SIDE))
    run = ReferenceRun([], [], [], [], np.zeros((1, 3, NET_SIDE, NET_SIDE), np.float32))
    for i in range(n_iters):
        step = lr_start + ((lr_end - lr_start) * i) / n_iters
        x0, gen_cache = nets.generator.forward(code)
        cropped = x0[window].copy()
        blob, net_cache = nets.classifier.forward(cropped, act_layer)
        one_hot = np.zeros_like(blob)
        if blob.ndim == 2:
            one_hot.flat[unit] = 1
        else:
            one_hot[:, unit, xy, xy] = 1
        g = nets.classifier.backward(net_cache, act_layer, one_hot)
        x, net_norm, moved = _normalised_step(cropped, g, step)
        act = float(blob.flat[unit] if blob.ndim == 2 else blob[0, unit, xy, xy]) if moved else 0.0
        run.best = cropped
        difference = np.zeros_like(x0)
        difference[window] = x - cropped
        h = nets.generator.backward(gen_cache, difference)
        code, gen_norm, _ = _normalised_step(code, h, step)
        if clip:
            code = np.clip(code, np.float32(-1), np.float32(1))
        elif bounds is not None:
            code = np.minimum(np.maximum(code.astype(np.float64), bounds[0]), bounds[1])
        if 0 < l2 < 1:
            code = code * (np.float64(l2) if code.dtype == np.float64 else np.float32(l2))
        code = code.astype(np.float32)
        run.acts.append(act)
        run.net_norms.append(net_norm)
        run.gen_norms.append(gen_norm)
        run.codes.append(code[0].copy())
        if gen_norm == 0 or net_norm == 0:
            break
    return run


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
