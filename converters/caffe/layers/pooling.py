"""Pooling (MAX and AVE) with Caffe's own output size and border divisors.

Caffe's checks (PoolingLayer::LayerSetUp / Reshape), made here with one error line: with
global_pooling no kernel field, pad 0 and stride 1; otherwise kernel_size or both kernel_h
and kernel_w, not both forms; pad and stride likewise (pad, or both pad_h and pad_w); kernel
> 0; with padding, pad < kernel (and MAX or AVE); a 4-D bottom; a second top (MAX's mask)
only for MAX. Stricter than Caffe where it would divide by zero, wrap an int, produce an
empty blob or a window wholly past the input (kernel < stride, no pad: Caffe leaves MAX at
-FLT_MAX, AVE at 0/0; ONNX pools refuse such an end pad): stride 0, values above 2^31 - 1,
windows giving an output size below 1, a last window starting past the unpadded bottom.
"""
from __future__ import annotations

import math

import numpy as np

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import caffe_int, check_blob_shape, layer_error, positive
from converters.caffe.reader import CaffeLayer

_MAX, _AVE, _CEIL = 0, 1, 0


def caffe_pooled_size(size: int, kernel: int, pad: int, stride: int, ceil: bool = True,
                      padded: bool | None = None) -> int:
    """PoolingLayer::Reshape: ceil((H + 2p - k) / s) + 1 (floor with round_mode FLOOR), the
    division in float32 as Caffe's static_cast<float> does (exact below 2^24; above, Caffe's
    rounding is kept), minus one if the last window would start in the bottom padding (at
    or after H + p) when the layer has any padding: `padded`, pad_h or pad_w nonzero, for
    both axes alike (default: this axis' pad nonzero)."""
    quotient = np.float32(size + 2 * pad - kernel) / np.float32(stride)
    pooled = int(np.ceil(quotient) if ceil else np.floor(quotient)) + 1
    if (pad != 0 if padded is None else padded) and (pooled - 1) * stride >= size + pad:
        pooled -= 1
    return pooled


def _ave_divisors(size: int, kernel: int, pad: int, stride: int, pooled: int) -> np.ndarray:
    """Caffe's AVE divisor per output position: window cells inside [-p, H + p)."""
    starts = np.arange(pooled) * stride - pad
    return np.minimum(starts + kernel, size + pad) - starts


def _pair(layer: CaffeLayer, name: str, default: int | None) -> list[int]:
    """`name` for both axes, or `name`_h and `name`_w: PoolingLayer takes one form or the
    other, the second only with both halves given."""
    param = layer.param.pooling_param
    field = "kernel_size" if name == "kernel" else name
    has_h, has_w = param.HasField(f"{name}_h"), param.HasField(f"{name}_w")
    if param.HasField(field) and (has_h or has_w):
        raise layer_error(layer, f"pooling_param.{field}", f"and {name}_h/_w are both given "
                                                            "(Caffe: one form or the other)")
    if has_h != has_w:
        raise layer_error(layer, f"pooling_param.{name}_{'w' if has_h else 'h'}",
                          f"is missing (Caffe needs both {name}_h and {name}_w)")
    if has_h:
        return [caffe_int(layer, f"pooling_param.{name}{suffix}",
                          getattr(param, f"{name}{suffix}")) for suffix in ("_h", "_w")]
    if not param.HasField(field) and default is None:
        raise layer_error(layer, "pooling_param.kernel_size", "is missing (Caffe needs "
                                                              "kernel_size or kernel_h/_w)")
    value = caffe_int(layer, f"pooling_param.{field}", getattr(param, field)) \
        if param.HasField(field) or default is None else default
    return [value, value]


def _window(layer: CaffeLayer, bottom: Tensor) -> tuple[list[int], list[int], list[int]]:
    """Kernel, pad, stride after PoolingLayer's checks."""
    param = layer.param.pooling_param
    if len(bottom.shape) != 4:
        raise layer_error(layer, "bottom", f"has shape {bottom.shape}; Caffe pools 4-D blobs "
                                           "(num, channels, height, width)")
    pad, stride = _pair(layer, "pad", 0), _pair(layer, "stride", 1)
    if param.global_pooling:
        if any(param.HasField(f) for f in ("kernel_size", "kernel_h", "kernel_w")):
            raise layer_error(layer, "pooling_param.kernel_size", "is given with "
                                     "global_pooling (Caffe: the kernel is the bottom's size)")
        if pad != [0, 0] or stride != [1, 1]:
            raise layer_error(layer, "pooling_param.global_pooling", "takes only pad 0 and "
                                                                     "stride 1")
        return list(bottom.shape[2:]), pad, stride
    kernel = _pair(layer, "kernel", None)
    positive(layer, "pooling_param.kernel_size", kernel, "Caffe: filter dimensions cannot "
                                                          "be zero")
    positive(layer, "pooling_param.stride", stride, "Caffe would divide by zero")
    for p, k in zip(pad, kernel, strict=True):
        if p >= k:
            raise layer_error(layer, "pooling_param.pad", f"{pad} must be smaller than the "
                                                          f"kernel {kernel}")
    return kernel, pad, stride


@register("Pooling", onnx_ops=("MaxPool", "AveragePool", "Mul"), tops=(1, 2))
def pooling(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe PoolingLayer (MAX, AVE). Caffe's output size is reproduced with explicit end pads
    and ceil_mode 0; MAX ignores padding cells; AVE divides each window's sum by the number of
    its cells inside [-pad, H + pad) (smaller than k² at the far borders), applied as a
    constant correction of ONNX's count_include_pad average."""
    bottom, param = bottoms[0], layer.param.pooling_param
    if param.pool not in (_MAX, _AVE):
        raise layer_error(layer, "pooling_param.pool", "STOCHASTIC has no test-time "
                                                       "conversion (supported: MAX, AVE)")
    if len(layer.tops) == 2:
        raise layer_error(layer, f"top '{layer.tops[1]}'", "(MAX pooling's argmax mask) is "
                          "not converted" if param.pool == _MAX else
                          "is one too many: Caffe gives a second top only to MAX pooling")
    kernel, pad, stride = _window(layer, bottom)
    ceil = param.round_mode == _CEIL
    pooled = [caffe_pooled_size(size, k, p, s, ceil, padded=any(pad))
              for size, k, p, s in zip(bottom.shape[2:], kernel, pad, stride, strict=True)]
    if min(pooled) < 1:
        raise layer_error(layer, "pooling_param.kernel_size", f"{kernel} with pad {pad}, "
                          f"stride {stride} gives the empty output {pooled} from the bottom "
                          f"{bottom.shape}")
    check_blob_shape(layer, "top shape", (*bottom.shape[:2], *pooled))
    for size, n, s in zip(bottom.shape[2:], pooled, stride, strict=True):
        if not any(pad) and (n - 1) * s >= size:
            raise layer_error(layer, "pooling_param.stride", f"{stride} with kernel {kernel} "
                              f"and no pad puts the last window past the bottom {bottom.shape} "
                              "(Caffe fills it with -FLT_MAX or NaN; not converted)")
    end_pads = [max((n - 1) * s + k - size - p, 0)
                for n, size, k, p, s in zip(pooled, bottom.shape[2:], kernel, pad, stride, strict=True)]
    shape = (*bottom.shape[:2], *pooled)
    attributes = {"kernel_shape": kernel, "strides": stride, "pads": pad + end_pads}
    if param.pool == _MAX:
        return [graph.op("MaxPool", [bottom.name], shape, layer.name, **attributes)]
    divisors = [_ave_divisors(size, k, p, s, n)
                for size, k, p, s, n in zip(bottom.shape[2:], kernel, pad, stride, pooled, strict=True)]
    exact = all((d == k).all() for d, k in zip(divisors, kernel, strict=True))
    average = graph.op("AveragePool", [bottom.name], shape,
                       layer.name if exact else f"{layer.name}/mean_k2",
                       count_include_pad=1, **attributes)
    if exact:
        return [average]
    correction = (math.prod(kernel) / np.outer(divisors[0], divisors[1])).astype(np.float32)
    factor = graph.const(f"{layer.name}/divisor_correction", correction)
    return [graph.op("Mul", [average.name, factor], shape, layer.name)]
