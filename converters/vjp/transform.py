"""build_vjp: forward ONNX model -> one ONNX model computing outputs and their VJP.

The result's inputs are the forward inputs plus `<OF>_grad` (the cotangent of each `of`
output, same shape); its outputs are the `of` values plus `<WRT>_grad` for each `wrt`.
Backward nodes read forward tensors in the same graph (one forward pass). Only nodes on a
path from `wrt` to `of` get backward nodes; weights stay constants unless named in `wrt`,
in which case the initializer becomes a graph input and gets its gradient too.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import onnx
from onnx import helper

from common.errors import first_line
from common.onnx_graph import (FLOAT_TYPES, STANDARD_DOMAINS, constant_values, inferred_types,
                               names_in, prune, standard_opset)
from converters.vjp.context import GradContext, VJPError
from converters.vjp.fold import fold_constants
from converters.vjp.rules import RULES

log = logging.getLogger(__name__)


def _promote_initializers(graph: onnx.GraphProto, wrt: Sequence[str]) -> None:
    """An initializer named in wrt becomes a (required) graph input of the same type."""
    input_names = {i.name for i in graph.input}
    kept = []
    for init in graph.initializer:
        if init.name in wrt:
            if init.name not in input_names:
                graph.input.append(helper.make_tensor_value_info(
                    init.name, init.data_type, list(init.dims)))
        else:
            kept.append(init)
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _tensor_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    try:
        return inferred_types(model)
    except onnx.shape_inference.InferenceError as error:
        raise VJPError(f"shape inference failed: {first_line(error)}") from None


def _nodes_on_path(graph: onnx.GraphProto, wrt: Sequence[str], of: Sequence[str],
                   types: dict) -> tuple[list[onnx.NodeProto], set[str]]:
    """Nodes with a float input reachable from wrt and an output that reaches of,
    and the set of tensors that depend on wrt.

    Only floating-point outputs carry a dependence: an integer or boolean output (Shape,
    Size, Equal, Greater, ArgMax, NonZero, a MaxPool's Indices, ...) is piecewise constant in
    wrt, its derivative zero, so it never gets a gradient and its node never needs a rule
    unless a float output of it is on the path."""
    depends = set(wrt)
    for node in graph.node:
        if any(i in depends for i in node.input):
            depends.update(o for o in node.output
                           if o in types and types[o].tensor_type.elem_type in FLOAT_TYPES)
    needed = set(of)
    on_path = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output) and any(i in depends for i in node.input):
            needed.update(i for i in node.input if i in depends)
            on_path.append(node)
    return on_path, depends


def _check_request(graph: onnx.GraphProto, wrt: Sequence[str], of: Sequence[str],
                   types: dict) -> None:
    if not wrt or not of:
        raise VJPError("need at least one --wrt input and one --of output")
    for kind, names in (("wrt", wrt), ("of", of)):
        if len(set(names)) != len(names):
            raise VJPError(f"{kind} names a tensor twice: {list(names)}")
    if set(wrt) & set(of):
        raise VJPError(f"{sorted(set(wrt) & set(of))} named both as wrt and as of")
    input_names = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    for name in wrt:
        if name not in input_names:
            raise VJPError(f"wrt {name} is not a graph input or initializer "
                           f"(inputs: {sorted(i.name for i in graph.input)})")
    produced = {o for node in graph.node for o in node.output} | input_names
    for name in of:
        if name not in produced:
            raise VJPError(f"of {name} is not a tensor of the graph")
    for name in [*wrt, *of]:
        if name not in types or types[name].tensor_type.elem_type not in FLOAT_TYPES:
            raise VJPError(f"tensor {name} is not a floating-point tensor")
    taken = produced | {n.name for n in graph.node}
    for name in [f"{n}_grad" for n in [*of, *wrt]]:
        if name in taken:
            raise VJPError(f"the model already has a tensor named {name}")


def _one_per_input(node: onnx.NodeProto, input_grads: Sequence[str | None]) -> list[str | None]:
    """A rule's gradients, one per input the node has: a rule may list trailing optional inputs
    the node leaves out (as None), never fewer gradients than the node has inputs."""
    present = len(node.input)
    if len(input_grads) < present or any(grad is not None for grad in input_grads[present:]):
        raise VJPError(f"the {node.op_type} rule returned {len(input_grads)} gradients for the "
                       f"{present} inputs of node {node.name}")
    return list(input_grads[:present])


def _accumulate(ctx: GradContext, contributions: list[str]) -> str:
    """A tensor feeding several consumers gets the sum of their gradients."""
    if len(contributions) == 1:
        return contributions[0]
    return ctx.emit("Sum", contributions)


def build_vjp(model: onnx.ModelProto, wrt: Sequence[str], of: Sequence[str]) -> onnx.ModelProto:
    """A model computing `of` and the vector-Jacobian product (d of / d wrt)^T · cotangents.

    Raises VJPError (one line: the op and node, or the bad request) when it cannot.
    """
    wrt, of = list(wrt), list(of)
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    opset = standard_opset(result)
    if opset is None:
        raise VJPError("model imports no standard ONNX opset")
    if opset < 13:
        raise VJPError(f"model opset {opset} is too old: build_vjp needs opset >= 13")
    _promote_initializers(graph, wrt)  # before folding: a wrt initializer is no constant
    try:
        fold_constants(result)
    except onnx.shape_inference.InferenceError:
        pass  # reported, one line, by _tensor_types below
    types = _tensor_types(result)
    _check_request(graph, wrt, of, types)
    on_path, depends = _nodes_on_path(graph, wrt, of, types)
    ctx = GradContext(types, constant_values(graph), names_in(graph) | set(types), opset, depends)

    grads: dict[str, list[str]] = {name: [f"{name}_grad"] for name in of}
    for node in on_path:  # already in reverse topological order
        output_grads = [_accumulate(ctx, grads[o]) if o in grads else None for o in node.output]
        if all(g is None for g in output_grads):
            continue
        ctx.node_name = node.name or node.output[0]
        rule = RULES.get(node.op_type)
        if rule is None or node.domain not in STANDARD_DOMAINS:
            op = node.op_type if node.domain in STANDARD_DOMAINS else f"{node.domain}.{node.op_type}"
            raise VJPError(f"no gradient rule for op {op} (node {ctx.node_name})")
        input_grads = rule(ctx, node, output_grads)
        input_grads = _one_per_input(node, input_grads)
        for name, grad in zip(node.input, input_grads, strict=True):
            if grad is not None and name in depends:
                grads.setdefault(name, []).append(grad)

    ctx.node_name = "vjp"
    final = []
    for name in wrt:
        if name in grads:
            total = _accumulate(ctx, grads[name])
        else:
            log.warning("wrt %s does not influence %s: its gradient is zero", name, of)
            total = ctx.zeros_like(name)
        final.append(helper.make_node("Identity", [total], [f"{name}_grad"],
                                      name=ctx.fresh(f"vjp/{name}_grad")))

    graph.node.extend(ctx.graph.nodes + final)
    graph.initializer.extend(ctx.graph.initializers)
    for name in of:
        graph.input.append(onnx.ValueInfoProto(name=f"{name}_grad", type=types[name]))
    del graph.output[:]
    graph.output.extend(onnx.ValueInfoProto(name=name, type=types[name]) for name in of)
    graph.output.extend(onnx.ValueInfoProto(name=f"{name}_grad", type=types[name])
                        for name in wrt)
    prune(graph)
    log.info("vjp: differentiated %d forward nodes on the wrt->of path; %d nodes in all",
             len(on_path), len(graph.node))
    return result
