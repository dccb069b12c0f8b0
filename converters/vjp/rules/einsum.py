"""Einsum: attention's products ("bhid,bhjd->bhij", "bhij,bhjd->bhid") and MaxViT's and
Swin's relative-attention terms, in explicit or implicit form, with ellipsis."""
from __future__ import annotations

from collections import Counter

from converters.vjp.context import GradContext, VJPError, attributes
from converters.vjp.rules import register

ELLIPSIS = "..."
Subscripts = list[str]  # one token per axis label; ELLIPSIS stands for the broadcast axes


def _tokens(text: str) -> Subscripts:
    head, dots, tail = text.partition(ELLIPSIS)
    return [*head, *([ELLIPSIS] if dots else []), *tail]


def parse_equation(equation: str) -> tuple[list[Subscripts], Subscripts]:
    """Each operand's subscripts and the output's; implicit mode (no "->") gives the output
    the ellipsis (if any operand has one) then the labels used once, sorted (ONNX, NumPy)."""
    left, arrow, right = equation.replace(" ", "").partition("->")
    operands = [_tokens(term) for term in left.split(",")]
    if arrow:
        return operands, _tokens(right)
    counts = Counter(label for term in operands for label in term if label != ELLIPSIS)
    dots = [ELLIPSIS] if any(ELLIPSIS in term for term in operands) else []
    return operands, dots + sorted(label for label, n in counts.items() if n == 1)


def _text(subscripts: Subscripts) -> str:
    return "".join(subscripts)


def _ellipsis_rank(subscripts: Subscripts, rank: int) -> int:
    return rank - len(subscripts) + 1 if ELLIPSIS in subscripts else 0


def _sum_broadcast_ellipsis(ctx: GradContext, grad: str, wanted: Subscripts, full_dims: list,
                            own_dims: list) -> str:
    """The gradient's ellipsis axes (`full_dims`, the broadcast of every operand's) summed
    down to this operand's (`own_dims`): leading extra axes away, size-1 axes kept."""
    start = wanted.index(ELLIPSIS)
    extra = len(full_dims) - len(own_dims)
    ones = [start + extra + i for i, d in enumerate(own_dims)
            if d == 1 and full_dims[extra + i] != 1]
    if ones:
        grad = ctx.reduce_sum(grad, ones, keepdims=1)
    if extra:
        grad = ctx.reduce_sum(grad, range(start, start + extra), keepdims=0)
    return grad


@register("Einsum")
def einsum(ctx, node, grads):
    """y = einsum(eq, x1, ..., xn) is linear in each operand, so
    dxk = einsum(out, x1, ..., x(k-1), x(k+1), ..., xn -> xk's subscripts)(g, the others):
    the same contraction with g in place of xk. Labels of xk found nowhere else (summed in
    xk alone, e.g. j in "ij->i") are not in that einsum's inputs: its result lacks them and
    is broadcast back over them (Unsqueeze, Expand). Ellipsis axes that xk broadcast
    (fewer, or of size 1) are summed back, and so are they all for an xk without ellipsis
    (by ReduceSum: ONNX Runtime's Einsum keeps an input's ellipsis in the output). A label repeated within one operand (a diagonal)
    has no rule, nor an ellipsis the output sums over."""
    g, y = grads[0], node.output[0]
    equation = attributes(node)["equation"]
    equation = equation.decode() if isinstance(equation, bytes) else equation
    operands, output = parse_equation(equation)
    for term in operands:
        labels = [label for label in term if label != ELLIPSIS]
        if len(set(labels)) < len(labels) or (ELLIPSIS in term and ELLIPSIS not in output):
            raise VJPError(f"node {ctx.node_name}: Einsum {equation!r} has no gradient rule "
                           "(a label repeated within an operand, or a summed ellipsis)")
    y_rank = ctx.rank(y)
    full_dims = list(ctx.shape(y)[output.index(ELLIPSIS):][:_ellipsis_rank(output, y_rank)]
                     if ELLIPSIS in output else [])
    result = []
    for k, x in enumerate(node.input):
        others = [j for j in range(len(operands)) if j != k]
        present = set(output).union(*(operands[j] for j in others))
        wanted = [label for label in operands[k] if label in present]
        inputs = [output, *(operands[j] for j in others)]
        summed_ellipsis = ELLIPSIS not in wanted and any(ELLIPSIS in term for term in inputs)
        terms = ",".join(_text(term) for term in inputs)
        grad = ctx.emit("Einsum", [g, *(node.input[j] for j in others)],
                        equation=f"{terms}->{_text(([ELLIPSIS] if summed_ellipsis else []) + wanted)}")
        if summed_ellipsis and full_dims:  # ONNX Runtime sums no ellipsis away: ReduceSum
            grad = ctx.reduce_sum(grad, range(len(full_dims)), keepdims=0)
        x_shape = ctx.shape(x)
        own_rank = _ellipsis_rank(operands[k], len(x_shape))
        if ELLIPSIS in wanted:
            start = operands[k].index(ELLIPSIS)
            own_dims = list(x_shape[start:start + own_rank])
            grad = _sum_broadcast_ellipsis(ctx, grad, wanted, full_dims, own_dims)
        lonely = []
        position = 0
        for label in operands[k]:
            width = own_rank if label == ELLIPSIS else 1
            if label not in present:
                lonely.append(position)
            position += width
        if lonely:
            grad = ctx.emit("Expand", [ctx.emit("Unsqueeze", [grad, ctx.ints(lonely)]),
                                       ctx.shape_of(x)])
        result.append(grad)
    return result
