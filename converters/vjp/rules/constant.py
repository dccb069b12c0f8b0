"""Constant: a value fixed in the graph, with no inputs and so no gradient to pass on."""
from __future__ import annotations

from converters.vjp.rules import register


@register("Constant")
def constant(ctx, node, grads):
    """No inputs, nothing to return: a constant's gradient stops there (the walker never
    reaches one, since nothing it depends on can depend on a wrt input)."""
    return []
