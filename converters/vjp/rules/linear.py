"""Matrix products: Gemm and MatMul (Caffe InnerProduct)."""
from __future__ import annotations

from converters.vjp.context import attributes
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
    """y = A @ B with numpy.matmul semantics: batch axes broadcast; a 1-D A is a row (1, K)
    and a 1-D B a column (K, 1) whose unit axis is dropped from y. dA = g @ B^T and
    dB = A^T @ g on the matrix forms, summed over broadcast batch axes (and, for a 1-D
    operand, over all but its own axis)."""
    g, y = grads[0], node.output[0]
    a, b = node.input
    rank_a, rank_b, y_shape = ctx.rank(a), ctx.rank(b), ctx.shape(y)
    a_vector, b_vector = rank_a == 1, rank_b == 1
    a_matrix = ctx.emit("Unsqueeze", [a, ctx.ints([0])]) if a_vector else a
    b_matrix = ctx.emit("Unsqueeze", [b, ctx.ints([1])]) if b_vector else b
    g_matrix = ctx.emit("Unsqueeze", [g, ctx.ints([-1])]) if b_vector else g
    if a_vector:
        g_matrix = ctx.emit("Unsqueeze", [g_matrix, ctx.ints([-2])])
    grad_a = ctx.emit("MatMul", [g_matrix, _swap_last_two(ctx, b_matrix, max(rank_b, 2))])
    grad_b = ctx.emit("MatMul", [_swap_last_two(ctx, a_matrix, max(rank_a, 2)), g_matrix])
    batch = y_shape[:len(y_shape) - (not a_vector) - (not b_vector)]
    rank_grad = len(batch) + 2
    if a_vector:
        grad_a = ctx.reduce_sum(grad_a, range(rank_grad - 1), keepdims=0)
    else:
        grad_a = ctx.unbroadcast(grad_a, a, batch + ctx.shape(a)[-2:])
    if b_vector:
        grad_b = ctx.reduce_sum(grad_b, [*range(rank_grad - 2), rank_grad - 1], keepdims=0)
    else:
        grad_b = ctx.unbroadcast(grad_b, b, batch + ctx.shape(b)[-2:])
    return [grad_a, grad_b]
