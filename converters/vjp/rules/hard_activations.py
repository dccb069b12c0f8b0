"""Piecewise-linear activations of modern classifiers: Clip (ReLU6), HardSigmoid, HardSwish.

Caffe has none of them; at a kink the gradient takes the flat side, as Caffe's ReLU does at
exactly 0 and as PyTorch's ReLU6/hardtanh/hardsigmoid backward do (strict inequalities).
Masks are multiplied in, so a NaN in the incoming gradient propagates.
"""
from __future__ import annotations

from converters.vjp.context import GradContext, attributes
from converters.vjp.rules import register


def _mask(ctx: GradContext, condition: str, like: str) -> str:
    """A boolean tensor as 0/1 of `like`'s element type."""
    return ctx.emit("Cast", [condition], to=ctx.elem_type(like))


def _optional_input(node, index: int) -> str | None:
    return node.input[index] if len(node.input) > index and node.input[index] else None


@register("Clip")
def clip(ctx, node, grads):
    """y = min(max(x, lo), hi), lo and hi optional scalar inputs (opset >= 11).

    dx = g where lo < x < hi, else 0 (x at a bound gets none). The bounds' gradients follow
    y = Min(Max(x, lo), hi) with ties to the bound: dlo = sum g where x <= lo < hi,
    dhi = sum g over the rest (x >= hi, or every cell when lo >= hi, where y = hi).
    """
    g, x, y = grads[0], node.input[0], node.output[0]
    lo, hi = _optional_input(node, 1), _optional_input(node, 2)
    if lo is None and hi is None:
        return [g]
    above_lo = ctx.emit("Greater", [x, lo]) if lo is not None else None
    below_hi = ctx.emit("Less", [x, hi]) if hi is not None else None
    if above_lo is not None and below_hi is not None:
        inside = ctx.emit("And", [above_lo, below_hi])
    else:
        inside = above_lo if above_lo is not None else below_hi
    result: list[str | None] = [ctx.emit("Mul", [g, _mask(ctx, inside, x)]), None, None]
    to_lo = None
    if lo is not None:
        to_lo = ctx.emit("Not", [above_lo])
        if hi is not None:
            to_lo = ctx.emit("And", [to_lo, ctx.emit("Less", [lo, hi])])
        result[1] = ctx.unbroadcast(ctx.emit("Mul", [g, _mask(ctx, to_lo, x)]), lo, y)
    if hi is not None:
        to_hi = ctx.emit("Not", [inside])
        if to_lo is not None:
            to_hi = ctx.emit("And", [to_hi, ctx.emit("Not", [to_lo])])
        result[2] = ctx.unbroadcast(ctx.emit("Mul", [g, _mask(ctx, to_hi, x)]), hi, y)
    return result[:len(node.input)]


def _hard_sigmoid_parts(ctx, x: str, alpha: float, beta: float) -> tuple[str, str]:
    """t = alpha * x + beta and the 0/1 mask of 0 < t < 1 (where the output is not flat)."""
    t = ctx.emit("Add", [ctx.scale(x, alpha, like=x), ctx.const(beta, like=x)])
    inside = ctx.emit("And", [ctx.emit("Greater", [t, ctx.const(0, like=x)]),
                              ctx.emit("Less", [t, ctx.const(1, like=x)])])
    return t, _mask(ctx, inside, x)


@register("HardSigmoid")
def hard_sigmoid(ctx, node, grads):
    """y = max(0, min(1, alpha * x + beta)) (defaults 0.2, 0.5): dx = g * alpha where
    0 < alpha * x + beta < 1, else 0."""
    attrs = attributes(node)
    alpha = attrs.get("alpha", 0.2)
    _, inside = _hard_sigmoid_parts(ctx, node.input[0], alpha, attrs.get("beta", 0.5))
    return [ctx.emit("Mul", [grads[0], ctx.scale(inside, alpha, like=node.input[0])])]


@register("HardSwish")
def hard_swish(ctx, node, grads):
    """y = x * max(0, min(1, x / 6 + 1/2)) (opset 14): dx = g * (h + x / 6 * inside), h the
    hard sigmoid, inside = (-3 < x < 3); at the kinks the outer side: dx = 0 at x = -3 and
    dx = g at x = 3."""
    x = node.input[0]
    t, inside = _hard_sigmoid_parts(ctx, x, 1.0 / 6.0, 0.5)
    h = ctx.emit("Clip", [t, ctx.const(0, like=x), ctx.const(1, like=x)])
    slope = ctx.emit("Add", [h, ctx.emit("Mul", [ctx.scale(x, 1.0 / 6.0, like=x), inside])])
    return [ctx.emit("Mul", [grads[0], slope])]
