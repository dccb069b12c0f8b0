"""Input: the net's input blobs (also what deprecated `input:` fields upgrade to).

Caffe's checks (InputLayer, Blob::Reshape): no bottom, at least one top; `shape` given once
(for every top) or once per top; each shape within Blob's limits (at most 32 axes, no
negative dimension, count <= 2^31 - 1). Stricter than Caffe: a top without shape (Caffe
leaves it unshaped until the caller reshapes it) and a zero dimension (an empty blob).
"""
from __future__ import annotations

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import check_blob_shape, layer_error
from converters.caffe.reader import CaffeLayer


@register("Input", bottoms=0, tops=(1, None))
def input_layer(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe InputLayer: one shape per top (or one shape for all). The graph inputs are made
    by the converter from these tensors; here only their shapes are read."""
    shapes = [tuple(int(d) for d in shape.dim) for shape in layer.param.input_param.shape]
    if not shapes:
        raise layer_error(layer, "input_param.shape", "is missing: the converter needs the "
                                                      "input's shape")
    if len(shapes) == 1:
        shapes *= len(layer.tops)
    if len(shapes) != len(layer.tops):
        raise layer_error(layer, "input_param.shape", f"is given {len(shapes)} times for "
                          f"{len(layer.tops)} tops (Caffe: once, or once per top)")
    for shape in shapes:
        if not shape:
            raise layer_error(layer, "input_param.shape", "has no dim")
        check_blob_shape(layer, "input_param.shape", shape)
    return [Tensor(top, shape) for top, shape in zip(layer.tops, shapes, strict=True)]
