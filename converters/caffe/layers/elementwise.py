"""Eltwise, Scale and Bias: arithmetic between blobs or with a learned per-axis parameter."""
from __future__ import annotations

import numpy as np

from converters.caffe.files import CaffeError
from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import canonical_axis
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs

_PROD, _SUM, _MAX = 0, 1, 2


@register("Eltwise", onnx_ops=("Mul", "Max", "Sum"))
def eltwise(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe EltwiseLayer: SUM Σ coeff_i·x_i (coeff default 1), PROD Π x_i, MAX max_i x_i."""
    param = layer.param.eltwise_param
    shape = bottoms[0].shape
    if any(bottom.shape != shape for bottom in bottoms):
        raise CaffeError(f"layer {layer.name}: Eltwise bottoms differ in shape: "
                         f"{', '.join(str(b.shape) for b in bottoms)}")
    if param.operation == _PROD:
        return [_fold(graph, layer, "Mul", bottoms)]
    if param.operation == _MAX:
        return [graph.op("Max", [b.name for b in bottoms], shape, layer.name)]
    coefficients = list(param.coeff) or [1.0] * len(bottoms)
    if len(coefficients) != len(bottoms):
        raise CaffeError(f"layer {layer.name}: {len(coefficients)} coeff for "
                         f"{len(bottoms)} bottoms")
    terms = []
    for index, (bottom, coefficient) in enumerate(zip(bottoms, coefficients)):
        if coefficient == 1:
            terms.append(bottom)
            continue
        factor = graph.constant(f"{layer.name}/coeff{index}", np.array(coefficient, np.float32))
        terms.append(graph.op("Mul", [bottom.name, factor], shape, f"{layer.name}/term{index}"))
    return [graph.op("Sum", [t.name for t in terms], shape, layer.name)]


def _fold(graph: GraphBuilder, layer: CaffeLayer, op_type: str, bottoms: list[Tensor]) -> Tensor:
    value = bottoms[0]
    for index, bottom in enumerate(bottoms[1:], start=1):
        hint = layer.name if index == len(bottoms) - 1 else f"{layer.name}/partial{index}"
        value = graph.op(op_type, [value.name, bottom.name], value.shape, hint)
    return value


def _broadcast(graph: GraphBuilder, operand: Tensor | np.ndarray, axis: int, rank: int,
               hint: str) -> str:
    """The operand laid out to broadcast against the bottom from `axis` on (trailing 1s)."""
    shape = tuple(operand.shape)
    target = (*shape, *([1] * (rank - axis - len(shape))))
    if isinstance(operand, np.ndarray):
        return graph.constant(hint, operand.reshape(target))
    if tuple(target) == tuple(shape):
        return operand.name
    return graph.reshape(operand, target, hint).name


def _scale_or_bias(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor], param,
                   op_type: str, role: str, bias_term: bool) -> list[Tensor]:
    """ScaleLayer / BiasLayer: bottom[0] combined with bottom[1] or a learned blob covering
    axes axis..axis+num_axes (num_axes -1 = to the end), broadcast over the rest."""
    bottom = bottoms[0]
    rank = len(bottom.shape)
    if len(bottoms) == 2:
        if bias_term:
            raise CaffeError(f"layer {layer.name}: Scale with two bottoms and bias_term "
                             "is not supported")
        axis = canonical_axis(layer, param.axis, rank)
        operand = _broadcast(graph, bottoms[1], axis, rank, f"{layer.name}/{role}")
        return [graph.op(op_type, [bottom.name, operand], bottom.shape, layer.name)]
    axis = canonical_axis(layer, param.axis, rank)
    count = rank - axis if param.num_axes == -1 else param.num_axes
    if count < 0 or axis + count > rank:
        raise CaffeError(f"layer {layer.name}: num_axes {param.num_axes} out of range")
    shape = tuple(bottom.shape[axis:axis + count])
    roles = [role] + (["bias"] if bias_term else [])
    blobs = layer_blobs(layer, [shape] * len(roles), roles)
    value = graph.op(op_type, [bottom.name, _broadcast(graph, blobs[0], axis, rank,
                                                       f"{layer.name}/{role}")],
                     bottom.shape, layer.name if not bias_term else f"{layer.name}/scaled")
    if bias_term:
        bias = _broadcast(graph, blobs[1], axis, rank, f"{layer.name}/bias")
        value = graph.op("Add", [value.name, bias], bottom.shape, layer.name)
    return [value]


@register("Scale", onnx_ops=("Mul", "Add", "Reshape"))
def scale(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ScaleLayer: y = x·γ (+ β when bias_term), γ learned or given as bottom[1]."""
    param = layer.param.scale_param
    return _scale_or_bias(graph, layer, bottoms, param, "Mul", "scale", param.bias_term)


@register("Bias", onnx_ops=("Add", "Reshape"))
def bias(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe BiasLayer: y = x + β, β learned or given as bottom[1]."""
    return _scale_or_bias(graph, layer, bottoms, layer.param.bias_param, "Add", "bias", False)
