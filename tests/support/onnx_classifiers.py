"""Small ONNX classifiers built with onnx.helper and seeded random weights, for `--net_onnx`.

Three architecture families, each at a chosen opset (13 and 17 in the tests):

* `resnet_style`: Conv → BatchNormalization → Relu, MaxPool, two residual blocks (the second
  with a strided 1×1 projection shortcut), GlobalAveragePool, Flatten, Gemm;
* `mobilenet_style`: Conv → BN → HardSwish (before opset 14: x · HardSigmoid(x)), depthwise
  Conv → BN → Clip(0, 6) (ReLU6), a squeeze-excite gate (GlobalAveragePool, 1×1 Convs,
  HardSigmoid, Mul), strided depthwise Conv → HardSwish, pointwise Conv, GlobalAveragePool,
  Gemm;
* `squeezenet_style`: Conv → Relu, MaxPool, two Fire modules (1×1 squeeze, 1×1 and 3×3
  expand branches joined by Concat), 1×1 Conv classifier, GlobalAveragePool, Flatten.

Each takes a 3×S×S float32 image (`side`), names its last tensor `logits` (N×CLASSES) and
keeps readable tensor names (`block1/add`, `fire2/concat`, ...). The batch dimension is
symbolic (`N`) unless `batch` is given; `symbolic_size` makes H and W symbolic too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CLASSES = 10


class _Builder:
    """Nodes and seeded random initializers of one graph; tensors named after their role."""

    def __init__(self, seed: int, opset: int) -> None:
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def weight(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def node(self, op_type: str, inputs: list[str], output: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def conv(self, x: str, name: str, c_in: int, c_out: int, kernel: int, stride: int = 1,
             pad: int = 0, group: int = 1, bias: bool = True) -> str:
        fan_in = c_in // group * kernel * kernel
        w = self.rng.standard_normal((c_out, c_in // group, kernel, kernel)) * np.sqrt(2.0 / fan_in)
        inputs = [x, self.weight(f"{name}.weight", w)]
        if bias:
            inputs.append(self.weight(f"{name}.bias", self.rng.standard_normal(c_out) * 0.1))
        return self.node("Conv", inputs, name, kernel_shape=[kernel, kernel],
                         strides=[stride, stride], pads=[pad] * 4, group=group)

    def batch_norm(self, x: str, name: str, channels: int) -> str:
        rng = self.rng
        params = [self.weight(f"{name}.scale", rng.uniform(0.5, 1.5, channels)),
                  self.weight(f"{name}.bias", rng.standard_normal(channels) * 0.1),
                  self.weight(f"{name}.mean", rng.standard_normal(channels) * 0.1),
                  self.weight(f"{name}.var", rng.uniform(0.5, 1.5, channels))]
        return self.node("BatchNormalization", [x, *params], name, epsilon=1e-5)

    def gemm(self, x: str, name: str, c_in: int, c_out: int) -> str:
        w = self.rng.standard_normal((c_out, c_in)) * np.sqrt(1.0 / c_in)
        return self.node("Gemm", [x, self.weight(f"{name}.weight", w),
                                  self.weight(f"{name}.bias", self.rng.standard_normal(c_out) * 0.1)],
                         name, transB=1)

    def clip(self, x: str, name: str, low: float, high: float) -> str:
        return self.node("Clip", [x, self.weight(f"{name}.min", np.array(low)),
                                  self.weight(f"{name}.max", np.array(high))], name)

    def hard_swish(self, x: str, name: str) -> str:
        """HardSwish (opset 14+); before it, x · HardSigmoid(x), as exporters write it."""
        if self.opset >= 14:
            return self.node("HardSwish", [x], name)
        gate = self.node("HardSigmoid", [x], f"{name}_gate", alpha=1.0 / 6.0, beta=0.5)
        return self.node("Mul", [x, gate], name)

    def model(self, name: str, side: int, batch: int | None,
              symbolic_size: bool) -> onnx.ModelProto:
        spatial = ["H", "W"] if symbolic_size else [side, side]
        image = helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                              [batch if batch else "N", 3, *spatial])
        logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                               [batch if batch else "N", CLASSES])
        graph = helper.make_graph(self.nodes, name, [image], [logits], initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="tests.onnx_classifiers")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


def resnet_style(*, side: int = 32, opset: int = 17, seed: int = 0, batch: int | None = None,
                 symbolic_size: bool = False) -> onnx.ModelProto:
    """Conv/BN/Relu stem, MaxPool, an identity block and a projection block, GAP, Gemm."""
    b = _Builder(seed, opset)
    x = b.node("Relu", [b.batch_norm(b.conv("image", "stem/conv", 3, 8, 3, pad=1, bias=False),
                                     "stem/bn", 8)], "stem/relu")
    x = b.node("MaxPool", [x], "stem/pool", kernel_shape=[2, 2], strides=[2, 2])
    y = b.node("Relu", [b.batch_norm(b.conv(x, "block1/conv1", 8, 8, 3, pad=1), "block1/bn1", 8)],
               "block1/relu1")
    y = b.batch_norm(b.conv(y, "block1/conv2", 8, 8, 3, pad=1), "block1/bn2", 8)
    x = b.node("Relu", [b.node("Add", [y, x], "block1/add")], "block1/relu")
    y = b.node("Relu", [b.batch_norm(b.conv(x, "block2/conv1", 8, 16, 3, stride=2, pad=1),
                                     "block2/bn1", 16)], "block2/relu1")
    y = b.batch_norm(b.conv(y, "block2/conv2", 16, 16, 3, pad=1), "block2/bn2", 16)
    shortcut = b.batch_norm(b.conv(x, "block2/proj", 8, 16, 1, stride=2, bias=False),
                            "block2/proj_bn", 16)
    x = b.node("Relu", [b.node("Add", [y, shortcut], "block2/add")], "block2/relu")
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x], "pool")], "flatten", axis=1)
    b.gemm(x, "logits", 16, CLASSES)
    return b.model("resnet_style", side, batch, symbolic_size)


def mobilenet_style(*, side: int = 64, opset: int = 17, seed: int = 0, batch: int | None = None,
                    symbolic_size: bool = False) -> onnx.ModelProto:
    """HardSwish stem, depthwise/pointwise convs with ReLU6 (Clip), squeeze-excite, Gemm."""
    b = _Builder(seed, opset)
    x = b.hard_swish(b.batch_norm(b.conv("image", "stem/conv", 3, 8, 3, stride=2, pad=1,
                                         bias=False), "stem/bn", 8), "stem/hswish")
    x = b.clip(b.batch_norm(b.conv(x, "dw1/conv", 8, 8, 3, pad=1, group=8, bias=False),
                            "dw1/bn", 8), "dw1/relu6", 0.0, 6.0)
    x = b.batch_norm(b.conv(x, "pw1/conv", 8, 16, 1, bias=False), "pw1/bn", 16)
    gate = b.node("GlobalAveragePool", [x], "se/pool")
    gate = b.node("Relu", [b.conv(gate, "se/reduce", 16, 4, 1)], "se/relu")
    gate = b.node("HardSigmoid", [b.conv(gate, "se/expand", 4, 16, 1)], "se/gate",
                  alpha=1.0 / 6.0, beta=0.5)
    x = b.node("Mul", [x, gate], "se/scaled")
    x = b.hard_swish(b.conv(x, "dw2/conv", 16, 16, 3, stride=2, pad=1, group=16), "dw2/hswish")
    x = b.hard_swish(b.conv(x, "pw2/conv", 16, 24, 1), "pw2/hswish")
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x], "pool")], "flatten", axis=1)
    b.gemm(x, "logits", 24, CLASSES)
    return b.model("mobilenet_style", side, batch, symbolic_size)


def _fire(b: _Builder, x: str, name: str, c_in: int, squeeze: int, expand: int) -> str:
    s = b.node("Relu", [b.conv(x, f"{name}/squeeze", c_in, squeeze, 1)], f"{name}/squeeze_relu")
    e1 = b.node("Relu", [b.conv(s, f"{name}/expand1x1", squeeze, expand, 1)], f"{name}/expand1x1_relu")
    e3 = b.node("Relu", [b.conv(s, f"{name}/expand3x3", squeeze, expand, 3, pad=1)],
                f"{name}/expand3x3_relu")
    return b.node("Concat", [e1, e3], f"{name}/concat", axis=1)


def squeezenet_style(*, side: int = 32, opset: int = 17, seed: int = 0, batch: int | None = None,
                     symbolic_size: bool = False) -> onnx.ModelProto:
    """Conv/Relu, MaxPool, two Fire modules (Concat of branches), 1×1 Conv classifier, GAP."""
    b = _Builder(seed, opset)
    x = b.node("Relu", [b.conv("image", "conv1", 3, 16, 3, stride=2)], "conv1/relu")
    x = b.node("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2])
    x = _fire(b, x, "fire2", 16, 4, 8)
    x = _fire(b, x, "fire3", 16, 4, 8)
    x = b.node("Relu", [b.conv(x, "conv10", 16, CLASSES, 1)], "conv10/relu")
    b.node("Flatten", [b.node("GlobalAveragePool", [x], "pool10")], "logits", axis=1)
    return b.model("squeezenet_style", side, batch, symbolic_size)


def elementwise_net(op_type: str, *, side: int = 32, opset: int = 17, seed: int = 0) -> onnx.ModelProto:
    """Conv, then one element-wise op `op_type`, GlobalAveragePool, Flatten (`logits`): a net
    whose only unusual op is `op_type` (for the no-gradient-rule error)."""
    b = _Builder(seed, opset)
    x = b.node(op_type, [b.conv("image", "conv", 3, CLASSES, 3, pad=1)], "unusual")
    b.node("Flatten", [b.node("GlobalAveragePool", [x], "pool")], "logits", axis=1)
    return b.model(f"{op_type.lower()}_net", side, None, False)


BUILDERS = {"resnet": resnet_style, "mobilenet": mobilenet_style, "squeezenet": squeezenet_style}


def write_classifier(path: str | Path, kind: str, **options) -> Path:
    """Builds `BUILDERS[kind](**options)` and saves it; returns the path."""
    path = Path(path)
    onnx.save(BUILDERS[kind](**options), str(path))
    return path
