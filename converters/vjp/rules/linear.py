"""Matrix products: Gemm and MatMul (Caffe InnerProduct)."""
from __future__ import annotations

from converters.vjp.context import VJPError, attributes
from converters.vjp.rules import register


@register("Gemm")
def gemm(ctx, node, grads):
    """y = alpha * A' @ B' + beta * C with A' = A or A^T, B' = B or B^T (transA/transB).

    dA' = alpha * g @ B'^T and dB' = alpha * A'^T @ g, each written as one Gemm that
    also undoes the forward transposition.
    """
    g, y = grads[0], node.output[0]
    a, b = node.input[:2]
    attrs = attributes(node)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    trans_a, trans_b = attrs.get("transA", 0), attrs.get("transB", 0)
    if trans_a:
        grad_a = ctx.emit("Gemm", [b, g], alpha=alpha, transA=trans_b, transB=1)
    else:
        grad_a = ctx.emit("Gemm", [g, b], alpha=alpha, transB=1 - trans_b)
    if trans_b:
        grad_b = ctx.emit("Gemm", [g, a], alpha=alpha, transA=1, transB=trans_a)
    else:
        grad_b = ctx.emit("Gemm", [a, g], alpha=alpha, transA=1 - trans_a)
    result = [grad_a, grad_b]
    if len(node.input) > 2 and node.input[2]:
        scaled = g if beta == 1.0 else ctx.scale(g, beta, like=y)
        result.append(ctx.unbroadcast(scaled, node.input[2], y))
    return result


def _swap_last_two(ctx, name: str, rank: int) -> str:
    return ctx.emit("Transpose", [name], perm=list(range(rank - 2)) + [rank - 1, rank - 2])


@register("MatMul")
def matmul(ctx, node, grads):
    """y = A @ B (batched, broadcast): dA = g @ B^T, dB = A^T @ g, summed over broadcast
    batch axes. Both operands need rank >= 2."""
    g, y = grads[0], node.output[0]
    a, b = node.input
    rank_a, rank_b, y_shape = ctx.rank(a), ctx.rank(b), ctx.shape(y)
    if min(rank_a, rank_b) < 2:
        raise VJPError(f"node {node.name}: MatMul gradient needs operands of rank >= 2")
    grad_a = ctx.emit("MatMul", [g, _swap_last_two(ctx, b, rank_b)])
    grad_b = ctx.emit("MatMul", [_swap_last_two(ctx, a, rank_a), g])
    batch = y_shape[:-2]
    return [ctx.unbroadcast(grad_a, a, batch + ctx.shape(a)[-2:]),
            ctx.unbroadcast(grad_b, b, batch + ctx.shape(b)[-2:])]
