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


def _own_axes(term: Subscripts, ellipsis_rank: int, labels: set[str]) -> list[int]:
    """The axes of an operand (its ellipsis `ellipsis_rank` axes wide) labelled by `labels`."""
    axes, position = [], 0
    for label in term:
        if label in labels:
            axes.append(position)
        position += ellipsis_rank if label == ELLIPSIS else 1
    return axes


def _refuse_diagonals_and_summed_ellipses(ctx: GradContext, equation: str,
                                          operands: list[Subscripts], output: Subscripts) -> None:
    for term in operands:
        labels = [label for label in term if label != ELLIPSIS]
        if len(set(labels)) < len(labels) or (ELLIPSIS in term and ELLIPSIS not in output):
            raise VJPError(f"node {ctx.node_name}: Einsum {equation!r} has no gradient rule "
                           "(a label repeated within an operand, or a summed ellipsis)")


@register("Einsum")
def einsum(ctx, node, grads):
    """y = einsum(eq, x1, ..., xn) is linear in each operand, so
    dxk = einsum(out, x1, ..., x(k-1), x(k+1), ..., xn -> xk's subscripts)(g, the others):
    the same contraction with g in place of xk. Labels of xk found nowhere else (summed in
    xk alone, e.g. j in "ij->i") are not in that einsum's inputs: its result lacks them and
    is broadcast back over them (Unsqueeze, Expand). Ellipsis axes that xk broadcast
    (fewer, or of size 1) are summed back, and all of them for an xk without ellipsis (by a
    ReduceSum: ONNX Runtime's Einsum keeps an input's ellipsis in its output). A label
    repeated within one operand (a diagonal) has no rule, nor an ellipsis the output sums."""
    g, y = grads[0], node.output[0]
    equation = attributes(node)["equation"]
    equation = equation.decode() if isinstance(equation, bytes) else equation
    operands, output = parse_equation(equation)
    _refuse_diagonals_and_summed_ellipses(ctx, equation, operands, output)
    full_dims = []  # the broadcast ellipsis axes, as y has them
    if ELLIPSIS in output:
        start = output.index(ELLIPSIS)
        full_dims = list(ctx.shape(y)[start:start + _ellipsis_rank(output, ctx.rank(y))])
    result = []
    for k, x in enumerate(node.input):
        others = [operands[j] for j in range(len(operands)) if j != k]
        present = set(output).union(*others)
        wanted = [label for label in operands[k] if label in present]
        summed_ellipsis = ELLIPSIS in output and ELLIPSIS not in wanted
        terms = ",".join(_text(term) for term in [output, *others])
        kept = ([ELLIPSIS] if summed_ellipsis else []) + wanted
        grad = ctx.emit("Einsum", [g, *(name for j, name in enumerate(node.input) if j != k)],
                        equation=f"{terms}->{_text(kept)}")
        if summed_ellipsis and full_dims:
            grad = ctx.reduce_sum(grad, range(len(full_dims)), keepdims=0)
        own_rank = _ellipsis_rank(operands[k], ctx.rank(x))
        if ELLIPSIS in wanted:
            start = operands[k].index(ELLIPSIS)
            own_dims = list(ctx.shape(x)[start:start + own_rank])
            grad = _sum_broadcast_ellipsis(ctx, grad, wanted, full_dims, own_dims)
        alone = _own_axes(operands[k], own_rank, set(operands[k]) - present)
        if alone:
            grad = ctx.emit("Expand", [ctx.emit("Unsqueeze", [grad, ctx.ints(alone)]),
                                       ctx.shape_of(x)])
        result.append(grad)
    return result
