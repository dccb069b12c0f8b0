"""One gradient rule per ONNX op, registered by op type.

A rule is `rule(ctx, node, output_grads) -> list[str | None]`: given the forward node and
the name of the gradient of each of its outputs (None where an output gets none), it emits
standard-domain nodes through `ctx` and returns the gradient name for each input (None
where an input gets none). Adding an op is adding a decorated function in any module of
this package, or a new module: every module here is imported by discovery (pkgutil), so
there is no list to edit. Two rules for one op raise DuplicateRegistrationError.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import onnx

from converters.registry import Registry, import_package_modules, origin_of
from converters.vjp.context import GradContext

Rule = Callable[[GradContext, onnx.NodeProto, Sequence[str | None]], list[str | None]]

_REGISTRY: Registry[Rule] = Registry("gradient rules")
RULES: dict[str, Rule] = _REGISTRY.entries


def register(*op_types: str) -> Callable[[Rule], Rule]:
    """Decorator: `@register("Relu")` makes the function the gradient rule of those ops."""
    def decorate(rule: Rule) -> Rule:
        for op_type in op_types:
            _REGISTRY.add(op_type, rule, origin_of(rule))
        return rule
    return decorate


import_package_modules(__name__, __path__)
