"""Input: the net's input blobs (also what deprecated `input:` fields upgrade to)."""
from __future__ import annotations

from converters.caffe.files import CaffeError
from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.reader import CaffeLayer


@register("Input")
def input_layer(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe InputLayer: one shape per top (or one shape for all). The graph inputs are made
    by the converter from these tensors; here only their shapes are read."""
    shapes = [tuple(int(d) for d in shape.dim) for shape in layer.param.input_param.shape]
    if len(shapes) == 1:
        shapes *= len(layer.tops)
    if len(shapes) != len(layer.tops):
        raise CaffeError(f"layer {layer.name}: {len(layer.tops)} tops but {len(shapes)} shapes")
    if any(not shape or min(shape) <= 0 for shape in shapes):
        raise CaffeError(f"layer {layer.name}: input shapes {shapes} must be positive")
    return [Tensor(top, shape) for top, shape in zip(layer.tops, shapes)]
