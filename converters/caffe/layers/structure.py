"""Layers that move values without arithmetic: Concat, Split, Slice, Crop, Reshape, Flatten.

Caffe's checks, made here with one error line:
- Concat: at least one bottom, one top; not both axis and concat_dim; the axis in range;
  bottoms of one rank and equal shapes except along the axis.
- Split: one bottom, at least one top, none of them the bottom (no in-place).
- Slice: one bottom, at least one top; not both axis and slice_dim; the axis in range;
  slice_point: one fewer than the tops, strictly increasing from above 0, at most as many
  tops as the axis is long; without slice_point the axis divides evenly by the tops.
  Stricter than Caffe: a slice point at or past the axis end (an empty or negative top).
- Crop: two bottoms, one top; axis in range; offset given 0, 1 or once per cropped axis;
  every offset + bottom[1]'s size within bottom[0]; bottom[1] with at least as many axes.
- Reshape: one bottom, one top, not in place; at most one -1; dims >= -1; axis in
  [-(rank + 1), rank]; num_axes >= -1 and axis + num_axes <= rank; a 0 only where the
  bottom has an axis to copy; the count divisible by the explicit dims and equal to the
  bottom's.
- Flatten: one bottom, one top, not in place; axis and end_axis in range, end_axis not
  before axis.
"""
from __future__ import annotations

import math

import numpy as np

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import caffe_int, canonical_axis, layer_error
from converters.caffe.reader import CaffeLayer


def _int64(values) -> np.ndarray:
    return np.array(list(values), dtype=np.int64)


def _slice(graph: CaffeGraph, layer: CaffeLayer, source: Tensor, starts: list[int],
           shape: tuple[int, ...], hint: str) -> Tensor:
    """ONNX Slice of `shape` starting at `starts` over every axis whose extent changes."""
    axes = [a for a, (size, full) in enumerate(zip(shape, source.shape, strict=True))
            if size != full or starts[a]]
    if not axes:
        return source
    if graph.dynamic_batch and 0 in axes:
        raise layer_error(layer, "axis", "cuts the batch axis, which --batch dynamic keeps")
    inputs = [source.name,
              graph.const(f"{hint}/starts", _int64(starts[a] for a in axes)),
              graph.const(f"{hint}/ends", _int64(starts[a] + shape[a] for a in axes)),
              graph.const(f"{hint}/axes", _int64(axes))]
    return graph.op("Slice", inputs, shape, hint)


def _axis_or_legacy(layer: CaffeLayer, param, legacy: str, rank: int) -> int:
    """ConcatLayer / SliceLayer: `axis` (may be negative) or the deprecated uint32 `legacy`
    field (concat_dim, slice_dim: 0 <= value < rank), not both."""
    field = f"{layer.type.lower()}_param"
    if param.HasField("axis") and param.HasField(legacy):
        raise layer_error(layer, f"{field}.{legacy}", "and axis are both given (Caffe: one "
                                                      "or the other)")
    if param.HasField(legacy):
        value = caffe_int(layer, f"{field}.{legacy}", getattr(param, legacy))
        if value >= rank:
            raise layer_error(layer, f"{field}.{legacy}", f"{value} out of range for the "
                                                          f"{rank}-D bottom")
        return value
    return canonical_axis(layer, f"{field}.axis", param.axis, rank)


@register("Concat", onnx_ops=("Concat",), bottoms=(1, None))
def concat(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ConcatLayer: bottoms joined along `axis` (or the deprecated concat_dim)."""
    param = layer.param.concat_param
    axis = _axis_or_legacy(layer, param, "concat_dim", len(bottoms[0].shape))
    for index, bottom in enumerate(bottoms[1:], start=1):
        if (len(bottom.shape) != len(bottoms[0].shape) or any(
                a != b for i, (a, b) in enumerate(zip(bottom.shape, bottoms[0].shape, strict=True))
                if i != axis)):
            raise layer_error(layer, f"bottom[{index}]", f"shape {bottom.shape} cannot be "
                              f"concatenated with {bottoms[0].shape} along axis {axis} "
                              "(Caffe: same rank, same shape except at the axis)")
    shape = list(bottoms[0].shape)
    shape[axis] = sum(bottom.shape[axis] for bottom in bottoms)
    if len(bottoms) == 1:
        return [bottoms[0]]
    return [graph.op("Concat", [b.name for b in bottoms], shape, layer.name, axis=axis)]


@register("Split", tops=(1, None), in_place=False)
def split(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe SplitLayer: every top is a copy of the bottom."""
    return [bottoms[0]] * len(layer.tops)


@register("Slice", onnx_ops=("Slice",), tops=(1, None))
def slice_layer(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe SliceLayer: the bottom cut along `axis` at `slice_point`s, or into equal parts
    (one per top) when none are given."""
    bottom, param = bottoms[0], layer.param.slice_param
    axis = _axis_or_legacy(layer, param, "slice_dim", len(bottom.shape))
    extent, count = bottom.shape[axis], len(layer.tops)
    if param.slice_point:
        points = [caffe_int(layer, "slice_param.slice_point", p) for p in param.slice_point]
        if len(points) != count - 1:
            raise layer_error(layer, "slice_param.slice_point", f"{points} gives {len(points)} "
                              f"points for {count} tops (Caffe: one fewer than the tops)")
        if count > extent:
            raise layer_error(layer, "top", f"count {count} exceeds the size {extent} of the "
                                            f"sliced axis {axis}")
        if any(b <= a for a, b in zip([0, *points], points)):
            raise layer_error(layer, "slice_param.slice_point", f"{points} must increase "
                                                                "strictly from above 0")
        if points[-1] >= extent:
            raise layer_error(layer, "slice_param.slice_point", f"{points} reaches past the "
                              f"sliced axis {axis} of size {extent} (an empty last top)")
    else:
        if extent % count:
            raise layer_error(layer, "top", f"count {count} does not divide the sliced axis "
                                            f"{axis} of size {extent} evenly")
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


@register("Crop", onnx_ops=("Slice",), bottoms=2)
def crop(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe CropLayer: bottom[0] cut to bottom[1]'s shape on axes >= `axis`, starting at
    `offset` (one value for all cropped axes, or one per axis; default 0)."""
    bottom, reference = bottoms
    param, rank = layer.param.crop_param, len(bottom.shape)
    axis = canonical_axis(layer, "crop_param.axis", param.axis, rank)
    cropped = rank - axis
    offsets = [caffe_int(layer, "crop_param.offset", offset) for offset in param.offset]
    if len(offsets) == 1:
        offsets *= cropped
    elif not offsets:
        offsets = [0] * cropped
    elif len(offsets) != cropped:
        raise layer_error(layer, "crop_param.offset", f"is given {len(offsets)} times for the "
                          f"{cropped} axes from axis {axis} on (Caffe: once, or once per axis)")
    if len(reference.shape) < rank:
        raise layer_error(layer, "bottom[1]", f"shape {reference.shape} has fewer axes than "
                                              f"bottom[0]'s {bottom.shape}")
    shape = tuple(list(bottom.shape[:axis]) + list(reference.shape[axis:rank]))
    starts = [0] * axis + offsets
    for index, (size, start, full) in enumerate(zip(shape, starts, bottom.shape, strict=True)):
        if start + size > full:
            raise layer_error(layer, "crop_param.offset", f"{start} with bottom[1]'s size "
                              f"{size} is out of bounds for axis {index} of size {full}")
    return [_slice(graph, layer, bottom, starts, shape, layer.name)]


def caffe_reshape_shape(layer: CaffeLayer, bottom_shape: tuple[int, ...],
                        prototxt_batch: int | None = None) -> tuple[int, ...]:
    """ReshapeLayer::Reshape: dims axis..axis+num_axes replaced by `shape`; 0 copies the
    bottom's dim at the same position, one -1 is inferred from the count. An explicit leading
    dim of a whole-shape reshape (axis 0) equal to the prototxt's batch (`prototxt_batch`;
    None: any) is taken as the batch: the bottom's dim 0, so --batch N reshapes N samples;
    any other leading dim is used as written, as Caffe does."""
    param = layer.param.reshape_param
    rank, dims_written = len(bottom_shape), [int(d) for d in param.shape.dim]
    if dims_written.count(-1) > 1:
        raise layer_error(layer, "reshape_param.shape", f"{dims_written} has more than one -1 "
                                                        "(Caffe: at most one is inferred)")
    if any(dim < -1 for dim in dims_written):
        raise layer_error(layer, "reshape_param.shape", f"{dims_written} has a dim below -1")
    start = param.axis if param.axis >= 0 else rank + 1 + param.axis
    if not 0 <= start <= rank:
        raise layer_error(layer, "reshape_param.axis", f"{param.axis} out of range for the "
                                                       f"{rank}-D bottom")
    if param.num_axes < -1:
        raise layer_error(layer, "reshape_param.num_axes", f"{param.num_axes} must be >= 0, "
                                                           "or -1 for all")
    end = rank if param.num_axes == -1 else start + param.num_axes
    if end > rank:
        raise layer_error(layer, "reshape_param.num_axes", f"{param.num_axes} from axis "
                          f"{start} extends past the {rank}-D bottom")
    dims = []
    for index, dim in enumerate(dims_written):
        if dim == 0 and start + index >= rank:
            raise layer_error(layer, "reshape_param.shape", f"{dims_written} has a 0 at "
                              f"position {index}, past the {rank}-D bottom's axes (nothing "
                              "to copy)")
        copies = dim == 0 or (start == 0 and index == 0 and dim > 0
                              and prototxt_batch in (None, dim))
        dims.append(bottom_shape[start + index] if copies else dim)
    shape = list(bottom_shape[:start]) + dims + list(bottom_shape[end:])
    count = math.prod(bottom_shape)
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        if count % known:
            raise layer_error(layer, "reshape_param.shape", f"{dims_written}: the bottom's "
                              f"count {count} is not divisible by the explicit dims' {known}")
        shape[shape.index(-1)] = count // known
    if math.prod(shape) != count:
        raise layer_error(layer, "reshape_param.shape", f"{dims_written} turns the bottom "
                          f"{bottom_shape} into {tuple(shape)}, a different count")
    return tuple(shape)


@register("Reshape", onnx_ops=("Reshape",), in_place=False)
def reshape(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ReshapeLayer (0 = copy, -1 = infer, axis, num_axes). An explicit leading dim of a
    whole-shape reshape equal to the prototxt's batch is the batch: it becomes the current
    batch size."""
    bottom = bottoms[0]
    shape = caffe_reshape_shape(layer, bottom.shape, graph.prototxt_batch)
    return [graph.reshape(bottom, shape, layer.name)]


@register("Flatten", onnx_ops=("Reshape",), in_place=False)
def flatten(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe FlattenLayer: axes axis..end_axis merged into one."""
    bottom, param = bottoms[0], layer.param.flatten_param
    start = canonical_axis(layer, "flatten_param.axis", param.axis, len(bottom.shape))
    end = canonical_axis(layer, "flatten_param.end_axis", param.end_axis, len(bottom.shape))
    if end < start:
        raise layer_error(layer, "flatten_param.end_axis", f"{param.end_axis} comes before "
                                                           f"axis {param.axis}")
    shape = (*bottom.shape[:start], math.prod(bottom.shape[start:end + 1]), *bottom.shape[end + 1:])
    return [graph.reshape(bottom, shape, layer.name)]
