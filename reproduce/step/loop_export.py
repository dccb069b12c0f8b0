"""The whole DGN-AM loop as one ONNX model: the step graph as the body of an ONNX Loop.

Outer inputs: code (B×K f32, the start code), unit (B int64), n_iters (int64 scalar),
lr_start, lr_end, L2 (f64 scalars; as the release, the code is multiplied by L2 only when
0 < L2 < 1), and lower/upper (1×K f64) for the bound mode. The body computes iteration i's step size (reproduce.step.rules.STEP_SIZE), runs the step
graph, and clears a sample's `active` flag by rules.STOPPED; the loop ends when no sample is
active or after n iterations. The outer graph computes the L2 factor by rules.L2_FACTOR: the
same definitions the Python loop evaluates.
Outputs: final_code, final_image (each sample's last crop, BGR), final_active, and per iteration
(leading axis) acts, net_grad_norms, gen_grad_norms, codes and actives (whether the sample ran
that iteration; values of inactive samples are not part of their run).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from reproduce.step import rules

STATE = ("code", "best", "active")
OUTER = ("unit", "l2", "lower", "upper")
SCANS = (("act", "acts"), ("net_grad_norm", "net_grad_norms"), ("gen_grad_norm", "gen_grad_norms"),
         ("new_code", "codes"), ("active", "actives"))


def _value(name: str, elem_type: int, shape: list[int] | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def _schedule_nodes() -> list[onnx.NodeProto]:
    """rules.STEP_SIZE on the Loop's iteration counter (int64, cast to float64)."""
    casts = [helper.make_node("Cast", ["iteration"], ["iteration64"], to=TensorProto.DOUBLE),
             helper.make_node("Cast", ["n_iters"], ["n_iters64"], to=TensorProto.DOUBLE)]
    return casts + rules.emit(rules.STEP_SIZE, {"lr_start": "lr_start", "lr_end": "lr_end",
                                                "iteration": "iteration64",
                                                "n_iters": "n_iters64"}, "step", "schedule/")


def _stop_nodes() -> list[onnx.NodeProto]:
    """rules.STOPPED per sample; the loop goes on while any sample is still active."""
    make = helper.make_node
    return rules.emit(rules.STOPPED, {"gen_grad_norm": "gen_grad_norm",
                                      "net_grad_norm": "net_grad_norm"}, "stopped", "stop/") + [
        make("Not", ["stopped"], ["going_on"]),
        make("And", ["active", "going_on"], ["active_next"]),
        make("Cast", ["active_next"], ["active_count_int"], to=TensorProto.INT32),
        make("ReduceMax", ["active_count_int"], ["any_active_int"], keepdims=0),
        make("Cast", ["any_active_int"], ["cond_out"], to=TensorProto.BOOL)]


def _l2_factor_nodes() -> list[onnx.NodeProto]:
    """rules.L2_FACTOR: the factor `l2` the step graph multiplies the code by."""
    return rules.emit(rules.L2_FACTOR, {"L2": "L2"}, "l2", "l2_rule/")


# The carried state's names inside the body: a subgraph may not reuse an outer graph's name
# (ONNX scoping; OpenVINO resolves a body input named like an outer input to the outer one and
# rejects the Loop), so the body's `code` (outer: the start code) is `iter_code`, and so on.
CARRIED = {"code": "iter_code", "best": "iter_best", "active": "iter_active"}


def _renamed(nodes: list[onnx.NodeProto], names: dict[str, str]) -> list[onnx.NodeProto]:
    """Copies of `nodes` reading `names[x]` wherever they read x."""
    copies = []
    for node in nodes:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.input[:] = [names.get(name, name) for name in node.input]
        copies.append(copy)
    return copies


def _renamed_value(value: onnx.ValueInfoProto, name: str) -> onnx.ValueInfoProto:
    copy = onnx.ValueInfoProto()
    copy.CopyFrom(value)
    copy.name = name
    return copy


def build_loop_model(step: onnx.ModelProto) -> onnx.ModelProto:
    """Wraps a step graph (reproduce.step.graph) into a Loop model; see the module docstring.

    Every scan output is rank 1 per iteration (the codes are scanned flat, B·K, and reshaped to
    iterations×B×K after the Loop): the same values, and onnx's ReferenceEvaluator, which
    concatenates (np.vstack) rather than stacks higher-rank scan outputs, then gets them right.
    """
    step_inputs = {value.name: value for value in step.graph.input}
    step_outputs = {value.name: value for value in step.graph.output}
    code_info, best_info = step_inputs["code"], step_inputs["best"]
    code_shape = [d.dim_value for d in code_info.type.tensor_type.shape.dim]
    batch = code_shape[0]
    body_inputs = [_value("iteration", TensorProto.INT64, []), _value("cond_in", TensorProto.BOOL, []),
                   *(_renamed_value(step_inputs[name], CARRIED[name]) for name in STATE)]
    body_outputs = [_value("cond_out", TensorProto.BOOL, []), step_outputs["new_code"],
                    step_outputs["image"], _value("active_next", TensorProto.BOOL, [batch])]
    body_outputs += [step_outputs[name] if name in step_outputs else step_inputs[name]
                     for name, _ in SCANS[:-2]]
    body_outputs += [_value("new_code_scan", TensorProto.FLOAT, [batch * code_shape[1]]),
                     _value("active_scan", TensorProto.BOOL, [batch])]
    flat = numpy_helper.from_array(np.array([-1], np.int64))
    copies = [helper.make_node("Constant", [], ["scan_flat"], value=flat),
              helper.make_node("Reshape", ["new_code", "scan_flat"], ["new_code_scan"]),
              helper.make_node("Identity", ["active"], ["active_scan"])]
    body_nodes = _renamed(_schedule_nodes() + list(step.graph.node) + _stop_nodes() + copies, CARRIED)
    body = helper.make_graph(body_nodes, "dgn_am_iteration", body_inputs, body_outputs)

    outer_inputs = [code_info, step_inputs["unit"], _value("n_iters", TensorProto.INT64, []),
                    _value("lr_start", TensorProto.DOUBLE, []), _value("lr_end", TensorProto.DOUBLE, []),
                    _value("L2", TensorProto.DOUBLE, [])]
    outer_inputs += [step_inputs[name] for name in ("lower", "upper") if name in step_inputs]
    image_shape = [d.dim_value for d in best_info.type.tensor_type.shape.dim]
    scanned = [name if name != "codes" else "codes_flat" for _, name in SCANS]
    outer_nodes = _l2_factor_nodes() + [
        helper.make_node("Constant", [], ["loop_go"], value=numpy_helper.from_array(np.array(True))),
        helper.make_node("Constant", [], ["best_start"],
                         value=numpy_helper.from_array(np.zeros(image_shape, np.float32))),
        helper.make_node("Constant", [], ["active_start"],
                         value=numpy_helper.from_array(np.ones(batch, np.bool_))),
        helper.make_node("Loop", ["n_iters", "loop_go", "code", "best_start", "active_start"],
                         ["final_code", "final_image", "final_active"] + scanned,
                         body=body, name="dgn_am_loop"),
        helper.make_node("Constant", [], ["codes_shape"],
                         value=numpy_helper.from_array(np.array([-1, *code_shape], np.int64))),
        helper.make_node("Reshape", ["codes_flat", "codes_shape"], ["codes"])]
    outputs = [_value("final_code", TensorProto.FLOAT, code_shape),
               _value("final_image", TensorProto.FLOAT, image_shape),
               _value("final_active", TensorProto.BOOL, [batch])]
    per_sample = {"acts": [batch], "net_grad_norms": [batch], "gen_grad_norms": [batch],
                  "codes": code_shape, "actives": [batch]}
    outputs += [_value(name, TensorProto.BOOL if name == "actives" else TensorProto.FLOAT,
                       ["iterations", *per_sample[name]]) for _, name in SCANS]
    graph = helper.make_graph(outer_nodes, "dgn_am_loop", outer_inputs, outputs,
                              initializer=list(step.graph.initializer))
    model = helper.make_model(graph, opset_imports=list(step.opset_import),
                              producer_name="reproduce.step.loop_export")
    model.ir_version = step.ir_version
    return model
