"""Reductions: ReduceMean (global pooling as classifiers export it), ReduceSum, ReduceMax and
ReduceMin."""
from __future__ import annotations

import numpy as np

from converters.vjp.context import GradContext, attributes
from converters.vjp.rules import register


def _reduced_axes(ctx: GradContext, node) -> list[int] | None:
    """The axes reduced over, non-negative and sorted; None when the node is an identity.

    Axes come from the `axes` attribute (ReduceMean < 18) or the optional second input
    (ReduceSum >= 13, ReduceMean >= 18, which must be a constant); none or an empty list
    means every axis, unless noop_with_empty_axes = 1 makes the node an identity.
    """
    attrs = attributes(node)
    rank = ctx.rank(node.input[0])
    if len(node.input) > 1 and node.input[1]:
        axes = ctx.required_constant_value(node.input[1], f"{node.op_type} axes").reshape(-1)
    else:
        axes = attrs.get("axes", [])
    if len(axes) == 0:
        return None if attrs.get("noop_with_empty_axes", 0) else list(range(rank))
    return sorted(int(a) % rank for a in axes)


def _spread(ctx: GradContext, node, grad: str, factor: float | None, axes: list[int]) -> str:
    """The output gradient (times `factor`) broadcast back over the reduced axes."""
    x = node.input[0]
    if factor is not None:
        grad = ctx.scale(grad, factor, like=x)
    if not attributes(node).get("keepdims", 1):
        grad = ctx.emit("Unsqueeze", [grad, ctx.ints(axes)])
    return ctx.emit("Expand", [grad, ctx.shape_of(x)])


@register("ReduceMean")
def reduce_mean(ctx, node, grads):
    """y = mean of x over the axes: dx = g / (number of cells reduced), on every cell."""
    axes = _reduced_axes(ctx, node)
    if axes is None:
        return [grads[0], None]
    cells = int(np.prod(ctx.static_dims(node.input[0], axes)))
    return [_spread(ctx, node, grads[0], 1.0 / cells, axes), None]


@register("ReduceSum")
def reduce_sum(ctx, node, grads):
    """y = sum of x over the axes: dx = g on every cell."""
    axes = _reduced_axes(ctx, node)
    if axes is None:
        return [grads[0], None]
    return [_spread(ctx, node, grads[0], None, axes), None]


@register("ReduceMax", "ReduceMin")
def reduce_extremum(ctx, node, grads):
    """y = max (min) of x over the axes: the cells holding the extremum share the gradient
    equally, dx = g * [x == y] / (number of such cells in their group). This is
    torch.amax/amin's rule (a tie of k cells gives each g / k); torch.max(x, dim) instead
    sends g to the one index it returns. Without ties, g goes to the arg-extremum."""
    axes = _reduced_axes(ctx, node)
    g, x, y = grads[0], node.input[0], node.output[0]
    if axes is None:
        return [g, None]
    if not attributes(node).get("keepdims", 1):
        g, y = (ctx.emit("Unsqueeze", [name, ctx.ints(axes)]) for name in (g, y))
    hit = ctx.emit("Cast", [ctx.emit("Equal", [x, y])], to=ctx.elem_type(x))
    share = ctx.emit("Div", [g, ctx.reduce_sum(hit, axes, keepdims=1)])
    return [ctx.emit("Mul", [hit, share]), None]
