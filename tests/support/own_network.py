"""Plain-NumPy twins for the `--net_onnx` tests: the demo generator, the input adapter and a
small NumPy interpreter (forward and backward) of the test classifiers' ONNX ops; and act_max
run in-process with the demo generator's flags.

The twins use neither ONNX Runtime nor the converters' gradient rules: the generator is computed
from its Caffe layers (InnerProduct, leaky ReLU, Reshape, Deconvolution), the adapter from
its definition in `reproduce.step.onnx_net` (channel swap, + Caffe mean, /255, − mean, / std,
half-pixel bilinear resize with edge clamping), and the classifiers node by node from the
ONNX operator definitions. One DGN-AM iteration is then the spec's step 4 on top of them
(`reference_step`), with the release's normalised update from the driver's NumPy reference
(support/tiny_nets.py) and the convolutions from support/numpy_conv.py. The twins' backward
passes are checked against central differences in tests/test_own_network_reference.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from support.numpy_conv import col2im_matrix, im2col_matrix
from support.paths import REPO_ROOT
from support.tiny_nets import leaky, leaky_grad, normalised_step

CAFFE_MEAN_BGR = np.array([104.00698793, 116.66876762, 122.67891434])
DEMO = REPO_ROOT / "models" / "demo"
CROP = 56  # the demo generator's crop (its classifier's input)


# ----------------------------------------------------------------------------- generator

@dataclass
class CaffeGeneratorTwin:
    """A DeePSiM-style Caffe generator (InnerProduct/ReLU/Reshape/Deconvolution chain) in NumPy,
    one sample, with the layers and weights read from its prototxt and caffemodel."""

    layers: list
    dtype: type = np.float32  # float64 for the finite-difference self-check

    @classmethod
    def load(cls, prototxt: str | Path, caffemodel: str | Path,
             dtype: type = np.float32) -> "CaffeGeneratorTwin":
        from converters.caffe.reader import load_caffe_net
        layers = [layer for layer in load_caffe_net(prototxt, caffemodel).layers
                  if layer.type != "Input"]
        for layer in layers:
            layer.blobs = [blob.astype(dtype) for blob in layer.blobs]
        return cls(layers, dtype)

    def forward(self, code: np.ndarray) -> tuple[np.ndarray, list]:
        x = np.asarray(code, self.dtype).reshape(1, -1)
        tape = []
        for layer in self.layers:
            tape.append(x)
            if layer.type == "InnerProduct":
                weights, bias = layer.blobs
                x = x.reshape(1, -1) @ weights.T + bias
            elif layer.type == "ReLU":
                x = leaky(x, layer.param.relu_param.negative_slope)
            elif layer.type == "Reshape":
                x = x.reshape([1 if d == 0 else d for d in layer.param.reshape_param.shape.dim])
            elif layer.type == "Deconvolution":
                x = self._deconv(layer, x)
            else:
                raise NotImplementedError(layer.type)
        return x.astype(self.dtype), tape

    @staticmethod
    def _window(layer) -> tuple[int, int, int]:
        param = layer.param.convolution_param
        return (param.kernel_size[0], (list(param.stride) or [1])[0], (list(param.pad) or [0])[0])

    def _deconv(self, layer, x: np.ndarray) -> np.ndarray:
        weights, bias = layer.blobs  # Caffe: C_in × C_out × k × k
        k, s, p = self._window(layer)
        c_in, c_out = weights.shape[:2]
        side = s * (x.shape[2] - 1) + k - 2 * p
        cols = weights.reshape(c_in, -1).T @ x[0].reshape(c_in, -1)
        return (col2im_matrix(cols, (c_out, side, side), k, s, p) + bias[:, None, None])[None]

    def backward(self, tape: list, d_out: np.ndarray) -> np.ndarray:
        d = np.asarray(d_out, self.dtype)
        for layer, x in zip(reversed(self.layers), reversed(tape)):
            if layer.type == "InnerProduct":
                d = d.reshape(1, -1) @ layer.blobs[0]
            elif layer.type == "ReLU":
                d = leaky_grad(d, x, layer.param.relu_param.negative_slope)
            elif layer.type == "Reshape":
                d = d.reshape(x.shape)
            elif layer.type == "Deconvolution":
                k, s, p = self._window(layer)
                weights = layer.blobs[0]
                d = (weights.reshape(weights.shape[0], -1) @ im2col_matrix(d[0], k, s, p)).reshape(x.shape)
        return d.astype(self.dtype)


# ----------------------------------------------------------------------------- adapter

def bilinear_matrix(out_len: int, in_len: int) -> np.ndarray:
    """Half-pixel bilinear weights along one axis, source coordinates clamped to the edges."""
    matrix = np.zeros((out_len, in_len))
    for i in range(out_len):
        x = min(max((i + 0.5) * in_len / out_len - 0.5, 0.0), in_len - 1.0)
        low = int(np.floor(x))
        matrix[i, low] += 1 - (x - low)
        matrix[i, min(low + 1, in_len - 1)] += x - low
    return matrix


@dataclass
class AdapterTwin:
    """The input adapter in NumPy: colour triples in R, G, B order; std None = 0–255 pixels.
    Arithmetic in the input's precision (float32 as the step graph; float64 for self-checks)."""

    rgb: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float] | None
    size: tuple[int, int]

    def _order(self, rgb_values, dtype) -> np.ndarray:
        values = np.asarray(rgb_values, np.float64)
        return (values if self.rgb else values[::-1]).reshape(1, 3, 1, 1).astype(dtype)

    def forward(self, crop: np.ndarray) -> np.ndarray:
        dtype = crop.dtype.type
        x = crop[:, ::-1] if self.rgb else crop
        caffe_mean_rgb = CAFFE_MEAN_BGR[::-1]
        same_space = self.std is None and np.array_equal(np.asarray(self.mean), caffe_mean_rgb)
        if not same_space:
            x = x + self._order(caffe_mean_rgb, dtype)
            if self.std is not None:
                x = x / dtype(255)
            x = x - self._order(self.mean, dtype)
            if self.std is not None:
                x = x / self._order(self.std, dtype)
        rows = bilinear_matrix(self.size[0], x.shape[2]).astype(dtype)
        cols = bilinear_matrix(self.size[1], x.shape[3]).astype(dtype)
        return np.einsum("ih,nchw,jw->ncij", rows, x, cols).astype(dtype)

    def backward(self, crop_shape: tuple[int, ...], d_out: np.ndarray) -> np.ndarray:
        dtype = d_out.dtype.type
        rows = bilinear_matrix(self.size[0], crop_shape[2]).astype(dtype)
        cols = bilinear_matrix(self.size[1], crop_shape[3]).astype(dtype)
        d = np.einsum("ih,ncij,jw->nchw", rows, d_out, cols)
        if self.std is not None:
            d = d / dtype(255) / self._order(self.std, dtype)
        return (d[:, ::-1] if self.rgb else d).astype(dtype)


# ----------------------------------------------------------------------------- classifier

def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _conv_forward(x, w, b, a):
    k, s, p, group = a["kernel_shape"][0], a.get("strides", [1])[0], a.get("pads", [0])[0], a.get("group", 1)
    c_in, c_out = x.shape[1], w.shape[0]
    outs = []
    for g in range(group):
        xs = x[0, g * c_in // group:(g + 1) * c_in // group]
        ws = w[g * c_out // group:(g + 1) * c_out // group]
        cols = im2col_matrix(xs, k, s, p)
        outs.append((ws.reshape(ws.shape[0], -1) @ cols))
    side = (x.shape[2] + 2 * p - k) // s + 1
    y = np.concatenate(outs).reshape(1, c_out, side, (x.shape[3] + 2 * p - k) // s + 1)
    return y + (b.reshape(1, -1, 1, 1) if b is not None else 0)


def _conv_backward(x, w, dy, a):
    k, s, p, group = a["kernel_shape"][0], a.get("strides", [1])[0], a.get("pads", [0])[0], a.get("group", 1)
    c_in, c_out = x.shape[1], w.shape[0]
    parts = []
    for g in range(group):
        ws = w[g * c_out // group:(g + 1) * c_out // group]
        dys = dy[0, g * c_out // group:(g + 1) * c_out // group]
        cols = ws.reshape(ws.shape[0], -1).T @ dys.reshape(dys.shape[0], -1)
        parts.append(col2im_matrix(cols, (c_in // group, x.shape[2], x.shape[3]), k, s, p))
    return np.concatenate(parts)[None]


def _pool_windows(x, k, s):
    out_h, out_w = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
    return [(i, j, slice(i * s, i * s + k), slice(j * s, j * s + k))
            for i in range(out_h) for j in range(out_w)], (out_h, out_w)


def _hard_sigmoid_parts(x, a):
    z = a.get("alpha", 0.2) * x + a.get("beta", 0.5)
    return np.clip(z, 0, 1), ((z > 0) & (z < 1)) * a.get("alpha", 0.2)


def _forward_op(op, ins, a):
    x = ins[0]
    if op == "Conv":
        return _conv_forward(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    if op == "BatchNormalization":
        scale, bias, mean, var = (v.reshape(1, -1, 1, 1) for v in ins[1:5])
        return (x - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias
    if op == "Relu":
        return np.maximum(x, 0)
    if op == "Clip":
        return np.clip(x, ins[1], ins[2])
    if op == "HardSigmoid":
        return _hard_sigmoid_parts(x, a)[0]
    if op == "HardSwish":
        return x * _hard_sigmoid_parts(x, {"alpha": 1 / 6, "beta": 0.5})[0]
    if op in ("Add", "Mul"):
        return x + ins[1] if op == "Add" else x * ins[1]
    if op == "MaxPool":
        k, s = a["kernel_shape"][0], a["strides"][0]
        windows, (oh, ow) = _pool_windows(x, k, s)
        y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
        for i, j, rows, cols in windows:
            y[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
        return y
    if op == "GlobalAveragePool":
        return x.mean(axis=(2, 3), keepdims=True)
    if op == "Flatten":
        return x.reshape(x.shape[0], -1)
    if op == "Gemm":
        return x @ ins[1].T + ins[2]
    if op == "Concat":
        return np.concatenate(ins, axis=a["axis"])
    raise NotImplementedError(op)


def _backward_op(op, ins, out, dy, a):
    """Gradients for each input (None for constants the tests never differentiate)."""
    x = ins[0]
    if op == "Conv":
        return [_conv_backward(x, ins[1], dy, a)]
    if op == "BatchNormalization":
        scale, var = ins[1].reshape(1, -1, 1, 1), ins[4].reshape(1, -1, 1, 1)
        return [dy * scale / np.sqrt(var + a.get("epsilon", 1e-5))]
    if op == "Relu":
        return [dy * (x > 0)]
    if op == "Clip":
        return [dy * ((x > ins[1]) & (x < ins[2]))]
    if op == "HardSigmoid":
        return [dy * _hard_sigmoid_parts(x, a)[1]]
    if op == "HardSwish":
        value, slope = _hard_sigmoid_parts(x, {"alpha": 1 / 6, "beta": 0.5})
        return [dy * (value + x * slope)]
    if op == "Add":
        return [_unbroadcast(dy, x.shape), _unbroadcast(dy, ins[1].shape)]
    if op == "Mul":
        return [_unbroadcast(dy * ins[1], x.shape), _unbroadcast(dy * x, ins[1].shape)]
    if op == "MaxPool":
        k, s = a["kernel_shape"][0], a["strides"][0]
        windows, _ = _pool_windows(x, k, s)
        dx = np.zeros_like(x)
        for i, j, rows, cols in windows:
            block = x[:, :, rows, cols].reshape(x.shape[0], x.shape[1], -1)
            first = block.argmax(axis=2)  # the first maximum, in row-major scan order
            for n in range(x.shape[0]):
                for c in range(x.shape[1]):
                    r, q = divmod(int(first[n, c]), k)
                    dx[n, c, rows.start + r, cols.start + q] += dy[n, c, i, j]
        return [dx]
    if op == "GlobalAveragePool":
        return [np.broadcast_to(dy / (x.shape[2] * x.shape[3]), x.shape)]
    if op == "Flatten":
        return [dy.reshape(x.shape)]
    if op == "Gemm":
        return [dy @ ins[1]]
    if op == "Concat":
        bounds = np.cumsum([v.shape[a["axis"]] for v in ins])[:-1]
        return np.split(dy, bounds, axis=a["axis"])
    raise NotImplementedError(op)


def _unbroadcast(d: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    axes = tuple(axis for axis, side in enumerate(shape) if side == 1 and d.shape[axis] != 1)
    return d.sum(axis=axes, keepdims=True) if axes else d


@dataclass
class OnnxClassifierTwin:
    """The test classifiers' ONNX graph evaluated node by node in NumPy (float32 arrays)."""

    model: onnx.ModelProto
    dtype: type = np.float32  # float64 for the finite-difference self-check

    def forward(self, image: np.ndarray, end: str) -> tuple[np.ndarray, dict]:
        graph = self.model.graph
        values = {t.name: numpy_helper.to_array(t).astype(self.dtype) for t in graph.initializer}
        values[graph.input[0].name] = np.asarray(image, self.dtype)
        for node in graph.node:
            out = _forward_op(node.op_type, [values[name] for name in node.input], _attrs(node))
            values[node.output[0]] = np.asarray(out, self.dtype)
        return values[end], values

    def backward(self, values: dict, end: str, d_end: np.ndarray) -> np.ndarray:
        graph = self.model.graph
        weights = {t.name for t in graph.initializer}
        grads = {end: np.asarray(d_end, self.dtype)}
        for node in reversed(graph.node):
            dy = grads.get(node.output[0])
            if dy is None:
                continue
            ins = [values[name] for name in node.input]
            for name, d in zip(node.input, _backward_op(node.op_type, ins, values[node.output[0]],
                                                        dy, _attrs(node))):
                if d is not None and name not in weights:
                    grads[name] = grads[name] + d if name in grads else np.asarray(d, self.dtype)
        return grads[graph.input[0].name].astype(self.dtype)


# ----------------------------------------------------------------------------- one iteration

@dataclass
class ReferenceStep:
    code: np.ndarray  # 1×K float32 after the update
    act: float
    net_norm: float
    gen_norm: float


def reference_step(generator: CaffeGeneratorTwin, adapter: AdapterTwin,
                   classifier: OnnxClassifierTwin, code: np.ndarray, *, act_layer: str,
                   unit: int, xy: int, crop: int, step: float, l2: float,
                   bounds: tuple[np.ndarray, np.ndarray] | None) -> ReferenceStep:
    """Spec "One run", step 4, once, with the adapter between the crop and the net."""
    x0, tape = generator.forward(code)
    top = (x0.shape[2] - crop) // 2
    window = (slice(None), slice(None), slice(top, top + crop), slice(top, top + crop))
    cropped = x0[window].copy()
    blob, values = classifier.forward(adapter.forward(cropped), act_layer)
    one_hot = np.zeros_like(blob)
    if blob.ndim == 4:
        one_hot[0, unit, xy, xy] = 1
    else:
        one_hot.flat[unit] = 1
    g = adapter.backward(cropped.shape, classifier.backward(values, act_layer, one_hot))
    x, net_norm, moved = normalised_step(cropped, g, step)
    act = float(blob[0, unit, xy, xy] if blob.ndim == 4 else blob.flat[unit]) if moved else 0.0
    difference = np.zeros_like(x0)
    difference[window] = x - cropped
    new_code, gen_norm, _ = normalised_step(np.asarray(code, np.float32), generator.backward(tape, difference), step)
    if bounds is not None:
        new_code = np.minimum(np.maximum(new_code.astype(np.float64), bounds[0]), bounds[1])
    if 0 < l2 < 1:
        new_code = new_code * (np.float64(l2) if new_code.dtype == np.float64 else np.float32(l2))
    return ReferenceStep(new_code.astype(np.float32), act, net_norm, gen_norm)


# ----------------------------------------------------------------------------- act_max runs

def generator_flags() -> list[str]:
    """act_max's flags for the demo generator and its crop."""
    return ["--generator_definition", str(DEMO / "generator.prototxt"),
            "--generator_weights", str(DEMO / "generator.caffemodel"), "--crop_size", str(CROP)]


def act_max(*flags: str) -> int:
    """act_max in this process (as `python -m reproduce act_max ...`); its exit status."""
    from common.cli import run_subcommands
    return run_subcommands("python -m reproduce", None, ["reproduce.cli.act_max"],
                           ["act_max", *flags, "--threads", "1"])
