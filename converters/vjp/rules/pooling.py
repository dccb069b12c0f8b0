"""Pooling: MaxPool, AveragePool, GlobalAveragePool (Caffe Pooling MAX / AVE)."""
from __future__ import annotations

import numpy as np

from converters.vjp.context import VJPError, attributes
from converters.vjp.rules import register
from converters.vjp.rules.conv import transpose_to_size, window_of


@register("MaxPool")
def max_pool(ctx, node, grads):
    """Caffe MAX pooling backward: each window's gradient goes to its first maximal input
    (scan order row, then column, which is how ONNX Runtime's MaxPool picks its Indices;
    tests check it) and overlapping windows add (ScatterElements, reduction add)."""
    g, x = grads[0], node.input[0]
    if ctx.opset < 16:
        raise VJPError(f"node {node.name}: MaxPool gradient needs opset >= 16 "
                       f"(ScatterElements reduction), model has {ctx.opset}")
    attrs = attributes(node)
    if len(node.output) > 1 and node.output[1] and not attrs.get("storage_order", 0):
        indices = node.output[1]
    else:
        attrs.pop("storage_order", None)
        indices = ctx.emit("MaxPool", [x], n_outputs=2, **attrs)[1]
    flat = ctx.ints([-1])
    scattered = ctx.emit("ScatterElements", [
        ctx.emit("Reshape", [ctx.zeros_like(x), flat]),
        ctx.emit("Reshape", [indices, flat]),
        ctx.emit("Reshape", [g, flat])], axis=0, reduction="add")
    return [ctx.reshape_like(scattered, x)]


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
    window = window_of(node, list(attrs["kernel_shape"]))
    rank = ctx.rank(x)
    in_sizes = ctx.static_dims(x, range(2, rank))
    out_sizes = ctx.static_dims(y, range(2, rank))
    divisor = np.ones(out_sizes)
    spatial = len(in_sizes)
    for axis, (size, out_size) in enumerate(zip(in_sizes, out_sizes)):
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
