"""Data movement: Identity, Dropout, Cast, Reshape/Flatten/Squeeze/Unsqueeze, Transpose,
Expand, Concat, Split, Slice, Pad (Caffe Split, Flatten, Reshape, Concat, Slice, Crop,
test-time Dropout)."""
from __future__ import annotations

import numpy as np

from converters.vjp.context import GradContext, VJPError, attributes
from converters.vjp.rules import register

_INT64_MAX = 2 ** 63 - 1


def _no_grad_for_rest(node, grad_x):
    return [grad_x] + [None] * (len(node.input) - 1)


def apply_along_axis(ctx: GradContext, value: str, matrix: np.ndarray, axis: int,
                     like: str) -> str:
    """out[..., j, ...] = sum over i of value[..., i, ...] * matrix[i, j] on `axis` (one
    MatMul, the axis swapped to the end and back); `matrix` is typed like tensor `like`.
    The adjoint of any op that maps each line along one axis by a fixed matrix."""
    rank = ctx.rank(like)
    if axis == rank - 1:
        return ctx.emit("MatMul", [value, ctx.const(matrix, like=like)])
    swap = list(range(rank))
    swap[axis], swap[-1] = rank - 1, axis
    moved = ctx.emit("Transpose", [value], perm=swap)
    product = ctx.emit("MatMul", [moved, ctx.const(matrix, like=like)])
    return ctx.emit("Transpose", [product], perm=swap)


def one_hot_rows(sources: np.ndarray, size: int) -> np.ndarray:
    """matrix[j, sources[j]] = 1: output cell j copies input cell sources[j]."""
    matrix = np.zeros((len(sources), size))
    matrix[np.arange(len(sources)), sources] = 1.0
    return matrix


@register("Identity")
def identity(ctx, node, grads):
    return [grads[0]]


@register("Dropout")
def dropout(ctx, node, grads):
    """Dropout at inference (Caffe TEST phase; opset >= 12 unless the training_mode input is
    true) passes its input through; the mask output has no gradient."""
    if len(node.input) > 2 and node.input[2]:
        training = ctx.required_constant_value(node.input[2], "Dropout training_mode")
        if bool(np.asarray(training).reshape(-1)[0]):
            raise VJPError(f"node {node.name}: Dropout in training mode has no gradient rule")
    return _no_grad_for_rest(node, grads[0])


@register("Cast", "CastLike")
def cast(ctx, node, grads):
    """The gradient cast back to the input's type (none for an integer input); CastLike's
    second input only gives the type."""
    x = node.input[0]
    if ctx.np_dtype(x).kind != "f":
        return _no_grad_for_rest(node, None)
    return _no_grad_for_rest(node, ctx.emit("Cast", [grads[0]], to=ctx.elem_type(x)))


@register("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def reshape(ctx, node, grads):
    """Same elements, another shape: reshape the gradient back to the input's shape."""
    return _no_grad_for_rest(node, ctx.reshape_like(grads[0], node.input[0]))


@register("Transpose")
def transpose(ctx, node, grads):
    rank = ctx.rank(node.input[0])
    perm = attributes(node).get("perm", list(reversed(range(rank))))
    inverse = [perm.index(axis) for axis in range(rank)]
    return [ctx.emit("Transpose", [grads[0]], perm=inverse)]


@register("Expand")
def expand(ctx, node, grads):
    return [ctx.unbroadcast(grads[0], node.input[0], node.output[0]), None]


@register("Concat")
def concat(ctx, node, grads):
    """Each input gets its own slab of the gradient along the concatenation axis."""
    if len(node.input) == 1:
        return [grads[0]]
    axis = attributes(node)["axis"] % ctx.rank(node.output[0])
    sizes = [ctx.shape(x)[axis] for x in node.input]
    if None in sizes:
        split = ctx.emit("Concat", [ctx.dim(x, axis) for x in node.input], axis=0)
    else:
        split = ctx.ints(sizes)
    return ctx.emit("Split", [grads[0], split], n_outputs=len(node.input), axis=axis)


@register("Split")
def split(ctx, node, grads):
    """The input's gradient is the outputs' gradients concatenated (zeros where none)."""
    axis = attributes(node).get("axis", 0)
    parts = [g if g is not None else ctx.zeros_like(y) for g, y in zip(grads, node.output, strict=True)]
    return _no_grad_for_rest(node, ctx.emit("Concat", parts, axis=axis))


def _int_list(ctx, node, index: int, what: str, default):
    if len(node.input) <= index or not node.input[index]:
        return default
    return [int(v) for v in ctx.required_constant_value(node.input[index], what).reshape(-1)]


@register("Slice")
def slice_(ctx, node, grads):
    """The slice's adjoint: each cell read gets its gradient back, the others zero. ONNX
    slice semantics (Python's: negative starts/ends count from the end, out-of-range ones
    clamp, axes may be negative). Step-1 axes: one zero Pad; other steps (negative ones
    included): a one-hot matrix along the axis."""
    x = node.input[0]
    rank = ctx.rank(x)
    starts = _int_list(ctx, node, 1, "Slice starts", None)
    ends = _int_list(ctx, node, 2, "Slice ends", None)
    axes = _int_list(ctx, node, 3, "Slice axes", list(range(len(starts))))
    steps = _int_list(ctx, node, 4, "Slice steps", [1] * len(starts))
    g = grads[0]
    pads = [0] * (2 * rank)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis %= rank
        size = ctx.static_dims(x, [axis])[0]
        begin, stop, _ = slice(start, end, step).indices(size)
        if step == 1:
            pads[axis], pads[rank + axis] = begin, size - max(stop, begin)
        else:
            read = np.arange(begin, stop, step, dtype=np.int64)
            g = apply_along_axis(ctx, g, one_hot_rows(read, size), axis, like=x)
    if any(pads):
        g = ctx.emit("Pad", [g, ctx.ints(pads)])
    return _no_grad_for_rest(node, g)


def _padded_sources(mode: str, size: int, begin: int, end: int) -> np.ndarray:
    """For each cell of a padded axis, the input cell it copies (edge, reflect, wrap)."""
    position = np.arange(-begin, size + end)
    if mode == "edge":
        return np.clip(position, 0, size - 1)
    if mode == "wrap":
        return position % size
    period = 2 * (size - 1)                                    # reflect, edge not repeated
    folded = np.abs(position) % period if period else np.zeros_like(position)
    return np.where(folded < size, folded, period - folded)


@register("Pad")
def pad(ctx, node, grads):
    """Constant mode: the gradient is cut back (positive pads) or zero-padded back (negative
    pads, i.e. crops) to the input's extent. Edge, reflect and wrap (opset 19) modes copy
    input cells into the border, so along each padded axis the gradient goes through the
    one-hot matrix of which cell each output cell copies (border gradients add onto the
    cells they copied). Pads come from the `pads` input, over `axes` (opset 18) or all."""
    mode = attributes(node).get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    x = node.input[0]
    rank = ctx.rank(x)
    pads = _int_list(ctx, node, 1, "Pad pads", None)
    axes = [a % rank for a in _int_list(ctx, node, 3, "Pad axes", list(range(rank)))]
    begins, ends = [0] * rank, [0] * rank
    for axis, begin, end in zip(axes, pads[:len(axes)], pads[len(axes):], strict=True):
        begins[axis], ends[axis] = begin, end
    g = grads[0]
    if mode == "constant":
        if any(p < 0 for p in begins + ends):
            g = ctx.emit("Pad", [g, ctx.ints([max(-p, 0) for p in begins + ends])])
        cut_ends = [-p if p > 0 else _INT64_MAX for p in ends]
        g = ctx.emit("Slice", [g, ctx.ints([max(p, 0) for p in begins]), ctx.ints(cut_ends)])
        return _no_grad_for_rest(node, g)
    if mode not in ("edge", "reflect", "wrap"):
        raise VJPError(f"node {node.name}: Pad mode {mode} has no gradient rule")
    for axis in range(rank):
        if begins[axis] == 0 and ends[axis] == 0:
            continue
        size = ctx.static_dims(x, [axis])[0]
        limit = size - 1 if mode == "reflect" else size
        if min(begins[axis], ends[axis]) < 0 or max(begins[axis], ends[axis]) > limit:
            raise VJPError(f"node {node.name}: Pad mode {mode} gradient needs pads in "
                           f"[0, {limit}] on axis {axis} (size {size}), got "
                           f"{begins[axis]}, {ends[axis]}")
        sources = _padded_sources(mode, size, begins[axis], ends[axis])
        g = apply_along_axis(ctx, g, one_hot_rows(sources, size), axis, like=x)
    return _no_grad_for_rest(node, g)
