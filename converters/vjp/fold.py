"""Constant folding of shape-computing subgraphs, once, before the VJP walker.

Exporters compute shapes, pads, slice bounds and masks at run time: Shape of a tensor, then
Gather / Unsqueeze / Concat / Cast / Equal / Where / Range / ConstantOfShape / ScatterND of
the result (torch.onnx.export with dynamo=False writes thousands of such nodes for a Swin
transformer). When the shapes are static, every one of those nodes is computable from
constants alone; `fold_constants` replaces each by an initializer, so the gradient rules
read pads, starts, shapes and axes as constants (converters.vjp.context.constant_value) and
the VJP graph does not carry the shape arithmetic.

What is folded: a node of the standard domain, deterministic and without subgraphs, whose
inputs are all constants (initializers, Constant outputs, outputs folded before) and whose
outputs are small (inferred static shapes; fewer than DETACH_MIN_VALUES values for a float
tensor, at most FOLD_MAX_INTEGER_VALUES for an integer or boolean one), and Shape/Size of
any tensor whose shape inference knows statically. Nothing reading a detached weight
(common.onnx_graph) is evaluated, nor any input larger than those bounds: the folding only
touches the small tensors that shape arithmetic produces. The values come from onnx's
reference evaluator, run once per pass on the subgraph of foldable nodes.
"""
from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from common.onnx_graph import (DETACH_MIN_VALUES, STANDARD_DOMAINS, constant_values,
                               fixed_dims, inferred_types, np_dtype, standard_opset)

log = logging.getLogger(__name__)

FOLD_MAX_INTEGER_VALUES = 1 << 14  # index and mask tensors (Swin's relative positions: 2401)
_NOT_FOLDED = {"Constant", "RandomNormal", "RandomNormalLike", "RandomUniform",
               "RandomUniformLike", "Bernoulli", "Multinomial", "If", "Loop", "Scan"}


def _small(type_proto: onnx.TypeProto) -> bool:
    """A tensor of static shape few enough values to fold (by element type)."""
    shape = fixed_dims(type_proto)
    if shape is None:
        return False
    size = int(np.prod(shape, dtype=np.int64))
    floating = np_dtype(type_proto.tensor_type.elem_type).kind in "fc"
    return size < DETACH_MIN_VALUES if floating else size <= FOLD_MAX_INTEGER_VALUES


def _static_shape_value(node: onnx.NodeProto, types: dict[str, onnx.TypeProto]) -> np.ndarray | None:
    """The value of Shape (with its start/end, opset 15) or Size of a statically shaped tensor."""
    if node.op_type not in ("Shape", "Size") or node.input[0] not in types:
        return None
    shape = fixed_dims(types[node.input[0]])
    if shape is None:
        return None
    if node.op_type == "Size":
        return np.array(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[slice(start, end)], dtype=np.int64)


def _foldable(node: onnx.NodeProto, known: set[str], types: dict[str, onnx.TypeProto],
              graph_outputs: set[str]) -> bool:
    outputs = [o for o in node.output if o]
    return (node.domain in STANDARD_DOMAINS and node.op_type not in _NOT_FOLDED
            and bool(outputs) and not graph_outputs.intersection(outputs)
            and all(i in known for i in node.input if i)
            and all(o in types and _small(types[o]) for o in outputs))


def _fold_pass(model: onnx.ModelProto) -> int:
    """Folds every foldable node once (in place); returns how many were folded."""
    graph = model.graph
    types = inferred_types(model)
    values = constant_values(graph)
    known = {name for name, value in values.items() if value.size <= FOLD_MAX_INTEGER_VALUES
             and (value.dtype.kind not in "fc" or value.size < DETACH_MIN_VALUES)}
    graph_outputs = {o.name for o in graph.output}
    shape_values: dict[str, np.ndarray] = {}
    evaluated: list[onnx.NodeProto] = []
    for node in graph.node:
        value = _static_shape_value(node, types)
        if value is not None and node.output[0] not in graph_outputs:
            shape_values[node.output[0]] = value
            known.add(node.output[0])
        elif _foldable(node, known, types, graph_outputs):
            evaluated.append(node)
            known.update(o for o in node.output if o)
    if not shape_values and not evaluated:
        return 0
    folded = dict(shape_values)
    if evaluated:
        folded.update(_evaluate(evaluated, values, shape_values, types, standard_opset(model)))
    _replace_by_initializers(graph, folded)
    return len(shape_values) + len(evaluated)


def _evaluate(nodes: list[onnx.NodeProto], values: dict[str, np.ndarray],
              shape_values: dict[str, np.ndarray], types: dict[str, onnx.TypeProto],
              opset: int) -> dict[str, np.ndarray]:
    """Runs the foldable nodes as one graph on onnx's reference evaluator."""
    produced = {o for node in nodes for o in node.output if o}
    read = {i for node in nodes for i in node.input if i and i not in produced}
    sources = {**values, **shape_values}
    initializers = [numpy_helper.from_array(np.asarray(sources[name]), name) for name in sorted(read)]
    outputs = sorted(produced)
    graph = helper.make_graph(nodes, "fold", [], [onnx.ValueInfoProto(name=o) for o in outputs],
                              initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    results = ReferenceEvaluator(model).run(None, {})
    return {name: np.asarray(value, dtype=np_dtype(types[name].tensor_type.elem_type))
            for name, value in zip(outputs, results, strict=True)}


def _replace_by_initializers(graph: onnx.GraphProto, folded: dict[str, np.ndarray]) -> None:
    kept = [node for node in graph.node if not any(o in folded for o in node.output)]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in folded.items())


def fold_constants(model: onnx.ModelProto) -> None:
    """Replaces, in place, every node computable from constants alone by an initializer (see
    the module docstring), pass after pass until none is left: a folded node (Swin's Pad
    pads, computed from the previous stage's shape) can give shape inference the static
    shape that the next stage's Shape nodes read, so a deep export takes a pass per stage."""
    total, passes = 0, 0
    while count := _fold_pass(model):
        total, passes = total + count, passes + 1
    if total:
        log.info("vjp: folded %d constant (shape-computing) nodes into initializers in %d "
                 "passes", total, passes)
