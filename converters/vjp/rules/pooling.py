"""Pooling: MaxPool, AveragePool, GlobalAveragePool (Caffe Pooling MAX / AVE)."""
from __future__ import annotations

import numpy as np

from converters.vjp.context import attributes
from converters.vjp.rules import register
from converters.vjp.rules.conv import Window, transpose_to_size, window_of


@register("MaxPool")
def max_pool(ctx, node, grads):
    """Caffe MAX pooling backward: each window's gradient goes to its first maximal input
    (scan order row, then column, which is how ONNX Runtime's MaxPool picks its Indices;
    tests check it) and overlapping windows add: ScatterElements with reduction add at
    opset >= 16, before that (no scatter-add) one mask per window cell, added back by a
    ConvTranspose."""
    g, x = grads[0], node.input[0]
    attrs = attributes(node)
    if len(node.output) > 1 and node.output[1] and not attrs.get("storage_order", 0):
        indices = node.output[1]
    else:
        attrs.pop("storage_order", None)
        indices = ctx.emit("MaxPool", [x], n_outputs=2, **attrs)[1]
    if ctx.opset < 16:
        return [_max_pool_by_window_cells(ctx, node, g, indices)]
    flat = ctx.ints([-1])
    scattered = ctx.emit("ScatterElements", [
        ctx.emit("Reshape", [ctx.zeros_like(x), flat]),
        ctx.emit("Reshape", [indices, flat]),
        ctx.emit("Reshape", [g, flat])], axis=0, reduction="add")
    return [ctx.reshape_like(scattered, x)]


def _window_cell_sources(window: Window, in_sizes: list[int],
                         out_sizes: list[int]) -> np.ndarray:
    """(kernel cells, *out_sizes): the flat index, within one (n, c) plane, of the input
    cell that each kernel cell of each window reads; -1 where it reads padding."""
    positions = np.meshgrid(*[np.arange(size) for size in out_sizes], indexing="ij")
    cells = list(np.ndindex(*window.kernel))
    sources = np.empty((len(cells), *out_sizes), dtype=np.int64)
    for index, cell in enumerate(cells):
        flat = np.zeros(out_sizes, dtype=np.int64)
        inside = np.ones(out_sizes, dtype=bool)
        for axis, size in enumerate(in_sizes):
            coordinate = (positions[axis] * window.strides[axis] - window.begins[axis]
                          + cell[axis] * window.dilations[axis])
            inside &= (coordinate >= 0) & (coordinate < size)
            flat = flat * size + coordinate
        sources[index] = np.where(inside, flat, -1)
    return sources


def _max_pool_by_window_cells(ctx, node, g: str, indices: str) -> str:
    """The window cell that holds each window's maximum (from Indices) gets the window's
    gradient: one channel per kernel cell, then a ConvTranspose with one-hot kernels puts
    every cell back at its input position, adding where windows overlap."""
    x, y = node.input[0], node.output[0]
    rank = ctx.rank(x)
    in_sizes = ctx.static_dims(x, range(2, rank))
    out_sizes = ctx.static_dims(y, range(2, rank))
    window = window_of(node, list(attributes(node)["kernel_shape"]), in_sizes)
    sources = _window_cell_sources(window, in_sizes, out_sizes)
    per_plane = ctx.emit("Mod", [indices, ctx.ints([int(np.prod(in_sizes))])])
    planes = ctx.ints([-1, 1] + out_sizes)
    held = ctx.emit("Equal", [ctx.emit("Reshape", [per_plane, planes]),
                              ctx.const(sources[None], dtype=np.int64)])
    routed = ctx.emit("Where", [held, ctx.emit("Reshape", [g, planes]), ctx.const(0, like=x)])
    cells = len(sources)
    one_hot = ctx.const(np.eye(cells).reshape([cells, 1] + window.kernel), like=x)
    spread = transpose_to_size(ctx, routed, one_hot, window, in_sizes, out_sizes)
    return ctx.reshape_like(spread, x)


def _cells_counted(out_size: int, kernel: int, stride: int, dilation: int,
                   begin: int, lo: int, hi: int) -> np.ndarray:
    """Per output position: window cells with input coordinate in [lo, hi)."""
    starts = np.arange(out_size) * stride - begin
    taps = starts[:, None] + np.arange(kernel)[None, :] * dilation
    return ((taps >= lo) & (taps < hi)).sum(axis=1)


@register("AveragePool")
def average_pool(ctx, node, grads):
    """AveragePool backward: g / divisor spread evenly over each window (ConvTranspose with
    a kernel of ones on every channel separately). The divisor counts the cells inside the
    input (count_include_pad=0) or inside the padded input (1), as the forward does; a
    converter's extra border correction is a separate Mul with its own rule."""
    g, x, y = grads[0], node.input[0], node.output[0]
    attrs = attributes(node)
    rank = ctx.rank(x)
    in_sizes = ctx.static_dims(x, range(2, rank))
    out_sizes = ctx.static_dims(y, range(2, rank))
    window = window_of(node, list(attrs["kernel_shape"]), in_sizes)
    divisor = np.ones(out_sizes)
    spatial = len(in_sizes)
    for axis, (size, out_size) in enumerate(zip(in_sizes, out_sizes, strict=True)):
        lo, hi = 0, size
        if attrs.get("count_include_pad", 0):
            lo, hi = -window.pads[axis], size + window.pads[spatial + axis]
        counts = _cells_counted(out_size, window.kernel[axis], window.strides[axis],
                                window.dilations[axis], window.begins[axis], lo, hi)
        divisor = divisor * counts.reshape([-1 if a == axis else 1 for a in range(spatial)])
    per_cell = ctx.emit("Div", [g, ctx.const(np.maximum(divisor, 1), like=x)])
    one_channel = ctx.emit("Reshape", [per_cell, ctx.ints([-1, 1] + out_sizes)])
    ones = ctx.const(np.ones([1, 1] + window.kernel), like=x)
    spread = transpose_to_size(ctx, one_channel, ones, window, in_sizes, out_sizes)
    return [ctx.reshape_like(spread, x)]


@register("GlobalAveragePool")
def global_average_pool(ctx, node, grads):
    """dx = g / (number of spatial cells), broadcast over the spatial axes."""
    g, x = grads[0], node.input[0]
    cells = int(np.prod(ctx.static_dims(x, range(2, ctx.rank(x)))))
    return [ctx.emit("Expand", [ctx.scale(g, 1.0 / cells, like=x), ctx.shape_of(x)])]
