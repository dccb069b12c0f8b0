"""Holding kink units in ONNX graphs, as tools/reference_caffe/kinks.py does in Caffe.

Each ReLU / LeakyRelu / MaxPool output T of a converted Caffe net becomes
``T * kink_mask|T + kink_held|T``: two extra inputs (overridable initializers defaulting to
ones and zeros, i.e. nothing held) fed per fixture record with the held units' mask and
Caffe's values there. A held unit then has Caffe's forward value and passes no gradient.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tools import synthetic_weights as sw

KINK_OPS = ("Relu", "LeakyRelu", "MaxPool")
MASK, HELD = "kink_mask|", "kink_held|"


def kink_layers(net_key: str) -> set[str]:
    """The net's ReLU layers and MAX pooling layers."""
    return {layer.name for layer in sw.NETS[net_key].layers()
            if layer.type == "ReLU" or (layer.type == "Pooling"
                                        and str(dict(layer.params)["pool"]) == "MAX")}


def kink_tensors(model: onnx.ModelProto, net_key: str) -> dict[str, str]:
    """Kink layer name -> the ONNX tensor its node writes (nodes are named LAYER:OP; the
    first such node is the forward one, gradient rules add later ones)."""
    layers, tensors = kink_layers(net_key), {}
    for node in model.graph.node:
        layer = node.name.split(":")[0]
        if node.op_type in KINK_OPS and layer in layers:
            tensors.setdefault(layer, node.output[0])
    return tensors


def rewrite_as_held(model: onnx.ModelProto, names: Iterable[str], mask_of: Callable[[str], str],
                    held_of: Callable[[str], str]) -> onnx.ModelProto:
    """A copy of `model` in which each node output T named in `names` becomes T·mask + held:
    its node writes `T|raw`, then a Mul by tensor `mask_of(T)` and an Add of `held_of(T)` write
    T. A held unit (mask 0) then has the held value and passes no gradient. The mask and held
    tensors are the caller's to add (initializers or inputs)."""
    names = set(names)
    held = onnx.ModelProto()
    held.CopyFrom(model)
    nodes = []
    for node in model.graph.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        nodes.append(copy)
        name = node.output[0] if node.output else ""
        if name in names:
            copy.output[0] = f"{name}|raw"
            nodes += [helper.make_node("Mul", [f"{name}|raw", mask_of(name)], [f"{name}|masked"],
                                       name=f"{name}|mask"),
                      helper.make_node("Add", [f"{name}|masked", held_of(name)], [name],
                                       name=f"{name}|hold")]
    del held.graph.node[:]
    held.graph.node.extend(nodes)
    return held


def with_kink_holds(model: onnx.ModelProto, net_key: str) -> onnx.ModelProto:
    """Each kink tensor T becomes T * kink_mask|T + kink_held|T: inputs that default to
    ones and zeros (no unit held) and are fed per record."""
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    shapes.update({o.name: [d.dim_value for d in o.type.tensor_type.shape.dim]
                   for o in model.graph.output})
    tensors = set(kink_tensors(model, net_key).values())
    held = rewrite_as_held(model, tensors, lambda name: MASK + name, lambda name: HELD + name)
    for name in sorted(tensors):
        for prefix, fill in ((MASK, np.ones), (HELD, np.zeros)):
            held.graph.initializer.append(numpy_helper.from_array(
                fill(shapes[name], np.float32), prefix + name))
            held.graph.input.append(helper.make_tensor_value_info(
                prefix + name, TensorProto.FLOAT, shapes[name]))
    return held


def kink_feeds(model: onnx.ModelProto, net_key: str,
               kinks: dict[str, tuple[np.ndarray, np.ndarray]],
               prefix: str = "") -> dict[str, np.ndarray]:
    """Mask and held arrays for every kink tensor of `model` (a with_kink_holds model)."""
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
              for i in model.graph.input}
    feeds = {}
    held_tensors = {layer: tensor.removesuffix("|raw")
                    for layer, tensor in kink_tensors(model, net_key).items()
                    if tensor.endswith("|raw")}
    for layer, tensor in held_tensors.items():
        mask = np.ones(shapes[MASK + tensor], np.float32)
        held = np.zeros_like(mask)
        if layer in kinks:
            indices, values = kinks[layer]
            mask.reshape(-1)[indices] = 0.0
            held.reshape(-1)[indices] = values
        feeds[prefix + MASK + tensor], feeds[prefix + HELD + tensor] = mask, held
    return feeds
