"""LRN (Caffe LRN, ACROSS_CHANNELS)."""
from __future__ import annotations

import numpy as np

from converters.vjp.context import attributes
from converters.vjp.rules import register


def _channel_window_sum(ctx, value: str, x: str, size: int, before: int, after: int) -> str:
    """sum of `value` over channels [c - before, c + after] (zero outside), per position:
    a Conv with a column of ones on the tensor viewed as (N, 1, C, H*W)."""
    channels, *spatial = ctx.static_dims(x, range(1, ctx.rank(x)))
    columns = ctx.emit("Reshape", [value, ctx.ints([-1, 1, channels, int(np.prod(spatial))])])
    ones = ctx.const(np.ones((1, 1, size, 1)), like=x)
    summed = ctx.emit("Conv", [columns, ones], pads=[before, 0, after, 0])
    return ctx.reshape_like(summed, x)


@register("LRN")
def lrn(ctx, node, grads):
    """y = x * s^-beta with s = bias + alpha/n * sum over the centred channel window of x^2
    (n channels: floor((n-1)/2) before, ceil((n-1)/2) after, zero outside), as Caffe's LRN;
    dx = g * s^-beta - (2 alpha beta / n) * x * sum over the transposed window of g*y/s."""
    g, x, y = grads[0], node.input[0], node.output[0]
    attrs = attributes(node)
    size = attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    before, after = (size - 1) // 2, size // 2
    square_sum = _channel_window_sum(ctx, ctx.emit("Mul", [x, x]), x, size, before, after)
    scale = ctx.emit("Add", [ctx.scale(square_sum, alpha / size, like=x), ctx.const(bias, like=x)])
    direct = ctx.emit("Mul", [g, ctx.emit("Pow", [scale, ctx.const(-beta, like=x)])])
    g_y_over_s = ctx.emit("Div", [ctx.emit("Mul", [g, y]), scale])
    spread = _channel_window_sum(ctx, g_y_over_s, x, size, after, before)
    cross = ctx.scale(ctx.emit("Mul", [x, spread]), 2 * alpha * beta / size, like=x)
    return [ctx.emit("Sub", [direct, cross])]
