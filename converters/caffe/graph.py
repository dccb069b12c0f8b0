"""The ONNX graph under construction while Caffe layers are converted one by one: the
toolkit's GraphBuilder (common.onnx_graph) plus each value's static shape, Caffe's dtypes and
the in-place renaming of blob versions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx

from common.onnx_graph import GraphBuilder, Weights


@dataclass(frozen=True)
class Tensor:
    """An ONNX value and its static shape (dimension 0 is the batch; 1 under a dynamic batch)."""
    name: str
    shape: tuple[int, ...]


class CaffeGraph(GraphBuilder):
    """Nodes and initializers with unique names; Caffe blob names stay reserved.

    Initializers are written straight into `model.graph` (the ModelProto finally returned),
    so the weights exist once in ONNX form, not once per intermediate container; with
    `weights` given they are detached instead (common.onnx_graph: the graph holds stubs)."""

    GLUE_OPS = ("Identity",)  # the op types rename_output adds on its own

    def __init__(self, reserved_names: set[str], dynamic_batch: bool = False,
                 prototxt_batch: int | None = None, weights: Weights | None = None):
        self.model = onnx.ModelProto()
        super().__init__(reserved_names, initializers=self.model.graph.initializer,
                         weights=weights)
        self.dynamic_batch = dynamic_batch
        # the batch the prototxt's inputs declare (None when they disagree or there are none)
        self.prototxt_batch = prototxt_batch

    def const(self, stem: str, array: np.ndarray, *, exact_name: bool = False) -> str:
        """An initializer in Caffe's types: float arrays as float32, integers as int64."""
        array = np.asarray(array)
        array = array.astype(np.float32 if array.dtype.kind == "f" else np.int64, copy=False)
        return super().const(stem, array, exact_name=exact_name)

    def op(self, op_type: str, inputs: Sequence[str], shape: Sequence[int], hint: str,
           **attributes) -> Tensor:
        """Adds one single-output node; `shape` is its output's static shape."""
        output = self.fresh(hint)
        self.node(op_type, inputs, [output], self.fresh(f"{hint}:{op_type}"), **attributes)
        return Tensor(output, tuple(int(d) for d in shape))

    def reshape(self, source: Tensor, shape: Sequence[int], hint: str) -> Tensor:
        """Reshape to a static shape; a kept leading (batch) dimension is written as 0 (copy),
        so the node stays right under a dynamic batch."""
        spec = [int(d) for d in shape]
        if spec and source.shape and spec[0] == source.shape[0]:
            spec[0] = 0
        elif self.dynamic_batch:
            raise ValueError("this reshape changes the batch axis, which --batch dynamic needs kept")
        target = self.ints(f"{hint}/shape", spec)
        return self.op("Reshape", [source.name, target], shape, hint)

    def rename_output(self, tensor: Tensor, new_name: str, first_node: int) -> Tensor:
        """Gives `tensor` the name `new_name`: renames the node output if a node added since
        index `first_node` produced it, otherwise adds an Identity."""
        for node in self.nodes[first_node:]:
            for index, output in enumerate(node.output):
                if output == tensor.name:
                    node.output[index] = new_name
                    for later in self.nodes[first_node:]:
                        for slot, name in enumerate(later.input):
                            if name == tensor.name:
                                later.input[slot] = new_name
                    return Tensor(new_name, tensor.shape)
        self.node("Identity", [tensor.name], [new_name], self.fresh(f"{new_name}:Identity"))
        return Tensor(new_name, tensor.shape)
