"""Indexing by constant indices: Gather (ViT's class token x[:, 0], relative-position tables)
and GatherElements."""
from __future__ import annotations

import numpy as np

from converters.vjp.context import VJPError, attributes
from converters.vjp.rules import register
from converters.vjp.rules.shape_ops import apply_along_axis, one_hot_rows


def _indices(ctx, node, size: int) -> np.ndarray:
    """The node's constant indices, negative ones counted from the end (int64)."""
    indices = ctx.required_constant_value(node.input[1], f"{node.op_type} indices")
    return indices.astype(np.int64) % size


@register("Gather")
def gather(ctx, node, grads):
    """y = x[..., I, ...] on `axis` with constant indices I (any rank: y's axis becomes I's
    axes). The adjoint adds each output slab's gradient into the slab of x it was read
    from: I flattened to m = I.size sources, the gradient reshaped so I's axes are one axis
    of length m, then the (m, size) one-hot matrix M[k, I[k]] = 1 along that axis (one
    MatMul; a repeated index adds). A scalar I (x[:, 0]) removed the axis: Unsqueeze."""
    g, x = grads[0], node.input[0]
    rank = ctx.rank(x)
    axis = attributes(node).get("axis", 0) % rank
    size = ctx.static_dims(x, [axis])[0]
    indices = _indices(ctx, node, size)
    if indices.ndim == 0:
        g = ctx.emit("Unsqueeze", [g, ctx.ints([axis])])
    elif indices.ndim > 1:
        trailing = [-1 if d is None else d for d in ctx.shape(x)[axis + 1:]]
        if trailing.count(-1) > 1:
            ctx.static_dims(x, range(axis + 1, rank))  # raises, naming the dimensions
        g = ctx.emit("Reshape", [g, ctx.ints([0] * axis + [indices.size] + trailing)])
    matrix = one_hot_rows(indices.reshape(-1), size)
    return [apply_along_axis(ctx, g, matrix, axis, like=x), None]


@register("GatherElements")
def gather_elements(ctx, node, grads):
    """y[i, j, k] = x[i, I[i, j, k], k] (axis 1; likewise any axis) with constant indices I:
    dx = zeros with each g cell added at the cell of x it was read from, i.e.
    ScatterElements with reduction add (opset >= 16). Before opset 16 ScatterElements has
    no reduction: it is used only when no cell of x is read twice (then it is exact)."""
    g, x = grads[0], node.input[0]
    rank = ctx.rank(x)
    axis = attributes(node).get("axis", 0) % rank
    indices = _indices(ctx, node, ctx.static_dims(x, [axis])[0])
    reduction = {}
    if ctx.opset >= 16:
        reduction = {"reduction": "add"}
    else:
        coordinates = list(np.indices(indices.shape).reshape(rank, -1))
        coordinates[axis] = indices.reshape(-1)
        sources = np.stack(coordinates, axis=1)
        if len(np.unique(sources, axis=0)) < len(sources):
            raise VJPError(f"node {ctx.node_name}: GatherElements reading a cell twice needs "
                           f"opset >= 16 (ScatterElements reduction add) for its gradient, "
                           f"model has {ctx.opset}")
    scattered = ctx.emit("ScatterElements", [ctx.zeros_like(x), ctx.const(indices), g],
                         axis=axis, **reduction)
    return [scattered, None]
