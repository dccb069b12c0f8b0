"""Element-wise activations, Power, Dropout (identity at test) and Softmax.

Caffe's checks: every type here takes one bottom and one top (NeuronLayer, SoftmaxLayer);
AbsVal refuses in-place computation; Softmax's axis is canonicalised. ReLU, Sigmoid, TanH,
Power and Dropout make no other check (Dropout's ratio is only DCHECKed, in debug builds).
"""
from __future__ import annotations

import numpy as np

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import canonical_axis
from converters.caffe.reader import CaffeLayer


@register("ReLU", onnx_ops=("Relu", "LeakyRelu"))
def relu(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ReLULayer: y = max(x, 0) + negative_slope·min(x, 0) (LeakyRelu when slope ≠ 0)."""
    bottom, slope = bottoms[0], layer.param.relu_param.negative_slope
    if slope == 0:
        return [graph.op("Relu", [bottom.name], bottom.shape, layer.name)]
    return [graph.op("LeakyRelu", [bottom.name], bottom.shape, layer.name, alpha=slope)]


@register("AbsVal", onnx_ops=("Abs",), in_place=False)
@register("Sigmoid", "TanH", onnx_ops=("Sigmoid", "Tanh"))
def unary(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe SigmoidLayer 1/(1+e^-x), TanHLayer tanh(x), AbsValLayer |x|."""
    op_type = {"Sigmoid": "Sigmoid", "TanH": "Tanh", "AbsVal": "Abs"}[layer.type]
    return [graph.op(op_type, [bottoms[0].name], bottoms[0].shape, layer.name)]


@register("Dropout")
def dropout(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe DropoutLayer in the TEST phase passes x through unchanged (it scales at train)."""
    return [bottoms[0]]


@register("Power", onnx_ops=("Mul", "Add", "Pow"))
def power(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe PowerLayer: y = (shift + scale·x)^power; steps that are identities are skipped."""
    bottom, param = bottoms[0], layer.param.power_param
    value = bottom
    if param.scale != 1:
        factor = graph.const(f"{layer.name}/scale", np.array(param.scale, np.float32))
        value = graph.op("Mul", [value.name, factor], bottom.shape, f"{layer.name}/scaled")
    if param.shift != 0:
        shift = graph.const(f"{layer.name}/shift", np.array(param.shift, np.float32))
        value = graph.op("Add", [value.name, shift], bottom.shape, f"{layer.name}/shifted")
    if param.power != 1:
        exponent = graph.const(f"{layer.name}/power", np.array(param.power, np.float32))
        value = graph.op("Pow", [value.name, exponent], bottom.shape, layer.name)
    return [value]


@register("Softmax", onnx_ops=("Softmax",))
def softmax(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe SoftmaxLayer: exp(x - max) / Σ exp(x - max) along `axis` (default the channels)."""
    bottom = bottoms[0]
    axis = canonical_axis(layer, "softmax_param.axis", layer.param.softmax_param.axis,
                          len(bottom.shape))
    return [graph.op("Softmax", [bottom.name], bottom.shape, layer.name, axis=axis)]
