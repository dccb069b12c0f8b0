"""Broadcasting arithmetic: Add, Sum, Sub, Mul, Div, Pow, Max, Min (Caffe Eltwise, Power) and
the broadcasting select Where."""
from __future__ import annotations

from converters.vjp.rules import register


@register("Add", "Sum")
def add(ctx, node, grads):
    """d(a + b + ...)/d each input = 1, summed back over broadcast axes."""
    g, y = grads[0], node.output[0]
    return [ctx.unbroadcast(g, x, y) for x in node.input]


@register("Sub")
def sub(ctx, node, grads):
    g, y = grads[0], node.output[0]
    a, b = node.input
    return [ctx.unbroadcast(g, a, y), ctx.unbroadcast(ctx.emit("Neg", [g]), b, y)]


@register("Mul")
def mul(ctx, node, grads):
    g, y = grads[0], node.output[0]
    a, b = node.input
    return [ctx.unbroadcast(ctx.emit("Mul", [g, b]), a, y),
            ctx.unbroadcast(ctx.emit("Mul", [g, a]), b, y)]


@register("Div")
def div(ctx, node, grads):
    """y = a / b: da = g / b, db = -(g / b) * y."""
    g, y = grads[0], node.output[0]
    a, b = node.input
    g_over_b = ctx.emit("Div", [g, b])
    return [ctx.unbroadcast(g_over_b, a, y),
            ctx.unbroadcast(ctx.emit("Neg", [ctx.emit("Mul", [g_over_b, y])]), b, y)]


@register("Pow")
def power(ctx, node, grads):
    """y = a ** b: da = g * b * a ** (b - 1), db = g * y * ln(a) (Caffe Power layer's base)."""
    g, y = grads[0], node.output[0]
    a, b = node.input
    same_type = ctx.elem_type(b) == ctx.elem_type(a)
    b_as_a = b if same_type else ctx.emit("Cast", [b], to=ctx.elem_type(a))
    b_minus_1 = ctx.emit("Sub", [b_as_a, ctx.const(1, like=a)])
    slope = ctx.emit("Mul", [b_as_a, ctx.emit("Pow", [a, b_minus_1])])
    grad_a = ctx.unbroadcast(ctx.emit("Mul", [g, slope]), a, y)
    if ctx.np_dtype(b).kind != "f":
        return [grad_a, None]
    grad_b = ctx.emit("Mul", [g, ctx.emit("Mul", [y, ctx.emit("Log", [a])])])
    return [grad_a, ctx.unbroadcast(grad_b, b, y)]


@register("Max", "Min")
def extremum(ctx, node, grads):
    """The gradient goes to one input holding the extremum, as Caffe's Eltwise MAX mask does.

    Caffe compares bottom 0 with bottom 1 by `a > b`, so a tie between them goes to bottom
    1, and later bottoms win only when strictly greater: tie preference is 1, 0, 2, 3, ...
    (the same order is used for Min, which Caffe lacks).
    """
    g, y = grads[0], node.output[0]
    order = list(range(len(node.input)))
    if len(order) > 1:
        order[0], order[1] = 1, 0
    zero = ctx.const(0, like=y)
    result: list[str | None] = [None] * len(order)
    taken = None
    for index in order:
        x = node.input[index]
        hit = ctx.emit("Equal", [x, y])
        mine = hit if taken is None else ctx.emit("And", [hit, ctx.emit("Not", [taken])])
        taken = hit if taken is None else ctx.emit("Or", [taken, hit])
        result[index] = ctx.unbroadcast(ctx.emit("Where", [mine, g, zero]), x, y)
    return result


@register("Where")
def where(ctx, node, grads):
    """y = a where cond else b (the three broadcast): da = g where cond (0 elsewhere),
    db = g where not cond, each summed back over its broadcast axes; the boolean cond gets
    none. A NaN or inf in the branch not taken does not reach the gradient."""
    g, y = grads[0], node.output[0]
    cond, a, b = node.input
    zero = ctx.const(0, like=y)
    return [None, ctx.unbroadcast(ctx.emit("Where", [cond, g, zero]), a, y),
            ctx.unbroadcast(ctx.emit("Where", [cond, zero, g]), b, y)]
