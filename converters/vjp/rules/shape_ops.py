"""Data movement: Identity, Dropout, Cast, Reshape/Flatten/Squeeze/Unsqueeze, Transpose,
Expand, Concat, Split, Slice, Pad (Caffe Split, Flatten, Reshape, Concat, Slice, Crop,
test-time Dropout)."""
from __future__ import annotations

from converters.vjp.context import VJPError, attributes
from converters.vjp.rules import register

_INT64_MAX = 2 ** 63 - 1


def _no_grad_for_rest(node, grad_x):
    return [grad_x] + [None] * (len(node.input) - 1)


@register("Identity", "Dropout")
def identity(ctx, node, grads):
    """Identity; Dropout at inference (Caffe TEST phase) passes its input through."""
    return _no_grad_for_rest(node, grads[0])


@register("Cast")
def cast(ctx, node, grads):
    x = node.input[0]
    if ctx.np_dtype(x).kind != "f":
        return [None]
    return [ctx.emit("Cast", [grads[0]], to=ctx.elem_type(x))]


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
    parts = [g if g is not None else ctx.zeros_like(y) for g, y in zip(grads, node.output)]
    return _no_grad_for_rest(node, ctx.emit("Concat", parts, axis=axis))


def _int_list(ctx, node, index: int, what: str, default):
    if len(node.input) <= index or not node.input[index]:
        return default
    return [int(v) for v in ctx.required_constant(node.input[index], what).reshape(-1)]


@register("Slice")
def slice_(ctx, node, grads):
    """The gradient is zero-padded back to the input's size (step 1 slices only)."""
    x = node.input[0]
    rank = ctx.rank(x)
    starts = _int_list(ctx, node, 1, "Slice starts", None)
    ends = _int_list(ctx, node, 2, "Slice ends", None)
    axes = _int_list(ctx, node, 3, "Slice axes", list(range(len(starts))))
    steps = _int_list(ctx, node, 4, "Slice steps", [1] * len(starts))
    pads = [0] * (2 * rank)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step != 1:
            raise VJPError(f"node {node.name}: Slice gradient supports step 1 only, got {step}")
        axis %= rank
        size = ctx.static_dims(x, [axis])[0]
        begin, stop, _ = slice(start, end, step).indices(size)
        pads[axis], pads[rank + axis] = begin, size - max(stop, begin)
    return _no_grad_for_rest(node, ctx.emit("Pad", [grads[0], ctx.ints(pads)]))


@register("Pad")
def pad(ctx, node, grads):
    """Constant-mode Pad: the gradient is cut back (positive pads) or zero-padded back
    (negative pads, i.e. crops) to the input's extent."""
    mode = attributes(node).get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        raise VJPError(f"node {node.name}: Pad mode {mode} has no gradient rule")
    rank = ctx.rank(node.input[0])
    pads = _int_list(ctx, node, 1, "Pad pads", None)
    axes = [a % rank for a in _int_list(ctx, node, 3, "Pad axes", list(range(rank)))]
    begins, ends = [0] * rank, [0] * rank
    for axis, begin, end in zip(axes, pads[:len(axes)], pads[len(axes):]):
        begins[axis], ends[axis] = begin, end
    g = grads[0]
    if any(p < 0 for p in begins + ends):
        g = ctx.emit("Pad", [g, ctx.ints([max(-p, 0) for p in begins + ends])])
    cut_ends = [-p if p > 0 else _INT64_MAX for p in ends]
    g = ctx.emit("Slice", [g, ctx.ints([max(p, 0) for p in begins]), ctx.ints(cut_ends)])
    return _no_grad_for_rest(node, g)
