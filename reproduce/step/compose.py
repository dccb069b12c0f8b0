"""Merging ONNX graphs into one: prefix every name of a part, then join parts by glue nodes.

Each part (the generator's forward+VJP graph, the net's forward+VJP graph) keeps its own
nodes and initializers under a prefix (`gen/`, `net/`), so names never clash; graph inputs
of a part become ordinary tensors the glue nodes produce.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import onnx
from onnx import helper


def prefixed(prefix: str, name: str) -> str:
    """The merged graph's name for a part's tensor (the empty name, an absent optional input, stays)."""
    return prefix + name if name else name


def prefixed_part(graph: onnx.GraphProto, prefix: str) -> tuple[list[onnx.NodeProto],
                                                                 list[onnx.TensorProto]]:
    """A part's nodes and initializers with every tensor and node name prefixed."""
    nodes = []
    for node in graph.node:
        renamed = onnx.NodeProto()
        renamed.CopyFrom(node)
        renamed.name = prefixed(prefix, node.name or node.output[0])
        renamed.input[:] = [prefixed(prefix, name) for name in node.input]
        renamed.output[:] = [prefixed(prefix, name) for name in node.output]
        for attribute in renamed.attribute:
            if attribute.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise ValueError(f"node {node.name!r} ({node.op_type}) holds a subgraph; "
                                 "the step-graph composer handles flat graphs only")
        nodes.append(renamed)
    initializers = []
    for tensor in graph.initializer:
        renamed_tensor = onnx.TensorProto()
        renamed_tensor.CopyFrom(tensor)
        renamed_tensor.name = prefixed(prefix, tensor.name)
        initializers.append(renamed_tensor)
    return nodes, initializers


def topologically_sorted(nodes: Sequence[onnx.NodeProto], available: Iterable[str]) -> list[onnx.NodeProto]:
    """Nodes in an order where each runs after the producers of its inputs (Kahn's algorithm)."""
    ready_names = set(available) | {""}
    waiting_on = [sum(1 for name in set(node.input) if name not in ready_names) for node in nodes]
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in set(node.input) - ready_names:
            consumers.setdefault(name, []).append(index)
    queue = [index for index, count in enumerate(waiting_on) if count == 0]
    ordered: list[onnx.NodeProto] = []
    while queue:
        node = nodes[queue.pop()]
        ordered.append(node)
        for name in node.output:
            for consumer in consumers.pop(name, ()):
                waiting_on[consumer] -= 1
                if waiting_on[consumer] == 0:
                    queue.append(consumer)
    if len(ordered) != len(nodes):
        raise ValueError(f"merged graph has a cycle or unproduced tensors: {sorted(consumers)[:5]}")
    return ordered


def opset_of(model: onnx.ModelProto) -> int:
    """The model's standard-domain opset version."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    raise ValueError("model imports no standard-domain opset")


def merged_model(parts: Sequence[tuple[onnx.GraphProto, str]], glue: Sequence[onnx.NodeProto],
                 glue_initializers: Sequence[onnx.TensorProto],
                 inputs: Sequence[onnx.ValueInfoProto], outputs: Sequence[onnx.ValueInfoProto],
                 *, opset: int, ir_version: int, name: str) -> onnx.ModelProto:
    """One model from prefixed parts plus glue nodes, nodes sorted topologically."""
    nodes = list(glue)
    initializers = list(glue_initializers)
    for graph, prefix in parts:
        part_nodes, part_initializers = prefixed_part(graph, prefix)
        nodes.extend(part_nodes)
        initializers.extend(part_initializers)
    available = [value.name for value in inputs] + [tensor.name for tensor in initializers]
    graph = helper.make_graph(topologically_sorted(nodes, available), name, list(inputs),
                              list(outputs), initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="reproduce.step.graph")
    model.ir_version = ir_version
    return model
