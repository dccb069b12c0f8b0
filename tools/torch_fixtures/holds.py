"""Flip-aware input gradients of real models: units near a kink held on both sides.

A ReLU (ReLU6, hard-swish, hard-sigmoid) input within float32 noise of its kink has no
well-defined derivative, and a full-size torchvision model has millions of such inputs, a few
of them that close: one flipped decision moves its input gradient by up to ~1e-2. As the Caffe
fixtures do (tools/reference_caffe/kinks.py), such units are *held*: their output keeps its
value as a constant (y·0 + held), so no gradient flows through them and the forward pass is
unchanged. torch picks the units (inputs within TAU × the tensor's largest magnitude of a
kink, TAU far above float32 noise and far below the margins of all but a few units) and the
ONNX side holds the same ones: torch's kink calls pair one to one, in order and shape, with
the exported graph's kink nodes. Where they do not pair, the ONNX side picks from its own
values, and both hold the same units unless one sits within noise of the TAU boundary itself:

- torch (float64): `held_kinks()`, a TorchFunctionMode around relu / relu6 / hardtanh /
  hardswish / hardsigmoid;
- ONNX (float32): `with_held_kinks(model, feeds)` rewrites each Relu / Clip / HardSwish /
  HardSigmoid output T as T·mask + held, with the mask and values from an ONNX Runtime
  forward.

Max-pool windows whose two largest inputs are within TAU (or tie exactly on a non-zero value)
are held the same way (`maxpool_near`, shared by both sides).
"""
from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch.nn import functional
from torch.overrides import TorchFunctionMode

from tools.reference_caffe.onnx_holds import rewrite_as_held

TAU = 1e-5
TAUS = (TAU, 2 * TAU, 4 * TAU)  # thresholds to try when the two sides hold different counts
ONNX_KINK_OPS = {"Relu", "Clip", "HardSwish", "HardSigmoid", "MaxPool"}


def _kinks(name: str, args: tuple, kwargs: dict) -> tuple[float, ...]:
    if name in ("relu", "relu_"):
        return (0.0,)
    if name in ("relu6", "hardtanh", "hardtanh_"):
        low = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
        high = kwargs.get("max_val", args[2] if len(args) > 2 else 1.0)
        return (0.0, 6.0) if name == "relu6" else (float(low), float(high))
    return (-3.0, 3.0)  # hardswish, hardsigmoid


def _near(x: torch.Tensor, kinks: tuple[float, ...], tau: float) -> torch.Tensor:
    scale = float(x.detach().abs().max()) or 1.0
    near = torch.zeros_like(x, dtype=torch.bool)
    for kink in kinks:
        near |= (x.detach() - kink).abs() < tau * scale
    return near & (x.detach() != 0) if 0.0 in kinks else near


def _pair(value, default: int) -> tuple[int, int]:
    if value is None:
        return (default, default)
    return tuple(value) if isinstance(value, (list, tuple)) else (int(value), int(value))


def maxpool_gaps(x: torch.Tensor, kernel, stride, pads: tuple[int, int, int, int],
                 out_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per output window (N, C, OH, OW) of a 2-D max-pool: the largest input and its gap to the
    second largest (pads: top, left, bottom, right; padding and ceil-mode windows past the
    input see -inf)."""
    (kh, kw), (sh, sw) = _pair(kernel, 1), _pair(stride, 1)
    top, left, bottom, right = pads
    height, width = x.shape[2] + top + bottom, x.shape[3] + left + right
    extra_h = max(0, (out_hw[0] - 1) * sh + kh - height)
    extra_w = max(0, (out_hw[1] - 1) * sw + kw - width)
    padded = functional.pad(x.detach(), (left, right + extra_w, top, bottom + extra_h),
                            value=-float("inf"))
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)[:, :, :out_hw[0], :out_hw[1]]
    top_two = windows.reshape(*windows.shape[:4], -1).topk(2, dim=-1).values
    return top_two[..., 0], top_two[..., 0] - top_two[..., 1]


def maxpool_near(x: torch.Tensor, kernel, stride, pads: tuple[int, int, int, int],
                 out_hw: tuple[int, int], tau: float) -> torch.Tensor:
    """Output windows whose two largest inputs differ by less than tau × max|x|, or tie
    exactly on a non-zero value."""
    largest, gap = maxpool_gaps(x, kernel, stride, pads, out_hw)
    scale = float(x.detach().abs().max()) or 1.0
    return ((gap > 0) & (gap < tau * scale)) | ((gap == 0) & (largest != 0))


class held_kinks(TorchFunctionMode):
    """Within this mode, activations whose input is within TAU of a kink pass no gradient."""

    FUNCTIONS = {functional.relu: functional.relu, torch.relu: torch.relu,
                 torch.relu_: torch.relu, functional.relu6: functional.relu6,
                 functional.hardtanh: functional.hardtanh,
                 functional.hardswish: functional.hardswish,
                 functional.hardsigmoid: functional.hardsigmoid}

    def __init__(self, tau: float = TAU) -> None:
        super().__init__()
        self.tau = tau
        self.masks: list[np.ndarray] = []  # per kink call, in call order: the units held

    @property
    def held(self) -> int:
        return int(sum(mask.sum() for mask in self.masks))

    def _hold(self, out: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
        self.masks.append(near.numpy().copy())
        return torch.where(near, out.detach(), out)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in (functional.max_pool2d, torch.max_pool2d):
            return self._max_pool(func, args, kwargs)
        if func not in self.FUNCTIONS:
            return func(*args, **kwargs)
        kwargs.pop("inplace", None)
        plain = self.FUNCTIONS[func]
        args = args[:1] + tuple(a for a in args[1:] if not isinstance(a, bool))
        out = plain(*args, **kwargs)
        near = _near(args[0], _kinks(getattr(func, "__name__", ""), args, kwargs), self.tau)
        return self._hold(out, near)

    def _max_pool(self, func, args: tuple, kwargs: dict):
        out = func(*args, **kwargs)
        if isinstance(out, tuple) or kwargs.get("return_indices"):
            return out
        names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
        given = {**dict(zip(names, args)), **kwargs}
        if _pair(given.get("dilation"), 1) != (1, 1):
            return out
        kernel = _pair(given["kernel_size"], 1)
        stride = _pair(given.get("stride") or kernel, 1)
        pad_h, pad_w = _pair(given.get("padding"), 0)
        near = maxpool_near(given["input"], kernel, stride, (pad_h, pad_w, pad_h, pad_w),
                            tuple(out.shape[2:]), self.tau)
        return self._hold(out, near)


def _onnx_kinks(model: onnx.ModelProto, node: onnx.NodeProto) -> tuple[float, ...]:
    if node.op_type == "Relu":
        return (0.0,)
    if node.op_type == "Clip":
        constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        constants.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                          for n in model.graph.node if n.op_type == "Constant" and n.attribute})
        return tuple(float(constants[name].reshape(-1)[0]) for name in node.input[1:3]
                     if name and name in constants)
    alpha = next((a.f for a in node.attribute if a.name == "alpha"),
                 1 / 6 if node.op_type == "HardSwish" else 0.2)
    beta = next((a.f for a in node.attribute if a.name == "beta"), 0.5)
    return (-beta / alpha, (1 - beta) / alpha)


def _onnx_maxpool_near(node: onnx.NodeProto, x: torch.Tensor, out_shape: tuple[int, ...],
                       tau: float) -> np.ndarray:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if len(out_shape) != 4 or list(attributes.get("dilations", [1, 1])) != [1, 1]:
        return np.zeros(out_shape, bool)
    pads = list(attributes.get("pads", [0, 0, 0, 0]))
    near = maxpool_near(x, attributes["kernel_shape"], attributes.get("strides", [1, 1]),
                        (pads[0], pads[1], pads[2], pads[3]), tuple(out_shape[2:]), tau)
    return near.numpy()


def _own_masks(model: onnx.ModelProto, kink_nodes: list[onnx.NodeProto],
               values: dict[str, np.ndarray], tau: float) -> list[np.ndarray]:
    masks = []
    for node in kink_nodes:
        x = torch.from_numpy(np.asarray(values[node.input[0]], np.float64))
        if node.op_type == "MaxPool":
            masks.append(_onnx_maxpool_near(node, x, values[node.output[0]].shape, tau))
        else:
            masks.append(_near(x, _onnx_kinks(model, node), tau).numpy())
    return masks


def with_held_kinks(model: onnx.ModelProto, feeds: dict[str, np.ndarray], tau: float = TAU,
                    masks: list[np.ndarray] | None = None) -> tuple[onnx.ModelProto, int, bool]:
    """The model with each kink node's output T rewritten as T·mask + held (the held values
    from ONNX Runtime's float32 forward at `feeds`). The units: `masks` (torch's, from
    held_kinks, in call order) when they pair one to one, in graph order and shape, with the
    kink nodes (then both sides hold exactly the same units), else chosen from the forward's
    own values within `tau`. Returns the model, the number of units held and whether torch's
    masks were used."""
    import onnxruntime as ort
    from reproduce.conformance.diagnose import instrumented
    probe, _ = instrumented(model)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = {**feeds, **dict(zip(names, session.run(names, feeds)))}
    kink_nodes = [node for node in model.graph.node
                  if node.op_type in ONNX_KINK_OPS and node.input[0] in values]
    matched = masks is not None and len(masks) == len(kink_nodes) and all(
        mask.shape == values[node.output[0]].shape for mask, node in zip(masks, kink_nodes))
    if not matched:
        masks = _own_masks(model, kink_nodes, values, tau)
    chosen = {node.output[0]: mask for node, mask in zip(kink_nodes, masks) if mask.any()}
    held = rewrite_as_held(model, chosen, lambda name: f"{name}|mask", lambda name: f"{name}|held")
    for name, near in chosen.items():
        value = np.where(near, values[name], 0).astype(np.float32)
        held.graph.initializer.extend([
            numpy_helper.from_array((~near).astype(np.float32), f"{name}|mask"),
            numpy_helper.from_array(value, f"{name}|held")])
    return held, int(sum(mask.sum() for mask in chosen.values())), matched
