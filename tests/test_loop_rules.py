"""The loop's rules (schedule, L2, stop) are defined once in reproduce.step.rules and read by
both the Python loop and the ONNX Loop export."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from reproduce.step import loop_export, rules
from reproduce.step.rules import Schedule


def run_rule_graph(nodes, inputs: dict[str, np.ndarray], output: str, elem_type) -> np.ndarray:
    """Runs emitted rule nodes as a model in ONNX Runtime."""
    graph_inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype),
                                                  list(value.shape)) for name, value in inputs.items()]
    graph = helper.make_graph(nodes, "rule", graph_inputs,
                              [helper.make_tensor_value_info(output, elem_type, list(next(iter(inputs.values())).shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([output], inputs)[0]


@pytest.mark.parametrize("n_iters,start,end", [(200, 8.0, 1e-10), (30, 1.0, 1e-10), (7, 2.0, 2.0),
                                               (3, 0.1, 0.7)])
def test_schedule_is_the_releases_expression_bit_for_bit(n_iters, start, end):
    schedule = Schedule(n_iters, start, end, 0.99)
    for i in range(n_iters):
        assert schedule.step_size(i) == start + ((end - start) * i) / n_iters


@pytest.mark.parametrize("l2,factor", [(0.99, 0.99), (1.0, 1.0), (0.0, 1.0), (-0.5, 1.0), (1.5, 1.0)])
def test_l2_applies_only_strictly_between_0_and_1(l2, factor):
    assert Schedule(1, 1.0, 1.0, l2).l2_factor == factor


def test_end_lr_below_zero_means_the_start_rate():
    assert Schedule.from_flags(10, 2.0, -1.0, 1.0).lr_end == 2.0


def test_onnx_schedule_equals_the_python_one_bit_for_bit():
    schedule = Schedule(200, 8.0, 1e-10, 0.99)
    nodes = loop_export._schedule_nodes()
    for i in (0, 1, 57, 199):
        value = run_rule_graph(nodes, {"iteration": np.array(i, np.int64),
                                       "n_iters": np.array(200, np.int64),
                                       "lr_start": np.array(8.0), "lr_end": np.array(1e-10)},
                               "step", TensorProto.DOUBLE)
        assert float(value) == schedule.step_size(i)


@pytest.mark.parametrize("l2", [0.99, 1.0, 0.0, -3.0, 0.5])
def test_onnx_l2_factor_equals_the_python_one(l2):
    value = run_rule_graph(loop_export._l2_factor_nodes(), {"L2": np.array(l2)}, "l2",
                           TensorProto.DOUBLE)
    assert float(value) == Schedule(1, 1.0, 1.0, l2).l2_factor


def test_onnx_stop_rule_equals_the_python_one():
    gen = np.array([0, 1, 0, 2, np.nan], np.float32)
    net = np.array([0, 0, 3, 4, 0], np.float32)
    nodes = rules.emit(rules.STOPPED, {"gen_grad_norm": "g", "net_grad_norm": "n"}, "stopped", "s/")
    value = run_rule_graph(nodes, {"g": gen, "n": net}, "stopped", TensorProto.BOOL)
    np.testing.assert_array_equal(value, rules.stopped(gen, net))
    np.testing.assert_array_equal(value, [True, True, True, False, True])


def test_both_loops_read_the_one_definition(monkeypatch):
    """Changing the rule in reproduce.step.rules changes the Python schedule and the ONNX Loop's."""
    constant = rules.Var("lr_end")
    monkeypatch.setattr(rules, "STEP_SIZE", constant)
    schedule = Schedule(10, 8.0, 0.5, 1.0)
    assert schedule.step_size(3) == 0.5
    value = run_rule_graph(loop_export._schedule_nodes(), {
        "iteration": np.array(3, np.int64), "n_iters": np.array(10, np.int64),
        "lr_start": np.array(8.0), "lr_end": np.array(0.5)}, "step", TensorProto.DOUBLE)
    assert float(value) == 0.5
    monkeypatch.setattr(rules, "L2_FACTOR", rules.Const(0.25))
    assert Schedule(1, 1.0, 1.0, 0.99).l2_factor == 0.25
    assert float(run_rule_graph(loop_export._l2_factor_nodes(), {"L2": np.array(0.99)}, "l2",
                                TensorProto.DOUBLE)) == 0.25
