"""An independent NumPy reference of Caffe's layer arithmetic (float64, written from Caffe's
C++ semantics, sharing no code with converters/), plus the harness the converter tests use:
a one-layer net written as a real prototxt + caffemodel, converted, run in ONNX Runtime.

The tests in this file check the reference itself on cases small enough to work by hand.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from converters import caffe_to_onnx
from converters.caffe.writer import write_caffemodel


# ----------------------------------------------------------------------------- reference

def ref_conv(x, weight, bias, pad=(0, 0), stride=(1, 1), dilation=(1, 1), group=1):
    """ConvolutionLayer: zero padding, cross-correlation per group, floor output size."""
    n, c, h, w = x.shape
    out_c, _, kh, kw = weight.shape
    (ph, pw), (sh, sw), (dh, dw) = pad, stride, dilation
    oh = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    ow = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    padded[:, :, ph:ph + h, pw:pw + w] = x
    out = np.zeros((n, out_c, oh, ow))
    cg, og = c // group, out_c // group
    for g in range(group):
        xs = padded[:, g * cg:(g + 1) * cg]
        ws = weight[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("ncyx,oc->noyx", patch, ws[:, :, i, j])
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def ref_deconv(x, weight, bias, pad=(0, 0), stride=(1, 1), dilation=(1, 1), group=1):
    """DeconvolutionLayer: each input cell scatters weight·x into the output (col2im), then
    the border `pad` is cut; size (H-1)s - 2p + d(k-1) + 1."""
    n, c, h, w = x.shape
    _, og, kh, kw = weight.shape
    (ph, pw), (sh, sw), (dh, dw) = pad, stride, dilation
    full_h, full_w = (h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1
    full = np.zeros((n, og * group, full_h, full_w))
    cg = c // group
    for g in range(group):
        xs = x[:, g * cg:(g + 1) * cg]
        ws = weight[g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                full[:, g * og:(g + 1) * og, i * dh:i * dh + sh * (h - 1) + 1:sh,
                     j * dw:j * dw + sw * (w - 1) + 1:sw] += np.einsum(
                    "ncyx,co->noyx", xs, ws[:, :, i, j])
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


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


# ----------------------------------------------------------------------------- self-checks

def test_reference_pooling_by_hand():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    # kernel 3, stride 2, pad 1 on 4: ceil((4+2-3)/2)+1 = 3 windows; the third starts at 3 < 5
    ave = ref_pool(x, "AVE", (3, 3), (1, 1), (2, 2))
    assert ave.shape == (1, 1, 3, 3)
    # top-left window covers rows/cols -1..1: in-image cells 0,1,4,5; divisor 9
    assert ave[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 9
    # bottom-right window covers rows/cols 3..5 clipped at 4+1=5: divisor 2x2=4, cell 15 only
    assert ave[0, 0, 2, 2] == 15 / 4
    assert ref_pool(x, "MAX", (3, 3), (1, 1), (2, 2))[0, 0, 2, 2] == 15


def test_reference_pooled_size_drops_window_starting_in_padding():
    # size 6, kernel 3, stride 2, no pad: ceil(3/2)+1 = 3 (floor would give 2)
    assert ref_pooled_size(6, 3, 0, 2) == 3
    # size 5, kernel 2, stride 2, pad 1: ceil(5/2)+1 = 4, but window 3 starts at 3*2-1 = 5,
    # in the bottom padding (>= H): dropped
    assert ref_pooled_size(5, 2, 1, 2) == 3
    # size 4, kernel 2, stride 2, pad 1: ceil(4/2)+1 = 3; window 2 starts at 3 < 4: kept
    assert ref_pooled_size(4, 2, 1, 2) == 3
    # size 1, kernel 2, stride 4, pad 1: ceil(1/4)+1 = 2; window 1 starts at 3: dropped
    assert ref_pooled_size(1, 2, 1, 4) == 1


def test_reference_deconv_is_the_transpose_of_conv():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 4, 5, 5))
    y = rng.standard_normal((1, 6, 3, 3))
    weight = rng.standard_normal((6, 2, 3, 3))  # conv: 4 -> 6 channels, group 2
    conv = ref_conv(x, weight, None, pad=(1, 1), stride=(2, 2), group=2)
    deconv = ref_deconv(y, weight, None, pad=(1, 1), stride=(2, 2), group=2)
    assert conv.shape == y.shape and deconv.shape == x.shape
    assert np.isclose((conv * y).sum(), (x * deconv).sum())


def test_pooled_size_divides_in_float32_as_caffe():
    """PoolingLayer::Reshape divides static_cast<float>(H + 2p - k) by the stride: above 2^24
    the span rounds to a float first (2^24 + 1 → 2^24), so ceil(span / 2) is 2^23, not the
    exact 2^23 + 1."""
    from converters.caffe.layers.pooling import caffe_pooled_size
    assert caffe_pooled_size(2 ** 24 + 1, 0, 0, 2) == 2 ** 23 + 1
    assert caffe_pooled_size(2 ** 24 - 1, 0, 0, 2) == 2 ** 23 + 1  # exact: ceil(2^23 - 0.5)
    for size, kernel, pad, stride in [(6, 3, 0, 2), (5, 2, 1, 2), (4, 2, 1, 2), (1, 2, 1, 4),
                                      (13, 3, 1, 3), (7, 7, 0, 1)]:
        assert caffe_pooled_size(size, kernel, pad, stride) == ref_pooled_size(size, kernel,
                                                                               pad, stride)
