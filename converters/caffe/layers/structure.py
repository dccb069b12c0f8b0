"""Layers that move values without arithmetic: Concat, Split, Slice, Crop, Reshape, Flatten."""
from __future__ import annotations

import math

import numpy as np

from converters.caffe.files import CaffeError
from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import canonical_axis
from converters.caffe.reader import CaffeLayer


def _int64(values) -> np.ndarray:
    return np.array(list(values), dtype=np.int64)


def _slice(graph: GraphBuilder, layer: CaffeLayer, source: Tensor, starts: list[int],
           shape: tuple[int, ...], hint: str) -> Tensor:
    """ONNX Slice of `shape` starting at `starts` over every axis whose extent changes."""
    axes = [a for a, (size, full) in enumerate(zip(shape, source.shape))
            if size != full or starts[a]]
    if not axes:
        return source
    if graph.dynamic_batch and 0 in axes:
        raise CaffeError(f"layer {layer.name}: cuts the batch axis, which --batch dynamic keeps")
    inputs = [source.name,
              graph.constant(f"{hint}/starts", _int64(starts[a] for a in axes)),
              graph.constant(f"{hint}/ends", _int64(starts[a] + shape[a] for a in axes)),
              graph.constant(f"{hint}/axes", _int64(axes))]
    return graph.op("Slice", inputs, shape, hint)


@register("Concat", onnx_ops=("Concat",))
def concat(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ConcatLayer: bottoms joined along `axis` (or the deprecated concat_dim)."""
    param = layer.param.concat_param
    axis = param.axis if param.HasField("axis") or not param.HasField("concat_dim") \
        else param.concat_dim
    axis = canonical_axis(layer, axis, len(bottoms[0].shape))
    for bottom in bottoms[1:]:
        if (len(bottom.shape) != len(bottoms[0].shape) or any(
                a != b for i, (a, b) in enumerate(zip(bottom.shape, bottoms[0].shape))
                if i != axis)):
            raise CaffeError(f"layer {layer.name}: cannot concatenate shapes "
                             f"{bottoms[0].shape} and {bottom.shape} along axis {axis}")
    shape = list(bottoms[0].shape)
    shape[axis] = sum(bottom.shape[axis] for bottom in bottoms)
    if len(bottoms) == 1:
        return [bottoms[0]]
    return [graph.op("Concat", [b.name for b in bottoms], shape, layer.name, axis=axis)]


@register("Split")
def split(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe SplitLayer: every top is a copy of the bottom."""
    return [bottoms[0]] * len(layer.tops)


@register("Slice", onnx_ops=("Slice",))
def slice_layer(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe SliceLayer: the bottom cut along `axis` at `slice_point`s, or into equal parts
    (one per top) when none are given."""
    bottom, param = bottoms[0], layer.param.slice_param
    axis = param.axis if param.HasField("axis") or not param.HasField("slice_dim") \
        else param.slice_dim
    axis = canonical_axis(layer, axis, len(bottom.shape))
    extent, count = bottom.shape[axis], len(layer.tops)
    if param.slice_point:
        points = list(param.slice_point)
        if len(points) != count - 1 or points != sorted(points) or points[-1] >= extent:
            raise CaffeError(f"layer {layer.name}: slice_point {points} does not cut axis "
                             f"{axis} of size {extent} into {count} parts")
    else:
        if extent % count:
            raise CaffeError(f"layer {layer.name}: axis {axis} of size {extent} does not split "
                             f"evenly into {count} tops")
        points = [extent // count * i for i in range(1, count)]
    bounds = [0, *points, extent]
    tops = []
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        shape = list(bottom.shape)
        shape[axis] = stop - start
        starts = [0] * len(shape)
        starts[axis] = start
        tops.append(_slice(graph, layer, bottom, starts, tuple(shape),
                           f"{layer.name}/{layer.tops[index]}"))
    return tops


@register("Crop", onnx_ops=("Slice",))
def crop(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe CropLayer: bottom[0] cut to bottom[1]'s shape on axes >= `axis`, starting at
    `offset` (one value for all cropped axes, or one per axis; default 0)."""
    bottom, reference = bottoms
    param = layer.param.crop_param
    axis = canonical_axis(layer, param.axis, len(bottom.shape))
    cropped = len(bottom.shape) - axis
    offsets = list(param.offset)
    if len(offsets) == 1:
        offsets *= cropped
    elif not offsets:
        offsets = [0] * cropped
    elif len(offsets) != cropped:
        raise CaffeError(f"layer {layer.name}: {len(offsets)} offsets for {cropped} cropped axes")
    shape = tuple(list(bottom.shape[:axis]) + list(reference.shape[axis:]))
    starts = [0] * axis + offsets
    for size, start, full in zip(shape, starts, bottom.shape):
        if start + size > full:
            raise CaffeError(f"layer {layer.name}: crop of {shape} at offsets {starts} does "
                             f"not fit the bottom {bottom.shape}")
    return [_slice(graph, layer, bottom, starts, shape, layer.name)]


def caffe_reshape_shape(layer: CaffeLayer, bottom_shape: tuple[int, ...]) -> tuple[int, ...]:
    """ReshapeLayer::Reshape: dims axis..axis+num_axes replaced by `shape`; 0 copies the
    bottom's dim at the same position, one -1 is inferred from the count. An explicit leading
    dim of a whole-shape reshape (axis 0) is taken as the batch: the bottom's dim 0."""
    param = layer.param.reshape_param
    rank = len(bottom_shape)
    start = param.axis if param.axis >= 0 else rank + 1 + param.axis
    if not 0 <= start <= rank:
        raise CaffeError(f"layer {layer.name}: reshape axis {param.axis} out of range")
    end = rank if param.num_axes == -1 else start + param.num_axes
    if end > rank:
        raise CaffeError(f"layer {layer.name}: reshape axis+num_axes exceeds the bottom rank")
    dims = []
    for index, dim in enumerate(param.shape.dim):
        copies = dim == 0 or (start == 0 and index == 0 and dim > 0)
        dims.append(bottom_shape[start + index] if copies else int(dim))
    shape = list(bottom_shape[:start]) + dims + list(bottom_shape[end:])
    if shape.count(-1) > 1:
        raise CaffeError(f"layer {layer.name}: reshape has more than one -1")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        shape[shape.index(-1)] = math.prod(bottom_shape) // known if known else 0
    if math.prod(shape) != math.prod(bottom_shape):
        raise CaffeError(f"layer {layer.name}: cannot reshape {bottom_shape} to {tuple(shape)}")
    return tuple(shape)


@register("Reshape", onnx_ops=("Reshape",))
def reshape(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ReshapeLayer (0 = copy, -1 = infer, axis, num_axes). An explicit leading dim of a
    whole-shape reshape is the batch: it becomes the current batch size."""
    bottom = bottoms[0]
    return [graph.reshape(bottom, caffe_reshape_shape(layer, bottom.shape), layer.name)]


@register("Flatten", onnx_ops=("Reshape",))
def flatten(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe FlattenLayer: axes axis..end_axis merged into one."""
    bottom, param = bottoms[0], layer.param.flatten_param
    start = canonical_axis(layer, param.axis, len(bottom.shape))
    end = canonical_axis(layer, param.end_axis, len(bottom.shape))
    shape = (*bottom.shape[:start], math.prod(bottom.shape[start:end + 1]), *bottom.shape[end + 1:])
    return [graph.reshape(bottom, shape, layer.name)]
