"""The torch fixtures (tests/fixtures/torch/, written by tools/torch_fixtures/export_fixtures.py
where torch exists): their index, our VJP of each exported model run on ONNX Runtime in
float32, and the kink margins of that float32 run.

Kinks: a ReLU/Clip input within float32 noise of its threshold, a hard-swish/hard-sigmoid input
that close to ±3, or a max-pool window whose two largest inputs are that close, has no
well-defined derivative, and a float32 run may take the other side of the decision than torch's
float64 one did (a *flip*: one unit changes a whole input gradient by ~1e-3). The fixtures'
inputs are chosen so that in torch's float64 every such input is at least the index's
`kink_margin_required` (relative to its tensor's largest magnitude) away from its kink; the
suite measures the same margins on ONNX Runtime's float32 values of the exported graph
(`float32_kink_margins`), which shows that no decision of ours sits within float32 noise of a
kink, so a gradient error over the tolerance cannot be a flip.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from numpy.lib.stride_tricks import sliding_window_view
from onnx import helper, numpy_helper

from support.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "torch"
KINK_OPS = {"Relu", "Clip", "HardSwish", "HardSigmoid", "MaxPool"}


@dataclass(frozen=True)
class TorchFixture:
    """One exported model of the index and its numbers' file."""

    family: str
    exporter: str
    onnx_path: Path
    numbers_path: Path
    input: str
    activation: str
    opset: int

    @property
    def id(self) -> str:
        return f"{self.family}-{self.exporter}"

    def numbers(self) -> dict[str, np.ndarray]:
        with np.load(self.numbers_path) as data:
            return {key: data[key] for key in data.files}

    def model(self) -> onnx.ModelProto:
        return onnx.load(str(self.onnx_path))


def index() -> dict:
    """tests/fixtures/torch/index.json ({} when absent)."""
    path = FIXTURES / "index.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def fixtures() -> list[TorchFixture]:
    """Every fixture of the index, in its order."""
    return [TorchFixture(entry["family"], entry["exporter"], FIXTURES / entry["onnx"],
                         FIXTURES / entry["numbers"], entry["input"], entry["activation"],
                         int(entry["opset"]))
            for entry in index().get("fixtures", [])]


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    runner = session(model)
    names = [output.name for output in runner.get_outputs()]
    return dict(zip(names, runner.run(names, feeds)))


@lru_cache(maxsize=2)
def vjp_model(fixture: TorchFixture) -> onnx.ModelProto:
    """build_vjp of the exported model: d activation / d input."""
    from converters.vjp.transform import build_vjp
    return build_vjp(fixture.model(), wrt=[fixture.input], of=[fixture.activation])


def ours(fixture: TorchFixture) -> tuple[np.ndarray, np.ndarray]:
    """Our float32 activation and input gradient (cotangent: the fixture's)."""
    numbers = fixture.numbers()
    outputs = run(vjp_model(fixture), {fixture.input: numbers["image"],
                                       f"{fixture.activation}_grad": numbers["cotangent"]})
    return outputs[fixture.activation], outputs[f"{fixture.input}_grad"]


# ----------------------------------------------------------------------------- kinks

def _attribute(node: onnx.NodeProto, name: str, default):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _relative_min(distance: np.ndarray, tensor: np.ndarray) -> float:
    scale = float(np.max(np.abs(tensor))) if tensor.size else 0.0
    return float(np.min(distance)) / (scale or 1.0) if distance.size else math.inf


def _maxpool_gaps(node: onnx.NodeProto, x: np.ndarray) -> np.ndarray:
    """Largest − second largest input per window (2-D, no dilation); windows tied at 0
    (ReLU zeros: the ReLU before stops their gradient whichever wins) left out."""
    kernel = list(_attribute(node, "kernel_shape", []))
    strides = list(_attribute(node, "strides", [1, 1]))
    pads = list(_attribute(node, "pads", [0, 0, 0, 0]))
    ceil_extra = [stride - 1 if _attribute(node, "ceil_mode", 0) else 0 for stride in strides]
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2] + ceil_extra[0]),
                                           (pads[1], pads[3] + ceil_extra[1])),
                    constant_values=-np.inf)
    view = sliding_window_view(padded, kernel, axis=(2, 3))[:, :, ::strides[0], ::strides[1]]
    values = view.reshape(*view.shape[:4], -1)
    top_two = -np.partition(-values, 1, axis=-1)[..., :2]
    gap = top_two[..., 0] - top_two[..., 1]
    return gap[(gap != 0) | (top_two[..., 0] != 0)]


def _constant(model: onnx.ModelProto, name: str) -> float | None:
    for tensor in model.graph.initializer:
        if tensor.name == name:
            return float(numpy_helper.to_array(tensor).reshape(-1)[0])
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            return float(numpy_helper.to_array(node.attribute[0].t).reshape(-1)[0])
    return None


def _distance(model: onnx.ModelProto, node: onnx.NodeProto, x: np.ndarray) -> np.ndarray:
    """Elementwise distance of a kink op's input from its nearest kink."""
    x = x.astype(np.float64)
    if node.op_type == "MaxPool":
        return _maxpool_gaps(node, x)
    if node.op_type == "Relu":
        return np.abs(x)
    if node.op_type == "Clip":
        bounds = [_constant(model, name) for name in list(node.input[1:3]) if name]
        return np.min([np.abs(x - bound) for bound in bounds if bound is not None]
                      or [np.full(x.shape, np.inf)], axis=0)
    alpha = _attribute(node, "alpha", 1 / 6 if node.op_type == "HardSwish" else 0.2)
    beta = _attribute(node, "beta", 0.5)
    low, high = -beta / alpha, (1 - beta) / alpha  # hard-sigmoid's kinks: 0 and 1
    return np.minimum(np.abs(x - low), np.abs(x - high))


def float32_kink_margins(fixture: TorchFixture) -> dict[str, float]:
    """Kink node → smallest relative distance of its input from a kink, on ONNX Runtime's
    float32 forward of the exported model at the fixture's image."""
    from reproduce.conformance.diagnose import instrumented
    model = fixture.model()
    probe, _ = instrumented(model)
    values = {fixture.input: fixture.numbers()["image"]}
    values.update(run(probe, values))
    margins = {}
    for node in model.graph.node:
        if node.op_type in KINK_OPS and node.input[0] in values:
            x = values[node.input[0]]
            margins[node.name or node.output[0]] = _relative_min(_distance(model, node, x), x)
    return margins
