"""Export choice: a square weight read both as itself and transposed gets one copy per reading.

A VJP graph reads each weight twice: the forward op and its backward op (Gemm transB=1 forward,
Gemm transB=0 for the input gradient; Conv forward, ConvTranspose for the input gradient). Both
readings of one initializer are valid ONNX, and ONNX Runtime, tract and onnx's reference run them
correctly. OpenVINO 2026.4 (CPU) does not when the two readings have the same shape, i.e. for a
square matrix or a Conv weight with as many output as input channels (grouped too: CaffeNet's
conv4, 384 → 384 in 2 groups, weight 384×192×3×3): it gives the backward op
the forward op's (transposed) weight, so the gradient is wrong (a two-node Gemm or Conv +
ConvTranspose model reproduces it; non-square weights are unaffected). Giving each reading of such
a weight its own initializer avoids it, so the exported step graph (and the Loop model) carries
the copies. It is the one export option of the step graph, applied at one point:
`reproduce.run.job.StepModel.exported()` (what export_step, conformance, the browser page's site
and the OpenVINO runner use). ONNX Runtime in the Python driver runs the graph as it is built,
one initializer per weight: either form gives it the same bits, and without the copies it streams
fewer bytes (measured 5-12 % faster per iteration on this project's 2-core CI-class CPU,
benchmarks/bench_runtimes.py).
"""
from __future__ import annotations

import onnx

from common.onnx_graph import Weights, is_detached

# How an op reads its weight input (index 1): ops with different keys read it transposed.
_READINGS = {"Gemm": lambda node: f"Gemm_transB{_attribute(node, 'transB', 0)}",
             "MatMul": lambda node: "Gemm_transB0", "Conv": lambda node: "Conv",
             "ConvTranspose": lambda node: "ConvTranspose"}


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return attribute.i
    return default


def _square(tensor: onnx.TensorProto, readers: list[onnx.NodeProto]) -> bool:
    """Both readings see the same shape: a Gemm weight with rows == columns, or a Conv weight
    [out, in/group, k, k] with out == in (so [32, 16, 3, 3] in 2 groups is square too)."""
    if len(tensor.dims) < 2:
        return False
    group = max(_attribute(node, "group", 1) for node in readers)
    return tensor.dims[0] == tensor.dims[1] * group


def separate_transposed_weights(model: onnx.ModelProto, weights: Weights | None = None) -> int:
    """Gives each further reading of a square weight initializer its own copy, in place (main
    graph); returns the number of copies added. A detached weight's copy is another stub whose
    entry in `weights` is the same array (common.onnx_graph). See the module docstring for why."""
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    readings: dict[str, dict[str, list[onnx.NodeProto]]] = {}
    for node in graph.node:
        if node.op_type in _READINGS and len(node.input) > 1 and node.input[1] in initializers:
            readings.setdefault(node.input[1], {}).setdefault(_READINGS[node.op_type](node), []).append(node)
    copies = 0
    for name, by_reading in readings.items():
        readers = [node for nodes in by_reading.values() for node in nodes]
        if len(by_reading) < 2 or not _square(initializers[name], readers):
            continue
        for reading, nodes in list(by_reading.items())[1:]:
            copy = onnx.TensorProto()
            copy.CopyFrom(initializers[name])
            copy.name = f"{name}/{reading}"
            graph.initializer.append(copy)
            if is_detached(copy):
                weights[copy.name] = weights[name]
            for node in nodes:
                node.input[1] = copy.name
            copies += 1
    return copies
