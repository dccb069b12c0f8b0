"""Eltwise, Scale and Bias: arithmetic between blobs or with a learned per-axis parameter.

Caffe's checks: EltwiseLayer: at least two bottoms, one top, coeff given 0 times or once
per bottom, no coeff with PROD, all bottoms of one shape. ScaleLayer / BiasLayer: one or two
bottoms, one top, axis in range, num_axes >= -1 and axis + num_axes within the bottom; with
a second bottom, its shape equal to bottom[0]'s axes from `axis` on (axis 0 for a 0-D one).
"""
from __future__ import annotations

import numpy as np

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import canonical_axis, check_same_shapes, layer_error
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs

_PROD, _SUM, _MAX = 0, 1, 2


@register("Eltwise", onnx_ops=("Mul", "Max", "Sum"), bottoms=(2, None))
def eltwise(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe EltwiseLayer: SUM Σ coeff_i·x_i (coeff default 1), PROD Π x_i, MAX max_i x_i."""
    param = layer.param.eltwise_param
    shape = bottoms[0].shape
    if len(param.coeff) not in (0, len(bottoms)):
        raise layer_error(layer, "eltwise_param.coeff", f"is given {len(param.coeff)} times "
                          f"for {len(bottoms)} bottoms (Caffe: one per bottom)")
    if param.operation == _PROD and param.coeff:
        raise layer_error(layer, "eltwise_param.coeff", "is given with operation PROD "
                          "(Caffe takes coefficients only for SUM)")
    check_same_shapes(layer, [b.shape for b in bottoms], "Caffe: Eltwise bottoms of one shape")
    if param.operation == _PROD:
        return [_fold(graph, layer, "Mul", bottoms)]
    if param.operation == _MAX:
        return [graph.op("Max", [b.name for b in bottoms], shape, layer.name)]
    coefficients = list(param.coeff) or [1.0] * len(bottoms)
    terms = []
    for index, (bottom, coefficient) in enumerate(zip(bottoms, coefficients, strict=True)):
        if coefficient == 1:
            terms.append(bottom)
            continue
        factor = graph.const(f"{layer.name}/coeff{index}", np.array(coefficient, np.float32))
        terms.append(graph.op("Mul", [bottom.name, factor], shape, f"{layer.name}/term{index}"))
    return [graph.op("Sum", [t.name for t in terms], shape, layer.name)]


def _fold(graph: CaffeGraph, layer: CaffeLayer, op_type: str, bottoms: list[Tensor]) -> Tensor:
    value = bottoms[0]
    for index, bottom in enumerate(bottoms[1:], start=1):
        hint = layer.name if index == len(bottoms) - 1 else f"{layer.name}/partial{index}"
        value = graph.op(op_type, [value.name, bottom.name], value.shape, hint)
    return value


def _broadcast(graph: CaffeGraph, operand: Tensor | np.ndarray, axis: int, rank: int,
               hint: str) -> str:
    """The operand laid out to broadcast against the bottom from `axis` on (trailing 1s)."""
    shape = tuple(operand.shape)
    target = (*shape, *([1] * (rank - axis - len(shape))))
    if isinstance(operand, np.ndarray):
        return graph.const(hint, operand.reshape(target))
    if tuple(target) == tuple(shape):
        return operand.name
    return graph.reshape(operand, target, hint).name


def _scale_or_bias(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor], param,
                   op_type: str, role: str, bias_term: bool) -> list[Tensor]:
    """ScaleLayer / BiasLayer: bottom[0] combined with bottom[1] or a learned blob covering
    axes axis..axis+num_axes (num_axes -1 = to the end), broadcast over the rest."""
    bottom, field = bottoms[0], f"{role}_param"
    rank = len(bottom.shape)
    axis = canonical_axis(layer, f"{field}.axis", param.axis, rank)
    if param.num_axes < -1:
        raise layer_error(layer, f"{field}.num_axes", f"{param.num_axes} must be >= 0, or -1 "
                                                      "for all axes from `axis` on")
    if len(bottoms) == 2:
        if bias_term:
            raise layer_error(layer, f"{field}.bias_term", "with two bottoms is not supported")
        operand_shape = bottoms[1].shape
        if axis + len(operand_shape) > rank or \
                tuple(bottom.shape[axis:axis + len(operand_shape)]) != tuple(operand_shape):
            raise layer_error(layer, "bottom[1]", f"shape {operand_shape} does not match "
                              f"bottom[0]'s {bottom.shape} from {field}.axis {param.axis} on")
        operand = _broadcast(graph, bottoms[1], axis, rank, f"{layer.name}/{role}")
        return [graph.op(op_type, [bottom.name, operand], bottom.shape, layer.name)]
    count = rank - axis if param.num_axes == -1 else param.num_axes
    if axis + count > rank:
        raise layer_error(layer, f"{field}.num_axes", f"{param.num_axes} from axis {axis} "
                          f"extends past the {rank}-D bottom")
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


@register("Scale", onnx_ops=("Mul", "Add", "Reshape"), bottoms=(1, 2))
def scale(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ScaleLayer: y = x·γ (+ β when bias_term), γ learned or given as bottom[1]."""
    param = layer.param.scale_param
    return _scale_or_bias(graph, layer, bottoms, param, "Mul", "scale", param.bias_term)


@register("Bias", onnx_ops=("Add", "Reshape"), bottoms=(1, 2))
def bias(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe BiasLayer: y = x + β, β learned or given as bottom[1]."""
    return _scale_or_bias(graph, layer, bottoms, layer.param.bias_param, "Add", "bias", False)
