"""The "runtime bug" label is earned: onnx's ReferenceEvaluator LRN really computes the defect's
signature (a window summed only for the first N channels, N the batch size), ONNX Runtime the
LRN the ONNX spec defines, and the diagnosis attributes a difference to the defect only when the
output has that signature.

Tolerances: an LRN of 3-term float32 sums and one power, each value within a few float32 ulps
(~1e-7 relative) of the float64 formula; 1e-5 (the conformance tolerance) leaves a wide margin,
while the defect moves the channels it skips by 10-80 % with the attributes used here.
"""
from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from reproduce.conformance.compare import RTOL
from reproduce.conformance.diagnose import find_origins
from reproduce.conformance.known_bugs import (REFERENCE_EVALUATOR_LRN, lrn_attributes,
                                              lrn_summing_first_batch_channels)
from reproduce.conformance.runtimes import RUNTIMES

ALPHA, BETA, BIAS, SIZE = 0.5, 0.75, 2.0, 3
SHAPE = (2, 5, 3, 3)  # batch 2 < 5 channels: channels 2, 3, 4 are the ones the defect skips


def lrn_as_specified(x: np.ndarray, alpha: float, beta: float, bias: float, size: int) -> np.ndarray:
    """The ONNX operator's definition, float64: square_sum[n, c] = Σ x[n, i]² over
    max(0, c − ⌊(size−1)/2⌋) ≤ i ≤ min(C − 1, c + ⌈(size−1)/2⌉); y = x / (bias + alpha/size ·
    square_sum)^beta."""
    x = x.astype(np.float64)
    channels = x.shape[1]
    square_sum = np.stack([np.sum(x[:, max(0, c - math.floor((size - 1) / 2)):
                                     min(channels - 1, c + math.ceil((size - 1) / 2)) + 1] ** 2, axis=1)
                           for c in range(channels)], axis=1)
    return x / (bias + alpha / size * square_sum) ** beta


def lrn_model():
    node = helper.make_node("LRN", ["x"], ["y"], name="norm", alpha=ALPHA, beta=BETA, bias=BIAS,
                            size=SIZE)
    graph = helper.make_graph([node], "lrn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), node


@pytest.fixture(scope="module")
def lrn_outputs():
    model, node = lrn_model()
    x = np.random.default_rng(0).uniform(-2, 2, SHAPE).astype(np.float32)
    (evaluator,) = ReferenceEvaluator(model).run(None, {"x": x})
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (onnxruntime,) = session.run(None, {"x": x})
    return model, node, x, evaluator, onnxruntime


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b)))


def test_reference_evaluators_lrn_sums_the_window_only_for_the_first_batch_size_channels(lrn_outputs):
    _, node, x, evaluator, _ = lrn_outputs
    specified = lrn_as_specified(x, ALPHA, BETA, BIAS, SIZE)
    batch = SHAPE[0]
    assert relative(evaluator[:, :batch], specified[:, :batch]) <= RTOL
    # the other channels: no window sum at all, y = x / bias^beta
    assert relative(evaluator[:, batch:], x[:, batch:] / BIAS ** BETA) <= RTOL
    assert relative(evaluator[:, batch:], specified[:, batch:]) > 0.1
    assert relative(evaluator, lrn_summing_first_batch_channels(node, [x])) <= RTOL
    assert lrn_attributes(node) == (ALPHA, BETA, BIAS, SIZE)


def test_onnxruntimes_lrn_is_the_specified_one(lrn_outputs):
    _, _, x, _, onnxruntime = lrn_outputs
    assert relative(onnxruntime, lrn_as_specified(x, ALPHA, BETA, BIAS, SIZE)) <= RTOL


def test_the_reference_evaluator_declares_the_lrn_defect():
    assert RUNTIMES["reference"].known_bugs == {"LRN": REFERENCE_EVALUATOR_LRN}


def test_a_difference_is_the_known_bug_only_when_the_output_has_its_signature(lrn_outputs):
    model, _, x, evaluator, onnxruntime = lrn_outputs
    feeds = {"x": x}
    known = {"LRN": REFERENCE_EVALUATOR_LRN}
    (origin,) = find_origins(model, {"y": onnxruntime}, {"y": evaluator}, feeds, RTOL, known)
    assert origin.op_type == "LRN" and origin.known_bug == REFERENCE_EVALUATOR_LRN.description
    assert REFERENCE_EVALUATOR_LRN.description in origin.describe()
    # another defect at the same op (every output 1 % off) is not attributed to it
    (origin,) = find_origins(model, {"y": onnxruntime}, {"y": onnxruntime * np.float32(1.01)},
                             feeds, RTOL, known)
    assert origin.known_bug is None
    # nor is the evaluator's output without the defect declared
    (origin,) = find_origins(model, {"y": onnxruntime}, {"y": evaluator}, feeds, RTOL)
    assert origin.known_bug is None
