"""BatchNormalization at inference (Caffe BatchNorm + Scale as the converter maps them)."""
from __future__ import annotations

from converters.vjp.context import VJPError, attributes
from converters.vjp.rules import register


@register("BatchNormalization")
def batch_normalization(ctx, node, grads):
    """y = scale * (x - mean) / sqrt(var + eps) + B with stored statistics:
    dx = g * scale / sqrt(var + eps); dscale = sum g * xhat; dB = sum g (sums over every
    axis but the channel axis 1, any rank >= 2). The statistics are usually constants; when
    they depend on a wrt input, dmean = -dB * scale / sqrt(var + eps) and
    dvar = -dscale * scale / (2 (var + eps))."""
    attrs = attributes(node)
    if attrs.get("training_mode", 0):
        raise VJPError(f"node {node.name}: BatchNormalization in training mode has no rule")
    g = grads[0]
    x, scale, _, mean, var = node.input[:5]
    rank = ctx.rank(x)
    per_channel = ctx.ints(range(1, rank - 1))

    def broadcastable(name: str) -> str:
        return ctx.emit("Unsqueeze", [name, per_channel]) if rank > 2 else name

    eps = ctx.const(attrs.get("epsilon", 1e-5), like=x)
    inv_std = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.emit("Add", [var, eps])])])
    scaled_inv_std = ctx.emit("Mul", [scale, inv_std])
    grad_x = ctx.emit("Mul", [g, broadcastable(scaled_inv_std)])
    x_hat = ctx.emit("Mul", [ctx.emit("Sub", [x, broadcastable(mean)]), broadcastable(inv_std)])
    reduce_axes = [0] + list(range(2, rank))
    grad_scale = ctx.reduce_sum(ctx.emit("Mul", [g, x_hat]), reduce_axes, keepdims=0)
    grad_bias = ctx.reduce_sum(g, reduce_axes, keepdims=0)
    grad_mean = ctx.emit("Neg", [ctx.emit("Mul", [grad_bias, scaled_inv_std])])
    grad_var = ctx.emit("Mul", [grad_scale, ctx.emit("Mul", [scaled_inv_std, inv_std])])
    return [grad_x, grad_scale, grad_bias, grad_mean, ctx.scale(grad_var, -0.5, like=x)]
