"""BatchNormalization at inference (Caffe BatchNorm + Scale as the converter maps them) and
LayerNormalization (ConvNeXt, ViT, Swin, MaxViT)."""
from __future__ import annotations

import numpy as np

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


@register("LayerNormalization")
def layer_normalization(ctx, node, grads):
    """Y = x̂ * Scale + B with x̂ = (x - μ) r, μ the mean and r = 1 / sqrt(σ² + epsilon) the
    inverse standard deviation over the axes from `axis` (negative counts from the end) to
    the last, n cells per group (opset 17; Scale and B broadcast against x's trailing axes):

        dx = r * (ĝ - mean(ĝ) - x̂ * mean(ĝ * x̂)),  ĝ = g * Scale;
        dScale = sum g * x̂ and dB = sum g over the axes they broadcast along.

    The optional outputs Mean (μ) and InvStdDev (r) add, when they get a gradient,
    dx += gμ / n and dx += gr * (-r³) * (x - μ) / n (d σ²/dx = 2 (x - μ) / n).
    μ and r are recomputed here in x's element type: stash_type (1, the default: float32
    statistics) only sets the forward's rounding, and the gradient is that of the exact
    function; a double model's float32 Mean/InvStdDev gradients are cast to double."""
    attrs = attributes(node)
    x, scale = node.input[:2]
    y_grad, mean_grad, inv_std_grad = (list(grads) + [None, None])[:3]
    rank = ctx.rank(x)
    axes = list(range(attrs.get("axis", -1) % rank, rank))
    count = int(np.prod(ctx.static_dims(x, axes)))

    def mean(value: str) -> str:
        return ctx.scale(ctx.reduce_sum(value, axes, keepdims=1), 1.0 / count, like=x)

    def in_x_type(grad: str, output: str) -> str:
        same = ctx.elem_type(output) == ctx.elem_type(x)
        return grad if same else ctx.emit("Cast", [grad], to=ctx.elem_type(x))

    centred = ctx.emit("Sub", [x, mean(x)])
    variance = mean(ctx.emit("Mul", [centred, centred]))
    inv_std = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [
        ctx.emit("Add", [variance, ctx.const(attrs.get("epsilon", 1e-5), like=x)])])])
    result: list[str | None] = [None] * len(node.input)
    terms = []
    if y_grad is not None:
        y = node.output[0]
        x_hat = ctx.emit("Mul", [centred, inv_std])
        scaled = ctx.emit("Mul", [y_grad, scale])
        inner = ctx.emit("Sub", [ctx.emit("Sub", [scaled, mean(scaled)]),
                                 ctx.emit("Mul", [x_hat, mean(ctx.emit("Mul", [scaled, x_hat]))])])
        terms.append(ctx.emit("Mul", [inner, inv_std]))
        result[1] = ctx.unbroadcast(ctx.emit("Mul", [y_grad, x_hat]), scale, y)
        if len(node.input) > 2 and node.input[2]:
            result[2] = ctx.unbroadcast(y_grad, node.input[2], y)
    if mean_grad is not None:
        terms.append(ctx.scale(in_x_type(mean_grad, node.output[1]), 1.0 / count, like=x))
    if inv_std_grad is not None:
        cubed = ctx.emit("Mul", [inv_std, ctx.emit("Mul", [inv_std, inv_std])])
        slope = ctx.emit("Mul", [in_x_type(inv_std_grad, node.output[2]), cubed])
        terms.append(ctx.scale(ctx.emit("Mul", [slope, centred]), -1.0 / count, like=x))
    total = terms[0] if len(terms) == 1 else ctx.emit("Sum", terms)
    result[0] = ctx.emit("Expand", [total, ctx.shape_of(x)]) if y_grad is None else total
    return result
