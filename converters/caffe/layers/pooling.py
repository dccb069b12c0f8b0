"""Pooling (MAX and AVE) with Caffe's own output size and border divisors."""
from __future__ import annotations

import math

import numpy as np

from converters.caffe.files import CaffeError
from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import spatial_values
from converters.caffe.reader import CaffeLayer

_MAX, _AVE, _CEIL = 0, 1, 0


def caffe_pooled_size(size: int, kernel: int, pad: int, stride: int, ceil: bool = True) -> int:
    """PoolingLayer::Reshape: ceil((H + 2p - k) / s) + 1, minus one if the last window would
    start in the bottom padding (at or after H + p) when p > 0."""
    span = size + 2 * pad - kernel
    pooled = (-(-span // stride) if ceil else span // stride) + 1
    if pad and (pooled - 1) * stride >= size + pad:
        pooled -= 1
    return pooled


def _ave_divisors(size: int, kernel: int, pad: int, stride: int, pooled: int) -> np.ndarray:
    """Caffe's AVE divisor per output position: window cells inside [-p, H + p)."""
    starts = np.arange(pooled) * stride - pad
    return np.minimum(starts + kernel, size + pad) - starts


def _window(layer: CaffeLayer, bottom: Tensor) -> tuple[list[int], list[int], list[int]]:
    param = layer.param.pooling_param
    if len(bottom.shape) != 4:
        raise CaffeError(f"layer {layer.name}: Pooling needs a 4-D bottom, got {bottom.shape}")
    if param.global_pooling:
        if param.pad or param.pad_h or param.pad_w or param.stride != 1:
            raise CaffeError(f"layer {layer.name}: global_pooling takes no pad and stride 1")
        return list(bottom.shape[2:]), [0, 0], [1, 1]
    kernel = spatial_values(layer, param, "kernel_size", 2, None)
    pad = spatial_values(layer, param, "pad", 2, 0)
    stride = spatial_values(layer, param, "stride", 2, 1)
    if any(p >= k for p, k in zip(pad, kernel)):
        raise CaffeError(f"layer {layer.name}: pad {pad} must be smaller than kernel {kernel}")
    return kernel, pad, stride


@register("Pooling", onnx_ops=("MaxPool", "AveragePool", "Mul"))
def pooling(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe PoolingLayer (MAX, AVE). Caffe's output size is reproduced with explicit end pads
    and ceil_mode 0; MAX ignores padding cells; AVE divides each window's sum by the number of
    its cells inside [-pad, H + pad) (smaller than k² at the far borders), applied as a
    constant correction of ONNX's count_include_pad average."""
    bottom, param = bottoms[0], layer.param.pooling_param
    if param.pool not in (_MAX, _AVE):
        raise CaffeError(f"layer {layer.name}: pooling method STOCHASTIC has no test-time "
                         "conversion (supported: MAX, AVE)")
    kernel, pad, stride = _window(layer, bottom)
    ceil = param.round_mode == _CEIL
    pooled = [caffe_pooled_size(size, k, p, s, ceil)
              for size, k, p, s in zip(bottom.shape[2:], kernel, pad, stride)]
    end_pads = [max((n - 1) * s + k - size - p, 0)
                for n, size, k, p, s in zip(pooled, bottom.shape[2:], kernel, pad, stride)]
    shape = (*bottom.shape[:2], *pooled)
    attributes = {"kernel_shape": kernel, "strides": stride, "pads": pad + end_pads}
    if param.pool == _MAX:
        return [graph.op("MaxPool", [bottom.name], shape, layer.name, **attributes)]
    divisors = [_ave_divisors(size, k, p, s, n)
                for size, k, p, s, n in zip(bottom.shape[2:], kernel, pad, stride, pooled)]
    exact = all((d == k).all() for d, k in zip(divisors, kernel))
    average = graph.op("AveragePool", [bottom.name], shape,
                       layer.name if exact else f"{layer.name}/mean_k2",
                       count_include_pad=1, **attributes)
    if exact:
        return [average]
    correction = (math.prod(kernel) / np.outer(divisors[0], divisors[1])).astype(np.float32)
    factor = graph.constant(f"{layer.name}/divisor_correction", correction)
    return [graph.op("Mul", [average.name, factor], shape, layer.name)]
