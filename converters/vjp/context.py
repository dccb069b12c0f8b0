"""What a gradient rule may use: emit backward nodes, read forward shapes/types/constants.

Rules see forward tensors by name (they stay in the same graph, so the backward reuses
them) and add their own nodes through `GradContext.emit` and constants through
`GradContext.const` (both into the toolkit's GraphBuilder, common.onnx_graph); nothing else is
mutable. `constant_value` reads a forward constant's value.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from common.errors import UserError
from common.onnx_graph import GraphBuilder, dims, np_dtype


class VJPError(UserError, ValueError):
    """A model, node or request the transform cannot differentiate; the message says why."""


def attributes(node: onnx.NodeProto) -> dict:
    """The node's attributes as plain Python values (defaults are applied by each rule)."""
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class GradContext:
    """Shapes, element types and constant values of the forward graph, and a node sink.

    `types` maps every tensor name to its onnx.TypeProto (from shape inference);
    `constants` maps initializer / Constant-node outputs to their values.
    """

    def __init__(self, types: dict[str, onnx.TypeProto], constants: dict[str, np.ndarray],
                 taken_names: Iterable[str], opset: int,
                 differentiated: set[str] | None = None) -> None:
        self.types = types
        self.constants = constants
        self.opset = opset
        self.differentiated = differentiated  # tensors depending on wrt; None: all of them
        self.graph = GraphBuilder(taken_names)  # the backward nodes and their constants
        self._shape_nodes: dict[str, str] = {}
        self.node_name = "vjp"

    # ---- names and nodes -------------------------------------------------------------
    def fresh(self, stem: str) -> str:
        """A tensor/node name not used anywhere in the graph yet."""
        return self.graph.fresh(stem)

    def emit(self, op_type: str, inputs: Sequence[str], n_outputs: int = 1,
             **attrs) -> str | list[str]:
        """Appends one standard-domain node; returns its output name (a list if several)."""
        stem = f"{self.node_name}/{op_type}"
        outputs = [self.fresh(f"{stem}_out{i}") for i in range(n_outputs)]
        self.graph.node(op_type, inputs, outputs, self.fresh(stem), **attrs)
        return outputs[0] if n_outputs == 1 else outputs

    def const(self, value, like: str | None = None, dtype=None) -> str:
        """Creates an initializer holding `value` (element type of tensor `like`, or `dtype`)."""
        array = np.asarray(value, dtype=self.np_dtype(like) if like is not None else dtype)
        return self.graph.const(f"{self.node_name}/const", array)

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 initializer (axes, pads, shapes, split sizes)."""
        return self.graph.ints(f"{self.node_name}/const", values)

    # ---- forward facts ---------------------------------------------------------------
    def shape(self, name: str) -> tuple[int | None, ...]:
        """Static shape of a forward tensor; None marks a dynamic dimension."""
        shape = dims(self.types[name]) if name in self.types else None
        if shape is None:
            raise VJPError(f"shape of tensor {name} is unknown (node {self.node_name}); "
                           "give the model static input ranks")
        return shape

    def rank(self, name: str) -> int:
        return len(self.shape(name))

    def static_dims(self, name: str, axes: Iterable[int]) -> list[int]:
        """The listed dimensions of a tensor, which this rule needs to be static."""
        shape = self.shape(name)
        dims = [shape[a] for a in axes]
        if any(d is None for d in dims):
            raise VJPError(f"node {self.node_name}: tensor {name} needs static dimensions "
                           f"{list(axes)} for its gradient, has shape {shape}")
        return dims

    def elem_type(self, name: str) -> int:
        return self.types[name].tensor_type.elem_type

    def np_dtype(self, name: str) -> np.dtype:
        return np_dtype(self.elem_type(name))

    def wants(self, name: str) -> bool:
        """Whether the walker uses a gradient for forward tensor `name` (it depends on a wrt
        input): a rule may skip the costly gradient of an input it does not want (a
        constant weight), returning None for it."""
        return self.differentiated is None or name in self.differentiated

    def constant_value(self, name: str) -> np.ndarray | None:
        """Value of an initializer or Constant output; None when computed at run time (or a
        detached weight: common.onnx_graph)."""
        return self.constants.get(name)

    def required_constant_value(self, name: str, what: str) -> np.ndarray:
        value = self.constant_value(name)
        if value is None:
            raise VJPError(f"node {self.node_name}: {what} ({name}) must be a constant "
                           "for its gradient")
        return value

    # ---- small graph idioms ----------------------------------------------------------
    def shape_of(self, name: str) -> str:
        """Run-time Shape of a tensor (one Shape node per tensor)."""
        if name not in self._shape_nodes:
            self._shape_nodes[name] = self.emit("Shape", [name])
        return self._shape_nodes[name]

    def reshape_like(self, value: str, like: str) -> str:
        """`value` reshaped to the run-time shape of `like` (handles a dynamic batch)."""
        return self.emit("Reshape", [value, self.shape_of(like)])

    def reduce_sum(self, value: str, axes: Sequence[int], keepdims: int = 1) -> str:
        return self.emit("ReduceSum", [value, self.ints(axes)], keepdims=keepdims)

    def scale(self, value: str, factor: float, like: str) -> str:
        """`value * factor`, the constant typed like forward tensor `like`."""
        return self.emit("Mul", [value, self.const(factor, like=like)])

    def zeros_like(self, name: str) -> str:
        zero = numpy_helper.from_array(np.zeros(1, dtype=self.np_dtype(name)))
        return self.emit("ConstantOfShape", [self.shape_of(name)], value=zero)

    def unbroadcast(self, grad: str, target: str,
                    grad_like: str | tuple[int | None, ...]) -> str:
        """Sums a gradient shaped like `grad_like` (a forward tensor, or a shape) down to
        `target`'s shape.

        Axes missing from `target` and axes where `target` has size 1 are summed over
        (summing a size-1 axis is harmless, so a dynamic size-1 axis is handled too).
        """
        out_shape = self.shape(grad_like) if isinstance(grad_like, str) else grad_like
        in_shape = self.shape(target)
        lead = len(out_shape) - len(in_shape)
        axes = list(range(lead)) + [lead + i for i, d in enumerate(in_shape)
                                    if d == 1 and out_shape[lead + i] != 1]
        if not axes:
            return grad
        summed = self.reduce_sum(grad, axes, keepdims=1)
        return self.reshape_like(summed, target) if lead else summed

    def dim(self, name: str, axis: int) -> str:
        """1-D int64 tensor [size of axis]: a constant when static, else from Shape."""
        size = self.shape(name)[axis]
        if size is not None:
            return self.ints([size])
        return self.emit("Gather", [self.shape_of(name), self.ints([axis])], axis=0)
