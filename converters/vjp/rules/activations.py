"""Pointwise nonlinearities (Caffe ReLU, Sigmoid, TanH, AbsVal, Exp, Power) and Softmax."""
from __future__ import annotations

from converters.vjp.context import attributes
from converters.vjp.rules import register


def _leaky(ctx, node, grads, negative_slope: float):
    """Caffe ReLU backward: slope 1 where x > 0, else negative_slope (x == 0 included)."""
    g, x = grads[0], node.input[0]
    zero = ctx.const(0, like=x)
    positive = ctx.emit("Greater", [x, zero])
    negative_side = ctx.scale(g, negative_slope, like=x) if negative_slope else zero
    return [ctx.emit("Where", [positive, g, negative_side])]


@register("Relu")
def relu(ctx, node, grads):
    return _leaky(ctx, node, grads, 0.0)


@register("LeakyRelu")
def leaky_relu(ctx, node, grads):
    return _leaky(ctx, node, grads, attributes(node).get("alpha", 0.01))


@register("Sigmoid")
def sigmoid(ctx, node, grads):
    """dx = g * y * (1 - y)."""
    g, y = grads[0], node.output[0]
    one_minus_y = ctx.emit("Sub", [ctx.const(1, like=y), y])
    return [ctx.emit("Mul", [g, ctx.emit("Mul", [y, one_minus_y])])]


@register("Tanh")
def tanh(ctx, node, grads):
    """dx = g * (1 - y^2)."""
    g, y = grads[0], node.output[0]
    return [ctx.emit("Mul", [g, ctx.emit("Sub", [ctx.const(1, like=y), ctx.emit("Mul", [y, y])])])]


@register("Abs")
def absolute(ctx, node, grads):
    """Caffe AbsVal backward: g * sign(x), sign(0) = 0."""
    return [ctx.emit("Mul", [grads[0], ctx.emit("Sign", [node.input[0]])])]


@register("Neg")
def negate(ctx, node, grads):
    return [ctx.emit("Neg", [grads[0]])]


@register("Exp")
def exponential(ctx, node, grads):
    """dx = g * y."""
    return [ctx.emit("Mul", [grads[0], node.output[0]])]


@register("Log")
def logarithm(ctx, node, grads):
    """dx = g / x."""
    return [ctx.emit("Div", [grads[0], node.input[0]])]


@register("Sqrt")
def square_root(ctx, node, grads):
    """dx = g / (2 y)."""
    y = node.output[0]
    return [ctx.emit("Div", [grads[0], ctx.scale(y, 2.0, like=y)])]


@register("Softmax")
def softmax(ctx, node, grads):
    """dx = y * (g - sum(g * y)) over the softmax axes (opset >= 13: one axis, default -1;
    older opsets: every axis from `axis`, default 1, on)."""
    g, y = grads[0], node.output[0]
    rank = ctx.rank(y)
    if ctx.opset >= 13:
        axes = [attributes(node).get("axis", -1) % rank]
    else:
        axes = list(range(attributes(node).get("axis", 1) % rank, rank))
    dot = ctx.reduce_sum(ctx.emit("Mul", [g, y]), axes, keepdims=1)
    return [ctx.emit("Mul", [y, ctx.emit("Sub", [g, dot])])]
