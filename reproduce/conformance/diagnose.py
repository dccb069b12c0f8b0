"""Where two runtimes part: the nodes whose inputs agree but whose outputs do not.

Both runtimes run the step graph with every node output of the main graph exposed as a graph
output. Walking the nodes in graph order, an *origin* is a node whose inputs all agree (within
the tolerance, relative to each tensor's largest magnitude; integer and boolean tensors
exactly) while an output does not. When every origin is a decision (a comparison such as the
ReLU-gradient mask `x > 0`, or max-pool's argmax indices) the difference is a flip: the two
runtimes' inputs to the decision differ by rounding only, the decision lands on the other side
for a few elements, and everything downstream follows. The margin reported is how far the
flipped elements are from the decision boundary in the reference (|a − b| for a comparison, the
gap between the two chosen maxima for max-pool), relative to the input's scale. An origin at an op
with a known defect of the other runtime (reproduce.conformance.known_bugs) is attributed to it
only when the other runtime's output there is what the defect computes from the node's inputs.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from reproduce.conformance.cases import Case
from reproduce.conformance.known_bugs import KnownBug

COMPARISONS = {"Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual"}
DECISIONS = COMPARISONS | {"MaxPool"}  # max-pool: its argmax indices output
Runner = Callable[[Path, Case], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Origin:
    """A node where the runtimes part, with what differs there."""

    node: str
    op_type: str
    output: str
    mismatched: int  # elements of `output` that disagree
    size: int
    margin: float | None  # decisions: the largest relative distance from the boundary flipped
    known_bug: str | None = None  # the other runtime's known defect, when its output has its signature

    @property
    def is_decision(self) -> bool:
        return self.op_type in DECISIONS and self.margin is not None

    def describe(self) -> str:
        where = f"{self.op_type} {self.node}"
        if self.is_decision:
            return (f"{where}: {self.mismatched} of {self.size} decisions flip, each within "
                    f"{self.margin:.1e} (relative) of the boundary")
        signature = f", as a known defect computes: {self.known_bug}" if self.known_bug else ""
        return f"{where}: inputs agree, {self.mismatched} of {self.size} outputs differ{signature}"


def instrumented(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """The model with every typed node output of the main graph (but integer shape arithmetic)
    added as a graph output."""
    inferred = shape_inference.infer_shapes(model)
    types = {value.name: value for value in list(inferred.graph.value_info) + list(inferred.graph.output)}
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    present = {value.name for value in copy.graph.output}
    exposed = []
    for node in copy.graph.node:
        for name in node.output:
            # integer tensors are shape arithmetic (tract keeps them symbolic and cannot return
            # them) except max-pool's argmax indices, a decision
            integer = (name in types and types[name].type.tensor_type.elem_type == onnx.TensorProto.INT64
                       and node.op_type != "MaxPool")
            if name and name not in present and name in types and not integer:
                copy.graph.output.append(types[name])
                present.add(name)
                exposed.append(name)
    return copy, exposed


def _agree(reference: np.ndarray, other: np.ndarray, rtol: float) -> np.ndarray:
    """Elementwise agreement (floats relative to the reference tensor's largest magnitude)."""
    if reference.shape != other.shape:
        return np.zeros(reference.shape, bool)
    if reference.dtype.kind in "fc":
        scale = max(float(np.max(np.abs(reference))) if reference.size else 0.0, 1e-30)
        both_nan = np.isnan(reference) & np.isnan(other)
        return both_nan | (np.abs(reference.astype(np.float64) - other) <= rtol * scale)
    return reference == other


def _comparison_margin(node: onnx.NodeProto, values: dict[str, np.ndarray],
                       flipped: np.ndarray) -> float:
    """max |a − b| over the flipped elements of a comparison, relative to a's scale."""
    left, right = (np.broadcast_to(values[name], flipped.shape).astype(np.float64)
                   for name in node.input[:2])
    scale = max(float(np.max(np.abs(values[node.input[0]]))), 1e-30)
    return float(np.max(np.abs(left - right)[flipped])) / scale


def _argmax_margin(data: np.ndarray, reference_indices: np.ndarray, other_indices: np.ndarray,
                   flipped: np.ndarray) -> float:
    """Max-pool indices: the gap between the two runtimes' chosen maxima (reference values)."""
    flat = data.reshape(-1).astype(np.float64)
    scale = max(float(np.max(np.abs(flat))), 1e-30)
    chosen = flat[reference_indices[flipped]], flat[other_indices[flipped]]
    return float(np.max(np.abs(chosen[0] - chosen[1]))) / scale


def _margin(node: onnx.NodeProto, output: str, values: dict[str, np.ndarray],
            other: dict[str, np.ndarray], flipped: np.ndarray) -> float | None:
    """How close the flipped decisions were in the reference (None: not a decision output)."""
    if node.op_type in COMPARISONS:
        return _comparison_margin(node, values, flipped)
    if node.op_type == "MaxPool" and len(node.output) > 1 and output == node.output[1]:
        return _argmax_margin(values[node.input[0]], values[output], other[output], flipped)
    return None


class _Values(dict):
    """The reference's value of any tensor: a feed, a computed tensor, or an initializer (read
    from the model only when a decision's margin needs it)."""

    def __init__(self, feeds: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                 initializers: dict[str, onnx.TensorProto]) -> None:
        super().__init__({**feeds, **reference})
        self.initializers = initializers

    def __missing__(self, name: str) -> np.ndarray:
        value = numpy_helper.to_array(self.initializers[name])
        self[name] = value
        return value


def _known_bug(node: onnx.NodeProto, output: str, values: dict[str, np.ndarray],
               other: dict[str, np.ndarray], known_bugs: Mapping[str, KnownBug],
               rtol: float) -> str | None:
    """The description of the other runtime's known defect at this node, when its output is
    what the defect computes from the node's (agreeing) inputs; else None."""
    bug = known_bugs.get(node.op_type)
    if bug is None or output != node.output[0]:
        return None
    inputs = [values[name] for name in node.input if name]
    return bug.description if bug.explains(node, inputs, other[output], rtol) else None


def find_origins(model: onnx.ModelProto, reference: dict[str, np.ndarray],
                 other: dict[str, np.ndarray], feeds: dict[str, np.ndarray], rtol: float,
                 known_bugs: Mapping[str, KnownBug] | None = None) -> list[Origin]:
    """The origins (see the module docstring) given both runtimes' values of every tensor;
    `known_bugs` are the other runtime's (op type → defect)."""
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    agrees: dict[str, bool] = {name: True for name in list(feeds) + list(initializers)}
    values = _Values(feeds, reference, initializers)
    origins = []
    for node in model.graph.node:
        inputs_agree = all(agrees.get(name, False) for name in node.input if name)
        for output in node.output:
            if output not in reference or output not in other:
                agrees[output] = False
                continue
            elementwise = _agree(reference[output], other[output], rtol)
            agrees[output] = bool(elementwise.all())
            if inputs_agree and not agrees[output]:
                flipped = ~elementwise
                margin = _margin(node, output, values, other, flipped)
                bug = _known_bug(node, output, values, other, known_bugs or {}, rtol)
                origins.append(Origin(node.name or output, node.op_type, output,
                                      int(flipped.sum()), int(flipped.size), margin, bug))
    return origins


def diagnose(model_path: Path, case: Case, run_reference: Runner, run_other: Runner,
             workdir: Path, rtol: float,
             known_bugs: Mapping[str, KnownBug] | None = None) -> list[Origin]:
    """Runs the instrumented model in both runtimes on `case` and returns the origins
    (`known_bugs`: the other runtime's)."""
    model = onnx.load(str(model_path))
    probe, exposed = instrumented(model)
    workdir.mkdir(parents=True, exist_ok=True)
    probe_path = workdir / "instrumented.onnx"
    onnx.save(probe, str(probe_path))
    outputs = tuple(dict.fromkeys(list(case.outputs) + exposed))
    probe_case = Case(case.name, case.feeds, outputs)
    reference = run_reference(probe_path, probe_case)
    other = run_other(probe_path, probe_case)
    return find_origins(model, reference, other, dict(case.feeds), rtol, known_bugs)
