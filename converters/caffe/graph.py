"""The ONNX graph under construction while Caffe layers are converted one by one."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from onnx import ModelProto, NodeProto, TensorProto, helper

from converters.naming import UniqueNames

_ONNX_DTYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


@dataclass(frozen=True)
class Tensor:
    """An ONNX value and its static shape (dimension 0 is the batch; 1 under a dynamic batch)."""
    name: str
    shape: tuple[int, ...]


class GraphBuilder:
    """Collects nodes and initializers with unique names; Caffe blob names stay reserved.

    Initializers are written straight into `model.graph` (the ModelProto finally returned),
    so the weights exist once in ONNX form, not once per intermediate container."""

    GLUE_OPS = ("Identity",)  # the op types rename_output adds on its own

    def __init__(self, reserved_names: set[str], dynamic_batch: bool = False,
                 prototxt_batch: int | None = None):
        self.model = ModelProto()
        self.nodes: list[NodeProto] = []
        self.dynamic_batch = dynamic_batch
        # the batch the prototxt's inputs declare (None when they disagree or there are none)
        self.prototxt_batch = prototxt_batch
        self._names = UniqueNames(reserved_names)

    def fresh(self, hint: str) -> str:
        """A name not used yet, `hint` itself if free, else `hint_2`, `hint_3`, ..."""
        return self._names.fresh(hint)

    def constant(self, hint: str, array: np.ndarray) -> str:
        """Adds an initializer (float arrays stored as float32) and returns its name."""
        array = np.asarray(array)
        array = array.astype(np.float32 if array.dtype.kind == "f" else np.int64, copy=False)
        name = self.fresh(hint)
        tensor = self.model.graph.initializer.add()
        tensor.name, tensor.data_type = name, _ONNX_DTYPES[array.dtype]
        tensor.dims.extend(array.shape)
        tensor.raw_data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        return name

    def drop_initializers_except(self, kept: set[str]) -> None:
        """Removes initializers whose names are not in `kept`."""
        initializers = self.model.graph.initializer
        for index in reversed(range(len(initializers))):
            if initializers[index].name not in kept:
                del initializers[index]

    def op(self, op_type: str, inputs: Sequence[str], shape: Sequence[int], hint: str,
           **attributes) -> Tensor:
        """Adds one single-output node; `shape` is its output's static shape."""
        output = self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [output],
                                           name=self.fresh(f"{hint}:{op_type}"), **attributes))
        return Tensor(output, tuple(int(d) for d in shape))

    def reshape(self, source: Tensor, shape: Sequence[int], hint: str) -> Tensor:
        """Reshape to a static shape; a kept leading (batch) dimension is written as 0 (copy),
        so the node stays right under a dynamic batch."""
        spec = [int(d) for d in shape]
        if spec and source.shape and spec[0] == source.shape[0]:
            spec[0] = 0
        elif self.dynamic_batch:
            raise ValueError("this reshape changes the batch axis, which --batch dynamic needs kept")
        target = self.constant(f"{hint}/shape", np.array(spec, dtype=np.int64))
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
        self.nodes.append(helper.make_node("Identity", [tensor.name], [new_name],
                                           name=self.fresh(f"{new_name}:Identity")))
        return Tensor(new_name, tensor.shape)
