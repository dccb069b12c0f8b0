"""Pointwise nonlinearities (Caffe ReLU, Sigmoid, TanH, AbsVal, Exp, Power) and Softmax."""
from __future__ import annotations

from converters.vjp.context import attributes
from converters.vjp.rules import register


def _leaky(ctx, node, grads, negative_slope: float):
    """Caffe ReLU backward, a product: dx = g * ((x > 0) + negative_slope * (x <= 0)), so
    x == 0 takes the negative side (and a NaN in g propagates, as in Caffe). The factor is
    max(x > 0, slope) for 0 <= slope <= 1 (exact, and cheaper than Where at run time)."""
    g, x = grads[0], node.input[0]
    positive = ctx.emit("Greater", [x, ctx.const(0, like=x)])
    factor = ctx.emit("Cast", [positive], to=ctx.elem_type(x))
    if 0 < negative_slope <= 1:
        factor = ctx.emit("Max", [factor, ctx.const(negative_slope, like=x)])
    elif negative_slope != 0:
        factor = ctx.emit("Where", [positive, ctx.const(1, like=x),
                                    ctx.const(negative_slope, like=x)])
    return [ctx.emit("Mul", [g, factor])]


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
    """dx = y * (g - sum(g * y)) along the softmax axis (opset >= 13, which build_vjp
    requires: one axis, default -1)."""
    g, y = grads[0], node.output[0]
    axes = [attributes(node).get("axis", -1) % ctx.rank(y)]
    dot = ctx.reduce_sum(ctx.emit("Mul", [g, y]), axes, keepdims=1)
    return [ctx.emit("Mul", [y, ctx.emit("Sub", [g, dot])])]
