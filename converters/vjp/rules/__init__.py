"""One gradient rule per ONNX op, registered by op type.

A rule is `rule(ctx, node, output_grads) -> list[str | None]`: given the forward node and
the name of the gradient of each of its outputs (None where an output gets none), it emits
standard-domain nodes through `ctx` and returns the gradient name for each input (None
where an input gets none). Adding an op is adding a decorated function in one module.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import onnx

from converters.vjp.context import GradContext

Rule = Callable[[GradContext, onnx.NodeProto, Sequence[str | None]], list[str | None]]

RULES: dict[str, Rule] = {}

_RULE_MODULES = ("elementwise", "activations", "linear", "conv", "pooling", "lrn",
                 "shape_ops", "normalization")


def register(*op_types: str) -> Callable[[Rule], Rule]:
    """Decorator: `@register("Relu")` makes the function the gradient rule of those ops."""
    def decorate(rule: Rule) -> Rule:
        for op_type in op_types:
            if op_type in RULES:
                raise ValueError(f"two gradient rules for op {op_type}")
            RULES[op_type] = rule
        return rule
    return decorate


for _module in _RULE_MODULES:
    importlib.import_module(f"{__name__}.{_module}")
