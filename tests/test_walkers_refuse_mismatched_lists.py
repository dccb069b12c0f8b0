"""Walkers that pair lists refuse a mismatch instead of silently truncating: a gradient rule
returning fewer gradients than its node has inputs, a layer converter returning fewer tops than
its layer declares (issue 20 item 3)."""
from __future__ import annotations

import dataclasses

import pytest
from onnx import TensorProto, helper

from converters.caffe import layers as caffe_layers
from converters.caffe.to_onnx import caffe_to_onnx
from converters.vjp import rules as vjp_rules
from converters.vjp.context import VJPError
from converters.vjp.transform import build_vjp
from support.tiny_nets import write_tiny_nets


def two_input_model():
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"], name="add")], "g",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in "ab"],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_rule_returning_too_few_gradients_is_refused(monkeypatch):
    monkeypatch.setitem(vjp_rules.RULES, "Add", lambda ctx, node, grads: [grads[0]])
    with pytest.raises(VJPError, match=r"the Add rule returned 1 gradients for the 2 inputs of node add"):
        build_vjp(two_input_model(), wrt=["a", "b"], of=["y"])


def test_a_rule_may_list_absent_optional_inputs_as_none(monkeypatch):
    original = vjp_rules.RULES["Add"]
    monkeypatch.setitem(vjp_rules.RULES, "Add", lambda ctx, node, grads: [*original(ctx, node, grads), None])
    model = build_vjp(two_input_model(), wrt=["a", "b"], of=["y"])
    assert {value.name for value in model.graph.output} == {"y", "a_grad", "b_grad"}


def test_a_rule_giving_a_gradient_to_an_absent_input_is_refused(monkeypatch):
    original = vjp_rules.RULES["Add"]
    monkeypatch.setitem(vjp_rules.RULES, "Add",
                        lambda ctx, node, grads: [*original(ctx, node, grads), grads[0]])
    with pytest.raises(VJPError, match="returned 3 gradients for the 2 inputs"):
        build_vjp(two_input_model(), wrt=["a", "b"], of=["y"])


def test_a_converter_returning_too_few_tops_is_refused(tmp_path, monkeypatch):
    nets = write_tiny_nets(tmp_path)
    relu = caffe_layers.CONVERTERS["ReLU"]
    monkeypatch.setitem(caffe_layers.CONVERTERS, "ReLU",
                        dataclasses.replace(relu, convert=lambda graph, layer, bottoms: []))
    with pytest.raises(RuntimeError, match=r"the ReLU converter returned 0 tops for the 1 tops of layer"):
        caffe_to_onnx(str(nets.classifier_prototxt), str(nets.classifier_caffemodel))
