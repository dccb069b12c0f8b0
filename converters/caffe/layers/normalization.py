"""LRN (both regions) and BatchNorm."""
from __future__ import annotations

import numpy as np

from converters.caffe.files import CaffeError
from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs

_ACROSS_CHANNELS = 0


def _scalar(graph: GraphBuilder, hint: str, value: float) -> str:
    return graph.constant(hint, np.array(value, dtype=np.float32))


@register("LRN", onnx_ops=("LRN", "Mul", "AveragePool", "Add", "Pow"))
def lrn(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe LRNLayer. ACROSS_CHANNELS: y = x·(k + α/n·Σ_{n channels} x²)^-β, centred window
    (ONNX LRN with bias=k). WITHIN_CHANNEL: y = x·(1 + α·avg_{n×n, zero-padded} x²)^-β, Caffe's
    composition of square, AVE pooling (pad (n-1)/2, divisor n²), power (shift 1) and product."""
    bottom, param = bottoms[0], layer.param.lrn_param
    size = param.local_size
    if size % 2 == 0:
        raise CaffeError(f"layer {layer.name}: LRN local_size must be odd, got {size}")
    if param.norm_region == _ACROSS_CHANNELS:
        return [graph.op("LRN", [bottom.name], bottom.shape, layer.name, size=size,
                         alpha=param.alpha, beta=param.beta, bias=param.k)]
    if len(bottom.shape) != 4:
        raise CaffeError(f"layer {layer.name}: WITHIN_CHANNEL LRN needs a 4-D bottom")
    half = (size - 1) // 2
    square = graph.op("Mul", [bottom.name, bottom.name], bottom.shape, f"{layer.name}/square")
    mean = graph.op("AveragePool", [square.name], bottom.shape, f"{layer.name}/mean",
                    kernel_shape=[size, size], pads=[half] * 4, count_include_pad=1)
    scaled = graph.op("Mul", [mean.name, _scalar(graph, f"{layer.name}/alpha", param.alpha)],
                      bottom.shape, f"{layer.name}/scaled")
    shifted = graph.op("Add", [scaled.name, _scalar(graph, f"{layer.name}/one", 1.0)],
                       bottom.shape, f"{layer.name}/shifted")
    power = graph.op("Pow", [shifted.name, _scalar(graph, f"{layer.name}/minus_beta",
                                                   -param.beta)],
                     bottom.shape, f"{layer.name}/scale")
    return [graph.op("Mul", [bottom.name, power.name], bottom.shape, layer.name)]


@register("BatchNorm", onnx_ops=("Sub", "Div"))
def batch_norm(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe BatchNormLayer with global statistics (its TEST-phase default):
    y = (x - mean/s) / sqrt(var/s + eps) per channel, s = blob[2] (a zero s gives 0 statistics);
    no scale or shift (Caffe puts those in a following Scale layer)."""
    bottom, param = bottoms[0], layer.param.batch_norm_param
    if param.HasField("use_global_stats") and not param.use_global_stats:
        raise CaffeError(f"layer {layer.name}: BatchNorm with use_global_stats: false "
                         "(batch statistics at test time) is not supported")
    channels = bottom.shape[1]
    mean, variance, factor = layer_blobs(layer, [(channels,), (channels,), (1,)],
                                         ["mean", "variance", "scale factor"])
    scale = np.float32(0.0) if factor[0] == 0 else np.float32(1.0) / factor[0]
    broadcast = (channels,) + (1,) * (len(bottom.shape) - 2)
    mean = (mean * scale).astype(np.float32).reshape(broadcast)
    std = np.sqrt((variance * scale).astype(np.float32) + np.float32(param.eps)).reshape(broadcast)
    centred = graph.op("Sub", [bottom.name, graph.constant(f"{layer.name}/mean", mean)],
                       bottom.shape, f"{layer.name}/centred")
    return [graph.op("Div", [centred.name, graph.constant(f"{layer.name}/std", std)],
                     bottom.shape, layer.name)]
