"""Pointwise nonlinearities (Caffe ReLU, Sigmoid, TanH, AbsVal, Exp, Power; Erf, Gelu,
Reciprocal of transformer exports) and Softmax."""
from __future__ import annotations

import math

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


@register("Reciprocal")
def reciprocal(ctx, node, grads):
    """y = 1 / x: dx = -g * y^2."""
    y = node.output[0]
    return [ctx.emit("Neg", [ctx.emit("Mul", [grads[0], ctx.emit("Mul", [y, y])])])]


@register("Erf")
def erf(ctx, node, grads):
    """dx = g * 2 / sqrt(pi) * exp(-x^2) (GELU as exporters decompose it: x/√2, Erf, ...)."""
    x = node.input[0]
    slope = ctx.scale(_exp_of_minus(ctx, x, 1.0), 2 / math.sqrt(math.pi), like=x)
    return [ctx.emit("Mul", [grads[0], slope])]


def _exp_of_minus(ctx, x: str, factor: float) -> str:
    """exp(-factor * x^2)."""
    return ctx.emit("Exp", [ctx.scale(ctx.emit("Mul", [x, x]), -factor, like=x)])


_TANH_CUBIC = 0.044715  # the tanh approximation's coefficient (ONNX Gelu, opset 20)


@register("Gelu")
def gelu(ctx, node, grads):
    """approximate = "none": y = x Φ(x), Φ(x) = (1 + erf(x / √2)) / 2, so
    dx = g * (Φ(x) + x φ(x)) with φ(x) = exp(-x²/2) / √(2π).
    approximate = "tanh": y = x (1 + t) / 2, t = tanh(u), u = √(2/π) (x + 0.044715 x³), so
    dx = g * ((1 + t) / 2 + x (1 - t²) √(2/π) (1 + 3 * 0.044715 x²) / 2)."""
    g, x = grads[0], node.input[0]
    approximate = attributes(node).get("approximate", b"none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    one, half = ctx.const(1, like=x), ctx.const(0.5, like=x)
    if approximate == "tanh":
        root = math.sqrt(2 / math.pi)
        square = ctx.emit("Mul", [x, x])
        cubic = ctx.emit("Add", [one, ctx.scale(square, _TANH_CUBIC, like=x)])
        t = ctx.emit("Tanh", [ctx.scale(ctx.emit("Mul", [x, cubic]), root, like=x)])
        cubic_slope = ctx.emit("Add", [one, ctx.scale(square, 3 * _TANH_CUBIC, like=x)])
        tanh_slope = ctx.emit("Sub", [one, ctx.emit("Mul", [t, t])])
        inner = ctx.scale(ctx.emit("Mul", [x, ctx.emit("Mul", [tanh_slope, cubic_slope])]),
                          root, like=x)
        slope = ctx.emit("Mul", [half, ctx.emit("Add", [ctx.emit("Add", [one, t]), inner])])
    else:
        cdf = ctx.emit("Mul", [half, ctx.emit("Add", [one, ctx.emit("Erf", [
            ctx.scale(x, 1 / math.sqrt(2), like=x)])])])
        pdf = ctx.scale(_exp_of_minus(ctx, x, 0.5), 1 / math.sqrt(2 * math.pi), like=x)
        slope = ctx.emit("Add", [cdf, ctx.emit("Mul", [x, pdf])])
    return [ctx.emit("Mul", [g, slope])]
