"""LRN (both regions) and BatchNorm.

Caffe's checks: LRNLayer: one bottom, one top, odd local_size, a 4-D bottom.
BatchNormLayer: one bottom, one top, the `param` entries of its three blobs with lr_mult 0;
a 1-D bottom crashes Caffe's Reshape (it reads shape(1)), so it is refused here. Stricter
than Caffe: local_size above 2^31 - 1 (it would wrap negative).
"""
from __future__ import annotations

import numpy as np

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import caffe_int, layer_error
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs

_ACROSS_CHANNELS = 0


def _scalar(graph: CaffeGraph, hint: str, value: float) -> str:
    return graph.const(hint, np.array(value, dtype=np.float32))


@register("LRN", onnx_ops=("LRN", "Mul", "AveragePool", "Add", "Pow", "Reshape"))
def lrn(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe LRNLayer. ACROSS_CHANNELS: y = x·(k + α/n·Σ_{n channels} x²)^-β, centred window
    (ONNX LRN with bias=k; with α <= 0 or β <= 0, which ONNX Runtime's LRN refuses and Caffe
    computes, the same formula composed: an AVE pooling of x² over n channels, zero-padded,
    divisor n). WITHIN_CHANNEL: y = x·(1 + α·avg_{n×n, zero-padded} x²)^-β, Caffe's
    composition of square, AVE pooling (pad (n-1)/2, divisor n²), power (shift 1) and product."""
    bottom, param = bottoms[0], layer.param.lrn_param
    size = caffe_int(layer, "lrn_param.local_size", param.local_size)
    if size % 2 == 0:
        raise layer_error(layer, "lrn_param.local_size", f"{size} must be odd (Caffe: LRN "
                                                         "only supports odd values)")
    if len(bottom.shape) != 4:
        raise layer_error(layer, "bottom", f"has shape {bottom.shape}; Caffe's LRN takes 4-D "
                                           "blobs (num, channels, height, width)")
    across = param.norm_region == _ACROSS_CHANNELS
    if across and param.alpha > 0 and param.beta > 0:
        return [graph.op("LRN", [bottom.name], bottom.shape, layer.name, size=size,
                         alpha=param.alpha, beta=param.beta, bias=param.k)]
    half = (size - 1) // 2
    square = graph.op("Mul", [bottom.name, bottom.name], bottom.shape, f"{layer.name}/square")
    if across:
        n, c, h, w = bottom.shape
        rows = graph.reshape(square, (n, 1, c, h * w), f"{layer.name}/channel_rows")
        window = graph.op("AveragePool", [rows.name], rows.shape, f"{layer.name}/mean_rows",
                          kernel_shape=[size, 1], pads=[half, 0, half, 0],
                          count_include_pad=1)
        mean = graph.reshape(window, bottom.shape, f"{layer.name}/mean")
    else:
        mean = graph.op("AveragePool", [square.name], bottom.shape, f"{layer.name}/mean",
                        kernel_shape=[size, size], pads=[half] * 4, count_include_pad=1)
    scaled = graph.op("Mul", [mean.name, _scalar(graph, f"{layer.name}/alpha", param.alpha)],
                      bottom.shape, f"{layer.name}/scaled")
    shift = param.k if across else 1.0
    shifted = graph.op("Add", [scaled.name, _scalar(graph, f"{layer.name}/shift", shift)],
                       bottom.shape, f"{layer.name}/shifted")
    power = graph.op("Pow", [shifted.name, _scalar(graph, f"{layer.name}/minus_beta",
                                                   -param.beta)],
                     bottom.shape, f"{layer.name}/scale")
    return [graph.op("Mul", [bottom.name, power.name], bottom.shape, layer.name)]


@register("BatchNorm", onnx_ops=("Sub", "Div"))
def batch_norm(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe BatchNormLayer with global statistics (its TEST-phase default):
    y = (x - mean/s) / sqrt(var/s + eps) per channel, s = blob[2] (a zero s gives 0 statistics);
    no scale or shift (Caffe puts those in a following Scale layer)."""
    bottom, param = bottoms[0], layer.param.batch_norm_param
    if param.HasField("use_global_stats") and not param.use_global_stats:
        raise layer_error(layer, "batch_norm_param.use_global_stats", "false (batch "
                          "statistics at test time) is not supported")
    if len(bottom.shape) < 2:
        raise layer_error(layer, "bottom", f"has shape {bottom.shape}; Caffe's BatchNorm "
                                           "reads the channels from axis 1")
    for index, spec in enumerate(layer.param.param[:3]):
        if spec.lr_mult != 0:
            raise layer_error(layer, f"param[{index}].lr_mult", f"{spec.lr_mult:g} must be 0 "
                              "(Caffe: cannot configure batch normalization statistics as "
                              "layer parameters)")
    channels = bottom.shape[1]
    mean, variance, factor = layer_blobs(layer, [(channels,), (channels,), (1,)],
                                         ["mean", "variance", "scale factor"])
    scale = np.float32(0.0) if factor[0] == 0 else np.float32(1.0) / factor[0]
    broadcast = (channels,) + (1,) * (len(bottom.shape) - 2)
    mean = (mean * scale).astype(np.float32).reshape(broadcast)
    with np.errstate(invalid="ignore"):  # a negative eps past the variance gives NaN, as in Caffe
        std = np.sqrt((variance * scale).astype(np.float32)
                      + np.float32(param.eps)).reshape(broadcast)
    centred = graph.op("Sub", [bottom.name, graph.const(f"{layer.name}/mean", mean)],
                       bottom.shape, f"{layer.name}/centred")
    return [graph.op("Div", [centred.name, graph.const(f"{layer.name}/std", std)],
                     bottom.shape, layer.name)]
