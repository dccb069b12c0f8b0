"""InnerProduct (Caffe's fully connected layer)."""
from __future__ import annotations

import math

from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import canonical_axis
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs


@register("InnerProduct", onnx_ops=("Flatten", "Gemm", "Reshape"))
def inner_product(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe InnerProductLayer: the bottom flattened from `axis` on (K values) times the weights,
    y = x·Wᵀ + b with W of shape (num_output, K), or y = x·W with W (K, num_output) when
    `transpose`; axes before `axis` are kept."""
    bottom, param = bottoms[0], layer.param.inner_product_param
    axis = canonical_axis(layer, param.axis, len(bottom.shape))
    rows, k = math.prod(bottom.shape[:axis]), math.prod(bottom.shape[axis:])
    weight_shape = (k, param.num_output) if param.transpose else (param.num_output, k)
    shapes, roles = [weight_shape], ["weights"]
    if param.bias_term:
        shapes, roles = shapes + [(param.num_output,)], roles + ["bias"]
    blobs = layer_blobs(layer, shapes, roles)
    inputs = [graph.constant(f"{layer.name}/{role}", blob) for blob, role in zip(blobs, roles)]
    matrix = bottom
    if len(bottom.shape) != 2 or axis != 1:
        matrix = graph.op("Flatten", [bottom.name], (rows, k), f"{layer.name}/flat", axis=axis)
    product = graph.op("Gemm", [matrix.name, *inputs], (rows, param.num_output), layer.name,
                       transB=0 if param.transpose else 1)
    if axis == 1:
        return [product]
    return [graph.reshape(product, (*bottom.shape[:axis], param.num_output), layer.name)]
