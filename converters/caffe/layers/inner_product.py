"""InnerProduct (Caffe's fully connected layer).

Caffe's checks (InnerProductLayer): one bottom, one top, axis in range; the weights' shape
(checked against the caffemodel by layer_blobs). Stricter than Caffe: num_output 0 (Caffe
would make an empty top) and num_output above 2^31 - 1 (it would wrap negative).
"""
from __future__ import annotations

import math

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import caffe_int, canonical_axis, positive
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs


@register("InnerProduct", onnx_ops=("Flatten", "Gemm", "Reshape"))
def inner_product(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe InnerProductLayer: the bottom flattened from `axis` on (K values) times the weights,
    y = x·Wᵀ + b with W of shape (num_output, K), or y = x·W with W (K, num_output) when
    `transpose`; axes before `axis` are kept."""
    bottom, param = bottoms[0], layer.param.inner_product_param
    axis = canonical_axis(layer, "inner_product_param.axis", param.axis, len(bottom.shape))
    num_output = caffe_int(layer, "inner_product_param.num_output", param.num_output)
    positive(layer, "inner_product_param.num_output", [num_output],
             "Caffe would make an empty top")
    rows, k = math.prod(bottom.shape[:axis]), math.prod(bottom.shape[axis:])
    weight_shape = (k, param.num_output) if param.transpose else (param.num_output, k)
    shapes, roles = [weight_shape], ["weights"]
    if param.bias_term:
        shapes, roles = shapes + [(param.num_output,)], roles + ["bias"]
    blobs = layer_blobs(layer, shapes, roles)
    inputs = [graph.const(f"{layer.name}/{role}", blob) for blob, role in zip(blobs, roles, strict=True)]
    matrix = bottom
    if len(bottom.shape) != 2 or axis != 1:
        matrix = graph.op("Flatten", [bottom.name], (rows, k), f"{layer.name}/flat", axis=axis)
    product = graph.op("Gemm", [matrix.name, *inputs], (rows, param.num_output), layer.name,
                       transB=0 if param.transpose else 1)
    if axis == 1:
        return [product]
    return [graph.reshape(product, (*bottom.shape[:axis], param.num_output), layer.name)]
