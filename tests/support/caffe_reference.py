"""An independent NumPy reference of Caffe's layer arithmetic (float64, written from Caffe's
C++ semantics, sharing no code with converters/), plus the harness the converter tests use:
a one-layer net written as a real prototxt + caffemodel, converted, run in ONNX Runtime.

The convolutions are support/numpy_conv.py's, in float64 with Caffe's symmetric (pad_h, pad_w).
tests/test_caffe_reference.py checks the reference itself on cases small enough to work by hand.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from converters import caffe_to_onnx
from converters.caffe.writer import write_caffemodel
from support.numpy_conv import conv2d, conv_transpose2d


# ----------------------------------------------------------------------------- reference

def _float64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def ref_conv(x, weight, bias, pad=(0, 0), stride=(1, 1), dilation=(1, 1), group=1):
    """ConvolutionLayer: zero padding, cross-correlation per group, floor output size."""
    x, weight, bias = _float64(x, weight, bias)
    return conv2d(x, weight, bias, stride, (*pad, *pad), dilation, group)


def ref_deconv(x, weight, bias, pad=(0, 0), stride=(1, 1), dilation=(1, 1), group=1):
    """DeconvolutionLayer: each input cell scatters weight·x into the output (col2im), then
    the border `pad` is cut; size (H-1)s - 2p + d(k-1) + 1."""
    x, weight, bias = _float64(x, weight, bias)
    return conv_transpose2d(x, weight, bias, stride, (*pad, *pad), dilation, group)


def ref_pooled_size(size, kernel, pad, stride, ceil=True, padded=None):
    """PoolingLayer::Reshape (round_mode CEIL by default, or FLOOR); when the layer has any
    padding (`padded`, on either axis; default: this axis' pad), a last window starting in
    the bottom padding is dropped."""
    rounding = math.ceil if ceil else math.floor
    pooled = int(rounding((size + 2 * pad - kernel) / stride)) + 1
    if (pad > 0 if padded is None else padded) and (pooled - 1) * stride >= size + pad:
        pooled -= 1
    return pooled


def ref_pool(x, method, kernel, pad=(0, 0), stride=(1, 1), ceil=True):
    """PoolingLayer::Forward_cpu, loop for loop: MAX over in-image cells; AVE = sum of in-image
    cells / cells of the window inside [-pad, size + pad)."""
    n, c, h, w = x.shape
    (kh, kw), (ph, pw), (sh, sw) = kernel, pad, stride
    padded = ph > 0 or pw > 0
    oh = ref_pooled_size(h, kh, ph, sh, ceil, padded)
    ow = ref_pooled_size(w, kw, pw, sw, ceil, padded)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * sh - ph, j * sw - pw
            if method == "MAX":
                he, we = min(hs + kh, h), min(ws + kw, w)
                hs, ws = max(hs, 0), max(ws, 0)
                out[:, :, i, j] = x[:, :, hs:he, ws:we].max(axis=(2, 3))
            else:
                he, we = min(hs + kh, h + ph), min(ws + kw, w + pw)
                pool_size = (he - hs) * (we - ws)
                hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
                out[:, :, i, j] = x[:, :, hs:he, ws:we].sum(axis=(2, 3)) / pool_size
    return out


def ref_lrn_across(x, size, alpha, beta, k):
    """LRNLayer ACROSS_CHANNELS: scale = k + α/n Σ_{c-(n-1)/2..c+(n-1)/2} x²; y = x·scale^-β."""
    half = (size - 1) // 2
    channels = x.shape[1]
    out = np.empty_like(x, dtype=np.float64)
    for ch in range(channels):
        lo, hi = max(ch - half, 0), min(ch + half, channels - 1)
        scale = k + alpha / size * (x[:, lo:hi + 1] ** 2).sum(axis=1)
        out[:, ch] = x[:, ch] * scale ** -beta
    return out


def ref_lrn_within(x, size, alpha, beta):
    """LRNLayer WITHIN_CHANNEL: x·(1 + α·AVEpool_{n×n, pad (n-1)/2}(x²))^-β."""
    half = (size - 1) // 2
    mean = ref_pool(x.astype(np.float64) ** 2, "AVE", (size, size), (half, half), (1, 1))
    return x * (1 + alpha * mean) ** -beta


def ref_inner_product(x, weight, bias, axis=1, transpose=False):
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    rows = int(np.prod(x.shape[:axis]))
    flat = x.reshape(rows, -1)
    out = flat @ (weight if transpose else weight.T)
    if bias is not None:
        out = out + bias
    return out.reshape(*x.shape[:axis], -1)


def ref_softmax(x, axis=1):
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def rel_err(actual, expected) -> float:
    """Largest absolute error relative to the reference's largest magnitude."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(np.abs(expected).max(), 1e-30)
    return float(np.abs(np.asarray(actual, dtype=np.float64) - expected).max() / scale)


# ----------------------------------------------------------------------------- harness

def layer_text(name: str, layer_type: str, bottoms, tops, params: str = "") -> str:
    """One V2 `layer { ... }` line: name, type, its bottoms and tops, then `params`."""
    return (f'layer {{ name: "{name}" type: "{layer_type}" '
            + "".join(f'bottom: "{b}" ' for b in bottoms)
            + "".join(f'top: "{t}" ' for t in tops) + params + " }\n")


def write_net(directory: Path, body: str, inputs: dict[str, tuple], name="net") -> Path:
    """A V2 deploy prototxt with `input`/`input_shape` for each input, then `body`."""
    header = "".join(f'input: "{blob}"\ninput_shape {{ {" ".join(f"dim: {d}" for d in shape)} }}\n'
                     for blob, shape in inputs.items())
    path = directory / f"{name}.prototxt"
    path.write_text(f'name: "{name}"\n{header}{body}')
    return path


def run_onnx(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {k: v.astype(np.float32) for k, v in feeds.items()})))


def convert_and_run(directory: Path, body: str, feeds: dict[str, np.ndarray],
                    weights: dict[str, list[np.ndarray]] | None = None, *, layout="v2",
                    layer_types=None, **options) -> dict[str, np.ndarray]:
    """Writes the net and its caffemodel, converts with caffe_to_onnx, runs ONNX Runtime."""
    prototxt = write_net(directory, body, {k: v.shape for k, v in feeds.items()})
    caffemodel = None
    if weights:
        caffemodel = directory / "net.caffemodel"
        write_caffemodel(caffemodel, weights, layout=layout, layer_types=layer_types)
    options.setdefault("batch", next(iter(feeds.values())).shape[0])
    return run_onnx(caffe_to_onnx(prototxt, caffemodel, **options), feeds)
