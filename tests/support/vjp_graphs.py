"""Small ONNX graphs for the gradient-rule tests, built per element type (the finite-difference
harness, support/vjp_check.check_vjp, builds each graph in float64 and in float32), and the
one-node check the rule tests run for each op and attribute form."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from support.vjp_check import check_vjp


def graph_model(nodes, inputs: dict, constants: dict | None = None, opset: int = 13,
                outputs=("y0",), float32_constants=()) -> Callable[[int], onnx.ModelProto]:
    """elem_type -> a model of `nodes`: graph inputs shaped like `inputs`, initializers
    `constants` (float ones in the model's type, except those named in float32_constants,
    such as Resize scales, which ONNX types float)."""
    constants = constants or {}

    def make(elem_type: int) -> onnx.ModelProto:
        dtype = helper.tensor_dtype_to_np_dtype(elem_type)
        graph_inputs = [helper.make_tensor_value_info(k, elem_type, v.shape)
                        for k, v in inputs.items()]
        inits = [numpy_helper.from_array(
            v.astype(dtype) if v.dtype.kind == "f" and k not in float32_constants else v, k)
            for k, v in constants.items()]
        graph = helper.make_graph(
            nodes, "g", graph_inputs,
            [helper.make_tensor_value_info(o, elem_type, None) for o in outputs], inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return make


def one_node(op_type: str, inputs, n_outputs: int = 1, **attrs) -> onnx.NodeProto:
    """A node named `<op_type>_0` with outputs y0, y1, ..."""
    return helper.make_node(op_type, list(inputs), [f"y{i}" for i in range(n_outputs)],
                            name=f"{op_type}_0", **attrs)


def check_node(form: str, op_type: str, inputs: dict, constants: dict | None = None,
               node_inputs=None, opset: int = 13, wrt=None, n_outputs: int = 1, of=("y0",),
               float32_constants=(), tol: float = 1e-6, tol32: float = 2e-4,
               **attrs) -> dict[str, np.ndarray]:
    """One node (inputs: graph inputs, then initializers, unless node_inputs names them,
    "" for an absent one); the gradient wrt `wrt` (default: the graph inputs) is checked
    against finite differences (check_vjp, with its tolerances `tol`, `tol32`).
    Initializers named in wrt become inputs and are fed from `constants`."""
    constants = constants or {}
    names = node_inputs if node_inputs is not None else [*inputs, *constants]
    node = one_node(op_type, names, n_outputs, **attrs)
    make = graph_model([node], inputs, constants, opset, [f"y{i}" for i in range(n_outputs)],
                       float32_constants)
    wrt = list(wrt or inputs)
    feeds = {**inputs, **{k: v for k, v in constants.items() if k in wrt}}
    return check_vjp(f"{op_type} {form}", make, feeds, wrt, list(of), tol=tol, tol32=tol32)
