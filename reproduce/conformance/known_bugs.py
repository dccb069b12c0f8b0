"""A runtime's known defects, each with its signature: what the defective op computes.

A difference is labelled a runtime's bug only when the runtime's output of that node equals what
the defect predicts from the node's inputs (within the comparison's tolerance); any other
difference at the same op stays a real difference. So a label cannot outlive the bug: when the
runtime is fixed, or fails in another way, the prediction no longer matches.

The one known today, onnx's ReferenceEvaluator LRN (onnx/reference/ops/op_lrn.py, onnx 1.23):
its loop over channels runs `for c in range(x.shape[0])`, the batch size N, instead of the
channel count C. Channels c < N get the ONNX formula, `y = x / (bias + alpha/size · Σ x²)^beta`
over the window [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] clipped to [0, C); channels c ≥ N keep a
window sum of 0, so `y = x / bias^beta`. (For N > C it indexes past the channels and raises.)
tests/test_conformance_known_bugs.py shows the evaluator computing exactly this, and ONNX Runtime
the specified formula.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

Prediction = Callable[[onnx.NodeProto, Sequence[np.ndarray]], np.ndarray | None]


@dataclass(frozen=True)
class KnownBug:
    """A defect of one op in one runtime: its description and what the defective op computes
    from the node's inputs (None: the defect predicts no output for these inputs)."""

    op_type: str
    description: str
    predict: Prediction

    def explains(self, node: onnx.NodeProto, inputs: Sequence[np.ndarray], output: np.ndarray,
                 rtol: float) -> bool:
        """Whether `output` (the runtime's value of the node's first output) is the defect's
        prediction, within `rtol` relative to the output's largest magnitude."""
        if node.op_type != self.op_type:
            return False
        predicted = self.predict(node, inputs)
        if predicted is None or predicted.shape != output.shape:
            return False
        scale = max(float(np.max(np.abs(predicted))) if predicted.size else 0.0, 1e-30)
        return bool(np.all(np.abs(predicted - output.astype(np.float64)) <= rtol * scale))


def lrn_attributes(node: onnx.NodeProto) -> tuple[float, float, float, int]:
    """(alpha, beta, bias, size) of an LRN node, with ONNX's defaults."""
    values = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
    return (float(values.get("alpha", 1e-4)), float(values.get("beta", 0.75)),
            float(values.get("bias", 1.0)), int(values["size"]))


def lrn_summing_first_batch_channels(node: onnx.NodeProto,
                                     inputs: Sequence[np.ndarray]) -> np.ndarray | None:
    """onnx 1.23's reference LRN (see the module docstring), in float64."""
    x = np.asarray(inputs[0], np.float64)
    if x.ndim != 4 or x.shape[0] > x.shape[1]:
        return None  # it raises for these
    alpha, beta, bias, size = lrn_attributes(node)
    below, above = math.floor((size - 1) / 2), math.ceil((size - 1) / 2) + 1
    square_sum = np.zeros_like(x)
    for channel in range(x.shape[0]):  # the defect: the batch size, not x.shape[1]
        begin, end = max(0, channel - below), min(x.shape[1], channel + above)
        square_sum[:, channel] = np.sum(x[:, begin:end] ** 2, axis=1)
    return x / (bias + (alpha / size) * square_sum) ** beta


REFERENCE_EVALUATOR_LRN = KnownBug(
    "LRN", "its LRN sums the window only for the first B channels, B = batch "
           "(onnx/reference/ops/op_lrn.py loops over the batch size)", lrn_summing_first_batch_channels)
