"""Small ONNX models built with onnx.helper for the own-network tests of issue 22: a pooled
classifier at any opset (ReduceMean in the form of its opset), a token model in either layout,
a net whose tensor names are hostile file names, and saving with external data.

Every model takes a 3×64×64 image (the demo generator's whole image, so with the `caffe`
preset the input adapter is the identity and the net sees exactly the step graph's crop).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIDE = 64  # the demo generator's image side (act_max's default crop for it)
CLASSES = 5
TOKEN_CHANNELS = 6
PATCH = 16
TOKENS = (SIDE // PATCH) ** 2  # 16


class _Graph:
    """Nodes and seeded float32 initializers of one graph."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def tensor(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name: str, *shape: int, scale: float = 0.3) -> str:
        return self.tensor(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def node(self, op_type: str, inputs: list[str], output: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=f"node:{output}",
                                           **attributes))
        return output

    def reduce_mean(self, x: str, axes: list[int], output: str, opset: int) -> str:
        """ReduceMean, keepdims 0, with `axes` as an input from opset 18, an attribute before."""
        if opset >= 18:
            return self.node("ReduceMean", [x, self.tensor(f"{output}.axes", np.array(axes, np.int64))],
                             output, keepdims=0)
        return self.node("ReduceMean", [x], output, axes=axes, keepdims=0)

    def model(self, name: str, opset: int, logits_shape: list) -> onnx.ModelProto:
        image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, SIDE, SIDE])
        logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, logits_shape)
        graph = helper.make_graph(self.nodes, name, [image], [logits], initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="tests.onnx_small_models")
        model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
        onnx.checker.check_model(model, full_check=True)
        return model


def pooled_classifier(opset: int, seed: int = 0) -> onnx.ModelProto:
    """Conv 3→8 (3×3, stride 4) → Relu → ReduceMean over H, W (`pooled`) → Gemm (`logits`)."""
    g = _Graph(seed)
    x = g.node("Conv", ["image", g.weight("conv.weight", 8, 3, 3, 3, scale=0.02),
                        g.weight("conv.bias", 8)], "conv", kernel_shape=[3, 3], strides=[4, 4],
               pads=[1, 1, 1, 1])
    pooled = g.reduce_mean(g.node("Relu", [x], "relu"), [2, 3], "pooled", opset)
    g.node("Gemm", [pooled, g.weight("fc.weight", CLASSES, 8), g.weight("fc.bias", CLASSES)],
           "logits", transB=1)
    return g.model("pooled_classifier", opset, ["N", CLASSES])


def token_model(layout: str, opset: int = 17, seed: int = 0) -> onnx.ModelProto:
    """Patches (Conv 16×16, stride 16: 16 tokens of 6 channels) as tokens in `layout` "btc"
    ([N, T, C]) or "tbc" ([T, N, C]): `tokens`; MatMul (`mixed`); divided by `scale`, a
    [1]-shaped constant computed from the shape (√C, as attention scales are); Relu (`act`);
    the mean over the tokens (`pooled`); Gemm (`logits`)."""
    g = _Graph(seed)
    patches = g.node("Conv", ["image", g.weight("patch.weight", TOKEN_CHANNELS, 3, PATCH, PATCH,
                                                scale=0.01)], "patches",
                     kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    rows = g.node("Reshape", [patches, g.tensor("rows.shape", np.array([0, TOKEN_CHANNELS, -1],
                                                                       np.int64))], "rows")
    perm = [0, 2, 1] if layout == "btc" else [2, 0, 1]
    tokens = g.node("Transpose", [rows], "tokens", perm=perm)
    mixed = g.node("MatMul", [tokens, g.weight("mix.weight", TOKEN_CHANNELS, TOKEN_CHANNELS)],
                   "mixed")
    g.node("Reshape", [mixed, g.tensor("merged.shape", np.array([1, -1, TOKEN_CHANNELS], np.int64))],
           "merged")  # the batch merged into the tokens: no batch axis of its own (a dead end)
    width = g.node("Slice", [g.node("Shape", [mixed], "mixed_shape"),
                             g.tensor("width.start", np.array([2], np.int64)),
                             g.tensor("width.end", np.array([3], np.int64))], "width")
    scale = g.node("Sqrt", [g.node("Cast", [width], "width_float", to=TensorProto.FLOAT)], "scale")
    act = g.node("Relu", [g.node("Div", [mixed, scale], "scaled")], "act")
    pooled = g.reduce_mean(act, [1 if layout == "btc" else 0], "pooled", opset)
    g.node("Gemm", [pooled, g.weight("fc.weight", CLASSES, TOKEN_CHANNELS),
                    g.weight("fc.bias", CLASSES)], "logits", transB=1)
    return g.model(f"token_model_{layout}", opset, ["N", CLASSES])


def named_chain(names: list[str], opset: int = 17, seed: int = 0) -> onnx.ModelProto:
    """Conv (named names[0]) → Relu → Relu ... (named names[1:]) → GlobalAveragePool →
    Flatten (`logits`): a net whose tensors carry the given names."""
    g = _Graph(seed)
    x = g.node("Conv", ["image", g.weight("conv.weight", 4, 3, 3, 3, scale=0.02)], names[0],
               kernel_shape=[3, 3], strides=[4, 4], pads=[1, 1, 1, 1])
    for name in names[1:]:
        x = g.node("Relu", [x], name)
    g.node("Flatten", [g.node("GlobalAveragePool", [x], "pool")], "logits", axis=1)
    return g.model("named_chain", opset, ["N", 4])


def save_with_external_data(model: onnx.ModelProto, path: str | Path) -> Path:
    """Saves `model` with every initializer of 128 bytes or more in `<name>.data` beside it
    (relative location; small ones such as axes stay inline, which ONNX Runtime needs),
    as torch.onnx.export(..., dynamo=True) does; returns the model's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=128)
    return path
