"""Shared by the VJP tests: float64 NumPy versions of Caffe's layers (the convolutions are
support/numpy_conv.py's), a float64 runner for ONNX graphs, the finite-difference check, and
the value generators the rule tests draw inputs from.

ONNX Runtime's CPU provider has no double kernels for Conv, ConvTranspose, AveragePool,
GlobalAveragePool, LRN, HardSigmoid, HardSwish, Resize, Erf and Gelu (which it runs as Erf), so graphs holding those run in float64 on onnx's
ReferenceEvaluator, with its ConvTranspose (wrong for group > 1), LRN (loops over the
batch axis instead of channels), Erf and Gelu (round through float32), MaxPool (Indices wrong with pads) and AveragePool (divisor
wrong for ceil-mode windows past the input) replaced by the NumPy versions below (tests
check them against ONNX Runtime in float32). Every graph is also run in float32 on ONNX
Runtime and compared with the float64 result.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from converters.vjp.transform import build_vjp
from support.numpy_conv import conv_transpose2d

ORT_HAS_NO_DOUBLE = {"Conv", "ConvTranspose", "AveragePool", "GlobalAveragePool", "LRN",
                     "HardSigmoid", "HardSwish", "Resize", "Erf", "Gelu"}
MEASURED: dict[str, dict[str, float]] = {}   # rule -> {"fd": max error, "f32": max error}


# ---- NumPy float64 layers (Caffe arithmetic; convolutions: support/numpy_conv.py) ----
def lrn(x, size, alpha, beta, bias):
    """Caffe LRN across channels: x * (bias + alpha/n * sum of x^2 over n channels)^-beta."""
    scale = lrn_scale(x, size, alpha, bias)
    return x * scale ** -beta


def lrn_scale(x, size, alpha, bias):
    sq = np.pad(x * x, ((0, 0), ((size - 1) // 2, size // 2), (0, 0), (0, 0)))
    window = sum(sq[:, i:i + x.shape[1]] for i in range(size))
    return bias + alpha / size * window


def caffe_max_pool_backward(x, g, kernel, strides, pads):
    """Caffe's MAX pooling backward: each window's gradient to its first maximum
    (row, then column; padding never wins); overlapping windows add."""
    dx = np.zeros_like(x)
    n_, c_, oh_, ow_ = g.shape
    for n in range(n_):
        for c in range(c_):
            for oh in range(oh_):
                for ow in range(ow_):
                    h0, w0 = oh * strides[0] - pads[0], ow * strides[1] - pads[1]
                    rows = range(max(h0, 0), min(h0 + kernel[0], x.shape[2]))
                    cols = range(max(w0, 0), min(w0 + kernel[1], x.shape[3]))
                    cells = [(r, q) for r in rows for q in cols]
                    best = max(cells, key=lambda rc: (x[n, c, rc[0], rc[1]],
                                                      -cells.index(rc)))
                    dx[n, c, best[0], best[1]] += g[n, c, oh, ow]
    return dx


class ConvTranspose(OpRun):
    op_domain = ""

    def _run(self, x, w, b=None, auto_pad=None, dilations=None, group=None, kernel_shape=None,
             output_padding=None, output_shape=None, pads=None, strides=None):
        y = conv_transpose2d(x, w, b, strides or (1, 1), pads or (0, 0, 0, 0),
                             dilations or (1, 1), group or 1, output_padding or (0, 0))
        return (y.astype(x.dtype),)


def pool_windows(x, kernel, strides, pads, ceil_mode, fill):
    """ONNX Runtime's pooled sizes (ceil mode drops a last window starting past the input
    and its begin pad), the input padded with `fill` far enough for every window, and a
    function giving the (N, C, OH, OW) view of window cell (i, j)."""
    (kh, kw), (sh, sw) = kernel, strides or (1, 1)
    top, left, bottom, right = pads or (0, 0, 0, 0)
    rows, cols = x.shape[2:]
    out = []
    for size, k, s, begin, end in ((rows, kh, sh, top, bottom), (cols, kw, sw, left, right)):
        span = size + begin + end - k
        count = (-(-span // s) if ceil_mode else span // s) + 1
        out.append(count - 1 if ceil_mode and (count - 1) * s >= size + begin else count)
    padded = np.pad(x, ((0, 0), (0, 0), (top, max(bottom, (out[0] - 1) * sh + kh - rows - top)),
                        (left, max(right, (out[1] - 1) * sw + kw - cols - left))),
                    constant_values=fill)

    def cell(i, j):
        return padded[:, :, i:i + sh * (out[0] - 1) + 1:sh, j:j + sw * (out[1] - 1) + 1:sw]
    return out, cell


class MaxPool(OpRun):
    """2-D MaxPool with Indices (the reference evaluator's Indices are wrong with pads):
    first maximum in row-then-column order, indices into the flattened unpadded input."""
    op_domain = ""

    def _run(self, x, auto_pad=None, ceil_mode=0, dilations=None, kernel_shape=None,
             pads=None, storage_order=0, strides=None):
        out, cell = pool_windows(x, kernel_shape, strides, pads, ceil_mode, -np.inf)
        (sh, sw), (top, left) = strides or (1, 1), (pads or (0, 0))[:2]
        n, c, rows, cols = x.shape
        best = np.full((n, c, *out), -np.inf)
        where = np.zeros((n, c, *out), dtype=np.int64)
        oh, ow = np.meshgrid(np.arange(out[0]), np.arange(out[1]), indexing="ij")
        for i in range(kernel_shape[0]):
            for j in range(kernel_shape[1]):
                better = cell(i, j) > best
                best = np.where(better, cell(i, j), best)
                flat = (oh * sh + i - top) * cols + (ow * sw + j - left)
                where = np.where(better, flat[None, None], where)
        base = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * rows * cols
        return best.astype(x.dtype), where + base[:, :, None, None]


class AveragePool(OpRun):
    """2-D AveragePool as ONNX Runtime computes it (the reference evaluator's divisor is
    wrong for ceil-mode windows past the input): the divisor counts the window's cells
    inside the input (count_include_pad 0) or inside the padded input (1)."""
    op_domain = ""

    def _run(self, x, auto_pad=None, ceil_mode=0, count_include_pad=0, dilations=None,
             kernel_shape=None, pads=None, strides=None):
        out, cell = pool_windows(x, kernel_shape, strides, pads, ceil_mode, 0.0)
        total = sum(cell(i, j) for i in range(kernel_shape[0]) for j in range(kernel_shape[1]))
        pads, strides = pads or (0, 0, 0, 0), strides or (1, 1)
        divisor = np.ones(out)
        for axis in range(2):
            lo, hi = 0, x.shape[2 + axis]
            if count_include_pad:
                lo, hi = -pads[axis], hi + pads[2 + axis]
            starts = np.arange(out[axis]) * strides[axis] - pads[axis]
            taps = starts[:, None] + np.arange(kernel_shape[axis])[None, :]
            counts = ((taps >= lo) & (taps < hi)).sum(axis=1)
            divisor = divisor * (counts[:, None] if axis == 0 else counts[None, :])
        return ((total / divisor).astype(x.dtype),)


def erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


class Erf(OpRun):
    """Erf in the input's precision (the reference evaluator's rounds through float32)."""
    op_domain = ""

    def _run(self, x):
        return (erf(x),)


class Gelu(OpRun):
    """Gelu (opset 20) in the input's precision (the reference evaluator expands it to its
    function body, whose Erf rounds through float32)."""
    op_domain = ""

    def _run(self, x, approximate="none"):
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
            return ((0.5 * x * (1 + np.tanh(inner))).astype(x.dtype),)
        return ((0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype),)


class LRN(OpRun):
    op_domain = ""

    def _run(self, x, alpha=None, beta=None, bias=None, size=None):
        return (lrn(x, size, alpha, beta, bias).astype(x.dtype),)


# ---- running graphs ------------------------------------------------------------------
def runner(model: onnx.ModelProto, double: bool) -> Callable[[dict], list[np.ndarray]]:
    """A function feeds -> outputs: ONNX Runtime, or the patched reference evaluator for
    float64 graphs holding ops ONNX Runtime has no double kernels for."""
    if double and any(n.op_type in ORT_HAS_NO_DOUBLE for n in model.graph.node):
        evaluator = ReferenceEvaluator(model, new_ops=[AveragePool, ConvTranspose, Erf, Gelu, LRN,
                                                        MaxPool])
        return lambda feeds: evaluator.run(None, feeds)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return lambda feeds: session.run(None, feeds)


def single_node_model(op_type: str, inputs: dict[str, np.ndarray], attrs: dict,
                      elem_type: int, constants: dict[str, np.ndarray] | None = None,
                      n_outputs: int = 1, opset: int = 17) -> onnx.ModelProto:
    """One node; `inputs` become graph inputs, `constants` initializers (in that order)."""
    dtype = helper.tensor_dtype_to_np_dtype(elem_type)
    constants = constants or {}
    graph_inputs = [helper.make_tensor_value_info(k, elem_type, v.shape) for k, v in inputs.items()]
    inits = [numpy_helper.from_array(v if v.dtype.kind != "f" else v.astype(dtype), k)
             for k, v in constants.items()]
    outputs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, list(inputs) + list(constants), outputs, name=f"{op_type}_0",
                            **attrs)
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_tensor_value_info(o, elem_type, None) for o in outputs],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def with_inputs(model: onnx.ModelProto, names) -> onnx.ModelProto:
    """A copy where the initializers named become graph inputs (so they can be fed)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for init in [i for i in copy.graph.initializer if i.name in names]:
        copy.graph.input.append(helper.make_tensor_value_info(init.name, init.data_type,
                                                              list(init.dims)))
        copy.graph.initializer.remove(init)
    return copy


# ---- input values ------------------------------------------------------------------
def values(seed: int, shape, low=-1.0, high=1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape)


def distinct(seed: int, shape, gap: float = 0.01) -> np.ndarray:
    """Values pairwise at least `gap` apart (no ties, no kinks hit by the FD step)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * gap).reshape(shape)


def away_from_zero(seed: int, shape) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 1.0, shape)


# ---- finite differences --------------------------------------------------------------
def _unit_cell(shape, cell: int) -> np.ndarray:
    direction = np.zeros(shape)
    direction.flat[cell] = 1.0
    return direction


def check_vjp(rule: str, make_model: Callable[[int], onnx.ModelProto],
              values: dict[str, np.ndarray], wrt: list[str], of: list[str],
              step: float = 1e-6, tol: float = 1e-6, tol32: float = 2e-4,
              max_cells: int = 48, seed: int = 0) -> dict[str, np.ndarray]:
    """Builds the float64 VJP graph, compares it with central differences of the float64
    forward (per cell, on at most `max_cells` cells per wrt, plus one random direction),
    then runs the float32 graphs on ONNX Runtime and compares with the float64 gradient.
    Errors are relative to the largest gradient magnitude (at least 1); returns the
    float64 gradients."""
    rng = np.random.default_rng(seed)
    model64 = make_model(TensorProto.DOUBLE)
    forward = runner(with_inputs(model64, wrt), double=True)
    feeds = {k: v.astype(np.float64) for k, v in values.items()}
    outs = dict(zip([o.name for o in model64.graph.output], forward(feeds)))
    cotangents = {f"{o}_grad": rng.standard_normal(outs[o].shape) for o in of}
    vjp = runner(build_vjp(model64, wrt, of), double=True)
    result = vjp({**feeds, **cotangents})
    grads = dict(zip(wrt, result[len(of):]))

    def objective(changed: dict) -> float:
        o = dict(zip([v.name for v in model64.graph.output], forward({**feeds, **changed})))
        return sum(float((o[name] * cotangents[f"{name}_grad"]).sum()) for name in of)

    worst = 0.0
    for name in wrt:
        base, grad = feeds[name], grads[name]
        assert grad.shape == base.shape
        scale = max(1.0, float(np.abs(grad).max()))
        cells = rng.permutation(base.size)[:max_cells]
        random_direction = rng.standard_normal(base.shape)
        directions = [_unit_cell(base.shape, c) for c in cells]
        directions.append(random_direction / np.linalg.norm(random_direction))
        for direction in directions:
            # np.asarray: arithmetic on a rank-0 array gives a NumPy scalar
            numeric = (objective({name: np.asarray(base + step * direction)})
                       - objective({name: np.asarray(base - step * direction)})) / (2 * step)
            worst = max(worst, abs(numeric - float((grad * direction).sum())) / scale)
    assert worst < tol, f"{rule}: finite-difference error {worst:.3g} >= {tol}"

    model32 = make_model(TensorProto.FLOAT)
    vjp32 = runner(build_vjp(model32, wrt, of), double=False)
    result32 = vjp32({k: v.astype(np.float32) for k, v in {**feeds, **cotangents}.items()})
    worst32 = max(float(np.abs(g32 - grads[n]).max()) / max(1.0, float(np.abs(grads[n]).max()))
                  for n, g32 in zip(wrt, result32[len(of):]))
    assert worst32 < tol32, f"{rule}: float32 ONNX Runtime gradient differs by {worst32:.3g}"
    entry = MEASURED.setdefault(rule, {"fd": 0.0, "f32": 0.0})
    entry["fd"], entry["f32"] = max(entry["fd"], worst), max(entry["f32"], worst32)
    return grads


def report_measured() -> str:
    lines = [f"{rule:20s} fd {e['fd']:.2e}   float32-ORT vs float64 {e['f32']:.2e}"
             for rule, e in sorted(MEASURED.items())]
    return "\n".join(lines)
