"""The walker and its contract: names and shapes of the VJP model's inputs/outputs, one
forward pass, backward nodes only on wrt->of paths, accumulation where a tensor fans
out, initializers as wrt, clear errors, and the `python -m converters vjp` CLI."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from converters import build_vjp
from converters.vjp.context import VJPError
from converters.vjp.rules import RULES
from support.paths import REPO_ROOT
from support.vjp_check import check_vjp, runner



def _model(nodes, inputs, outputs, initializers=(), elem_type=TensorProto.FLOAT, opset=17):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, elem_type, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, elem_type, None) for n in outputs],
        [numpy_helper.from_array(v.astype(helper.tensor_dtype_to_np_dtype(elem_type)), k)
         for k, v in initializers])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _two_branch_model(elem_type=TensorProto.FLOAT):
    """y = tanh(b) + sigmoid(a * W) with W an initializer; z = sin(b) is a side output."""
    w = np.linspace(-1, 1, 12).reshape(3, 4)
    nodes = [helper.make_node("MatMul", ["a", "W"], ["aw"], name="matmul"),
             helper.make_node("Sigmoid", ["aw"], ["s"], name="sigmoid"),
             helper.make_node("Tanh", ["b"], ["t"], name="tanh"),
             helper.make_node("Add", ["s", "t"], ["y"], name="add"),
             helper.make_node("Sin", ["b"], ["z"], name="sin")]
    return _model(nodes, [("a", ["N", 3]), ("b", ["N", 4])], ["y", "z"], [("W", w)], elem_type)


def test_inputs_and_outputs_follow_the_naming_contract():
    model = build_vjp(_two_branch_model(), ["a", "W"], ["y"])
    inputs = {i.name: i for i in model.graph.input}
    assert list(inputs) == ["a", "b", "W", "y_grad"]
    assert [o.name for o in model.graph.output] == ["y", "a_grad", "W_grad"]
    dims = [d.dim_param or d.dim_value for d in inputs["y_grad"].type.tensor_type.shape.dim]
    assert dims == ["N", 4]
    outputs = {o.name: o for o in model.graph.output}
    assert [d.dim_value for d in outputs["W_grad"].type.tensor_type.shape.dim] == [3, 4]
    assert all(init.name != "W" for init in model.graph.initializer)
    onnx.checker.check_model(model, full_check=True)
    assert {node.domain for node in model.graph.node} <= {""}


def test_backward_reuses_the_forward_pass():
    """Each forward node appears once: the backward reads its tensors, it does not rerun it."""
    forward = _two_branch_model()
    model = build_vjp(forward, ["a"], ["y"])
    forward_outputs = {o for n in forward.graph.node for o in n.output}
    producers = [o for n in model.graph.node for o in n.output if o in forward_outputs]
    assert len(producers) == len(set(producers))
    assert sum(n.op_type == "Sigmoid" for n in model.graph.node) == 1


def test_only_nodes_on_a_wrt_to_of_path_get_a_rule(monkeypatch):
    def must_not_run(ctx, node, grads):
        raise AssertionError(f"rule called for {node.name}, which is off the path")
    monkeypatch.setitem(RULES, "Tanh", must_not_run)
    model = build_vjp(_two_branch_model(), ["a"], ["y"])
    assert "sin" not in {n.name for n in model.graph.node}


def test_fan_out_gradients_add_up_and_match_finite_differences():
    """x feeds Mul twice and Exp: dy/dx = 2x + exp(x), summed from three uses."""
    def make(elem_type):
        nodes = [helper.make_node("Mul", ["x", "x"], ["sq"], name="square"),
                 helper.make_node("Exp", ["x"], ["e"], name="exp"),
                 helper.make_node("Add", ["sq", "e"], ["y"], name="add")]
        return _model(nodes, [("x", [2, 3])], ["y"], elem_type=elem_type)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3))
    grads = check_vjp("walker: fan-out", make, {"x": x}, ["x"], ["y"])
    assert grads["x"].shape == x.shape


def test_several_of_outputs_and_an_intermediate_of_accumulate():
    def make(elem_type):
        nodes = [helper.make_node("Tanh", ["x"], ["h"], name="tanh"),
                 helper.make_node("Mul", ["h", "h"], ["y"], name="square")]
        return _model(nodes, [("x", [4])], ["h", "y"], elem_type=elem_type)
    x = np.random.default_rng(1).uniform(-1, 1, 4)
    check_vjp("walker: two of", make, {"x": x}, ["x"], ["h", "y"])


def test_initializer_in_wrt_gets_its_gradient():
    def make(elem_type):
        return _two_branch_model(elem_type)
    rng = np.random.default_rng(2)
    values = {"a": rng.uniform(-1, 1, (2, 3)), "b": rng.uniform(-1, 1, (2, 4)),
              "W": np.linspace(-1, 1, 12).reshape(3, 4)}
    check_vjp("walker: initializer wrt", make, values, ["a", "W"], ["y"])


def test_dynamic_batch_runs_at_any_batch_size():
    model = build_vjp(_two_branch_model(), ["a"], ["y"])
    run = runner(model, double=False)
    for batch in (1, 5):
        feeds = {"a": np.ones((batch, 3), np.float32), "b": np.ones((batch, 4), np.float32),
                 "y_grad": np.ones((batch, 4), np.float32)}
        y, a_grad = run(feeds)
        assert y.shape == (batch, 4) and a_grad.shape == (batch, 3)


def test_wrt_that_does_not_reach_of_gets_zero_gradient():
    model = build_vjp(_two_branch_model(), ["a"], ["z"])
    feeds = {"a": np.ones((2, 3), np.float32), "b": np.full((2, 4), 0.5, np.float32),
             "z_grad": np.ones((2, 4), np.float32)}
    _, a_grad = runner(model, double=False)(feeds)
    np.testing.assert_array_equal(a_grad, np.zeros((2, 3), np.float32))


def test_op_without_rule_on_the_path_names_op_and_node():
    with pytest.raises(VJPError, match="no gradient rule for op Sin \\(node sin\\)"):
        build_vjp(_two_branch_model(), ["b"], ["z"])


@pytest.mark.parametrize("wrt,of,message", [
    (["nope"], ["y"], "wrt nope is not a graph input or initializer"),
    (["a"], ["nope"], "of nope is not a tensor of the graph"),
    (["a", "a"], ["y"], "wrt names a tensor twice"),
    ([], ["y"], "need at least one"),
    (["a"], ["a"], "named both as wrt and as of"),
])
def test_bad_requests_are_one_clear_error(wrt, of, message):
    with pytest.raises(VJPError, match=message):
        build_vjp(_two_branch_model(), wrt, of)


def test_old_opset_is_refused():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [("x", [2])], ["y"], opset=11)
    with pytest.raises(VJPError, match="opset 11 is too old"):
        build_vjp(model, ["x"], ["y"])


# ---- CLI ------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "converters", "vjp", *map(str, args)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_cli_writes_a_runnable_vjp_model(tmp_path):
    onnx.save(_two_branch_model(), tmp_path / "net.onnx")
    result = _cli(tmp_path / "net.onnx", "-o", tmp_path / "net_vjp.onnx", "--wrt", "a",
                  "--wrt", "W", "--of", "y")
    assert result.returncode == 0, result.stderr
    model = onnx.load(tmp_path / "net_vjp.onnx")
    assert [o.name for o in model.graph.output] == ["y", "a_grad", "W_grad"]
    assert "wrote" in result.stdout


def _save_with_external_weights(path) -> None:
    """The two-branch model as torch.onnx.export(dynamo=True) saves one: W in NET.onnx.data."""
    onnx.save_model(_two_branch_model(), path, save_as_external_data=True,
                    all_tensors_to_one_file=True, location=f"{path.name}.data", size_threshold=0)


def test_cli_reads_weights_kept_in_an_external_file_beside_the_model(tmp_path):
    _save_with_external_weights(tmp_path / "net.onnx")
    (tmp_path / "out").mkdir()  # elsewhere: the written model holds the weights itself
    result = _cli(tmp_path / "net.onnx", "-o", tmp_path / "out" / "net_vjp.onnx", "--wrt", "a",
                  "--of", "y")
    assert result.returncode == 0, result.stderr
    model = onnx.load(tmp_path / "out" / "net_vjp.onnx")
    w = next(t for t in model.graph.initializer if t.name == "W")
    np.testing.assert_array_equal(numpy_helper.to_array(w),
                                  np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))


@pytest.mark.parametrize("case", ["missing", "truncated", "unknown wrt", "no rule",
                                  "external weights missing"])
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, case):
    source = tmp_path / "net.onnx"
    data = _two_branch_model().SerializeToString()
    if case == "truncated":
        source.write_bytes(data[:len(data) // 2])
    elif case == "external weights missing":
        _save_with_external_weights(source)
        (tmp_path / "net.onnx.data").unlink()
    elif case != "missing":
        source.write_bytes(data)
    wrt, of = {"unknown wrt": ("zzz", "y"), "no rule": ("b", "z")}.get(case, ("a", "y"))
    target = tmp_path / "out.onnx"
    result = _cli(source, "-o", target, "--wrt", wrt, "--of", of)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vjp: error: ") and str(source) in lines[0]
    assert "Traceback" not in result.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == ([source] if case != "missing"
                                                                else [])


def test_a_constant_weight_gets_no_gradient_nodes():
    """A depthwise Conv (group 8) differentiated for x only: no per-group weight correlation
    (Split, Slice) is built, which for ConvNeXt's and MaxViT's depthwise convolutions was
    tens of thousands of nodes and a minute of build_vjp; with W in wrt they are there."""
    w = np.linspace(-1, 1, 8 * 9).reshape(8, 1, 3, 3)
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="depthwise", group=8,
                              pads=[1, 1, 1, 1])]
    model = _model(nodes, [("x", [1, 8, 5, 5])], ["y"], [("W", w)])
    for wrt, split_nodes in ((["x"], 0), (["x", "W"], 2)):
        vjp = build_vjp(model, wrt, ["y"])
        assert sum(n.op_type == "Split" for n in vjp.graph.node) == split_nodes
