"""The fused step graph: one DGN-AM iteration for a batch of samples as one ONNX graph.

Composed from the generator's forward+VJP graph (`build_vjp(G, wrt=[feat], of=[deconv0])`)
and the visualised net's forward+VJP graph cut at the activation layer
(`build_vjp(N(end=L), wrt=[data], of=[L])`), joined by glue nodes that do exactly what the
release's Python does between the Caffe calls (see docs/method.md, "One run" and "Numeric types"):

* `c = x0[:, :, top:top+h, left:left+w]`; `act = N_L(c)[unit]` (flat index per sample);
  the net's output gradient is the one-hot of that index. A token layout's tensor
  (reproduce.step.act_layer) is first made batch first ([T, B, C] → [B, T, C]) and, without a
  chosen token, averaged over its tokens (the unit is then a channel and the gradient 1/T at
  each of the channel's tokens); the gradient is transposed back to the tensor's layout.
* Per sample: `‖g‖` (float32); NaN → image unchanged, act 0, norm 1e-12; 0 → unchanged, act 0
  (the release returns act 0 for both); else `x = c + f * g` where
  `f = float32(step / float64(mean|g|))`: in the release (Python 2, NumPy 1.x) `step_size /
  np.abs(g).mean()` is a Python float over a float32 scalar, which NumPy evaluates in float64;
  multiplying the float32 array casts that scalar to float32, and the array arithmetic is float32.
* The generator's output gradient is `x0' − x0`: `x − c` inside the crop window, zeros outside.
* `h = dG/dcode ᵀ(x0' − x0)`; the same NaN/zero rules; `code' = code + float32(step/mean|h|) * h`
  in float32 (the release updates the float32 input blob in place).
* CodeMode.CLIP: `clip(code', −1, 1)` (float32); CodeMode.BOUND: `min(max(code', lower), upper)` with
  float64 bounds, so the code is float64 from here; then `code' *= l2` (the caller passes 1.0 when
  L2 is outside (0, 1)); float32 modes multiply by float32(l2), as NumPy does for a float32 array
  and a Python float; the bound mode multiplies in float64 and rounds to float32 at the end (the
  release's store into the float32 blob).
* `active` (per sample, bool) freezes samples that stopped early: their code and image pass through.

Inputs: code (B×K f32), step (f64 scalar), unit (B int64: the flat index of each sample's unit,
reproduce.step.act_layer), l2 (f64 scalar), active (B bool), best (B×C×h×w f32), and with
CodeMode.BOUND lower, upper (1×K f64).
Outputs: new_code, act, net_grad_norm, gen_grad_norm (B f32), image (this iteration's crop, or
`best` for inactive samples), stepped (the crop after the net's update, for debug images).

The graph is built in four stages, each a function below: `_forward` (code → generator →
crop → net → the unit's activation and the net's one-hot output gradient), `_backward` (the
net's normalised image update and the generator's output gradient), `_update` (the code's
normalised update, the code mode, L2, frozen samples) and `_outputs` (the graph's interface
and the merge of the parts).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np
import onnx
from onnx import TensorProto, helper

from common.onnx_graph import GraphBuilder, input_dims, opset_of
from reproduce.step.act_layer import ActLayer
from reproduce.step.compose import merged_model, prefixed

ROW_ALIGNMENT = 16  # floats: 64 bytes, the widest vector ONNX Runtime's CPU kernels load
GEN_PREFIX = "gen/"
NET_PREFIX = "net/"


class CodeMode(str, Enum):
    """What happens to the code after its update, in the release's order: clip wins over bounds."""

    NONE = "none"
    CLIP = "clip"  # clip(code, -1, 1)
    BOUND = "bound"  # min(max(code, lower), upper), float64 bounds

    @classmethod
    def from_flags(cls, clip: bool, bounded: bool) -> "CodeMode":
        if clip:
            return cls.CLIP
        return cls.BOUND if bounded else cls.NONE


@dataclass(frozen=True)
class StepShapes:
    """Static shapes read from the two VJP graphs."""

    batch: int
    code_size: int
    generated: tuple[int, ...]  # per sample C×S×S
    net_input: tuple[int, ...]  # per sample C×h×w
    act: ActLayer  # the activated tensor (one sample's shape, the unit rule)

    @property
    def activation(self) -> tuple[int, ...]:
        """One sample's shape of the act layer's tensor."""
        return self.act.sample_shape

    def as_dict(self) -> dict:
        """A JSON-able form (the step-graph cache stores it)."""
        return {"batch": self.batch, "code_size": self.code_size, "generated": self.generated,
                "net_input": self.net_input, "act": {"name": self.act.name,
                                                     "sample_shape": self.act.sample_shape,
                                                     "batch_axis": self.act.batch_axis,
                                                     "token": self.act.token}}

    @classmethod
    def from_dict(cls, values: dict) -> "StepShapes":
        act = values["act"]
        return cls(int(values["batch"]), int(values["code_size"]), tuple(values["generated"]),
                   tuple(values["net_input"]),
                   ActLayer(act["name"], tuple(act["sample_shape"]), int(act["batch_axis"]),
                            act.get("token")))

    @property
    def crop_offset(self) -> tuple[int, int]:
        """The release's top-left offset: (S − h) // 2 and (S − w) // 2."""
        return ((self.generated[1] - self.net_input[1]) // 2,
                (self.generated[2] - self.net_input[2]) // 2)


def step_shapes(gen_vjp: onnx.ModelProto, net_vjp: onnx.ModelProto, *, gen_in: str, gen_out: str,
                net_in: str, act_layer: str, token: int | None = None) -> StepShapes:
    """Reads the batch, code size and blob shapes from the VJP graphs' inputs; `token`: the
    token of a token layout (reproduce.step.act_layer; None: the mean over the tokens)."""
    code = input_dims(gen_vjp, gen_in)
    generated = input_dims(gen_vjp, f"{gen_out}_grad")
    net_input = input_dims(net_vjp, net_in)
    activation = input_dims(net_vjp, f"{act_layer}_grad")
    act = ActLayer.of_tensor(act_layer, activation, batch=code[0], token=token)
    batches = {code[0], generated[0], net_input[0], activation[act.batch_axis]}
    if len(batches) != 1:
        raise ValueError(f"generator and net graphs disagree on the batch size: {sorted(batches)}")
    if len(code) != 2 or len(generated) != 4 or len(net_input) != 4:
        raise ValueError(f"unexpected shapes: code {code}, generated {generated}, net input {net_input}")
    if generated[1] != net_input[1] or generated[2] < net_input[2] or generated[3] < net_input[3]:
        raise ValueError(f"the generator's output {generated[1:]} cannot be cropped to the net's "
                         f"input {net_input[1:]}")
    return StepShapes(code[0], code[1], generated[1:], net_input[1:], act)


class _Glue(GraphBuilder):
    """The glue nodes and constants; every name is under `step/` and chosen by the caller."""

    def __init__(self, opset: int) -> None:
        super().__init__()
        self.opset = opset

    def const(self, name: str, value: np.ndarray, *, exact_name: bool = True) -> str:
        return super().const(f"step/{name}", np.asarray(value), exact_name=True)

    def op(self, op_type: str, inputs: list[str], output: str, **attributes) -> str:
        self.node(op_type, inputs, [output], f"step/{output}", **attributes)
        return output

    def reduce(self, op_type: str, value: str, axes: list[int], output: str) -> str:
        """A keepdims=0 reduction over `axes`, in the attribute or input form the opset wants."""
        takes_axes_input = op_type == "ReduceSum" or self.opset >= 18
        if takes_axes_input:
            axes_name = self.const(f"{output}_axes", np.array(axes, dtype=np.int64))
            return self.op(op_type, [value, axes_name], output, keepdims=0)
        return self.op(op_type, [value], output, axes=axes, keepdims=0)

    def aligned_rows(self, gradient: str, count: int, batch: int, tag: str) -> str:
        """The gradient as B rows of `count` values, each zero-padded to a multiple of
        ROW_ALIGNMENT floats, so every row starts on a 64-byte boundary.

        ONNX Runtime's vectorised reductions split a row into an unaligned head, aligned blocks
        and a tail; with rows of unaligned length (3×227×227 = 154,587 floats) the split, and so
        the rounding of a sample's sum, depended on the sample's position in the batch. Aligned
        rows make each sample's sums, and so its whole run, independent of the batch it is in
        (the zeros add nothing: the sums are the same sums, in float32 noise of one order).
        """
        flat = self.op("Reshape", [gradient, self.const(f"{tag}_rows", np.array([batch, count],
                                                                              np.int64))],
                       f"{tag}_flat")
        padding = -count % ROW_ALIGNMENT
        if not padding:
            return flat
        return self.op("Pad", [flat, self.const(f"{tag}_row_pads",
                                                np.array([0, 0, 0, padding], np.int64))],
                       f"{tag}_aligned")

    def normalised_update(self, value: str, gradient: str, step: str, count: int,
                          batch_shape: list[int], tag: str) -> "NormalisedUpdate":
        """The release's `x += step/mean|g| * g` with its NaN/0 rules, per sample; `count` is
        the number of values per sample (mean|g| = Σ|g| / count, in float32)."""
        rows = self.aligned_rows(gradient, count, batch_shape[0], tag)
        norm = self.op("Sqrt", [self.reduce("ReduceSumSquare", rows, [1], f"{tag}_sumsq")],
                       f"{tag}_norm_raw")
        abs_sum = self.reduce("ReduceSum", self.op("Abs", [rows], f"{tag}_abs"), [1],
                              f"{tag}_abs_sum")
        mean_abs = self.op("Div", [abs_sum, self.const(f"{tag}_count", np.float32(count))],
                           f"{tag}_mean_abs")
        factor64 = self.op("Div", [step, self.op("Cast", [mean_abs], f"{tag}_mean_abs64",
                                                 to=TensorProto.DOUBLE)], f"{tag}_factor64")
        per_sample_shape = self.const(f"{tag}_bshape", np.array(batch_shape, np.int64))
        factor = self.op("Reshape", [self.op("Cast", [factor64], f"{tag}_factor32",
                                             to=TensorProto.FLOAT), per_sample_shape],
                         f"{tag}_factor")
        stepped = self.op("Add", [value, self.op("Mul", [factor, gradient], f"{tag}_scaled")],
                          f"{tag}_stepped")
        is_nan = self.op("IsNaN", [norm], f"{tag}_is_nan")
        is_zero = self.op("Equal", [norm, self.const(f"{tag}_zero", np.float32(0))],
                          f"{tag}_is_zero")
        skip = self.op("Reshape", [self.op("Or", [is_nan, is_zero], f"{tag}_skip"),
                                   per_sample_shape], f"{tag}_skip_b")
        updated = self.op("Where", [skip, value, stepped], f"{tag}_updated")
        reported = self.op("Where", [is_nan, self.const(f"{tag}_nan_norm", np.float32(1e-12)), norm],
                           f"{tag}_norm")
        return NormalisedUpdate(updated, reported, is_nan, is_zero, per_sample_shape)


class NormalisedUpdate(NamedTuple):
    """Tensor names produced by `_Glue.normalised_update` (B = batch)."""

    updated: str  # the value after the update (unchanged where the norm was NaN or 0)
    norm: str  # the reported gradient norm (B f32; 1e-12 where NaN)
    is_nan: str  # B bool: the gradient norm was NaN
    is_zero: str  # B bool: the gradient norm was 0
    per_sample_shape: str  # int64 shape [B, 1, ...] broadcasting a per-sample value over the value


@dataclass(frozen=True)
class _Blobs:
    """The two parts' interface tensors under their merged names."""

    gen_in: str
    gen_out: str
    net_in: str
    act: str

    @classmethod
    def of(cls, gen_in: str, gen_out: str, net_in: str, act_layer: str) -> "_Blobs":
        return cls(prefixed(GEN_PREFIX, gen_in), prefixed(GEN_PREFIX, gen_out),
                   prefixed(NET_PREFIX, net_in), prefixed(NET_PREFIX, act_layer))


class _Forward(NamedTuple):
    crop: str  # this iteration's crop of the generated image (B×C×h×w)
    act_raw: str  # the unit's activation, before the NaN/zero rules (B)
    column_shape: str  # int64 [B, 1]


def _forward(glue: _Glue, shapes: StepShapes, blobs: _Blobs) -> _Forward:
    """code → generator input; the centre crop → net input; the unit's activation and the
    one-hot output gradient of the act layer."""
    batch, top_left = shapes.batch, shapes.crop_offset
    height, width = shapes.net_input[1:]
    glue.op("Identity", ["code"], blobs.gen_in)
    crop = glue.op("Slice", [blobs.gen_out,
                             glue.const("crop_starts", np.array(top_left, np.int64)),
                             glue.const("crop_ends", np.array([top_left[0] + height,
                                                               top_left[1] + width], np.int64)),
                             glue.const("crop_axes", np.array([2, 3], np.int64))], "crop")
    glue.op("Identity", [crop], blobs.net_in)
    act = blobs.act
    if shapes.act.batch_axis:  # [T, B, C]: batch first for the picking, back for the gradient
        act = glue.op("Transpose", [act], "act_batch_first", perm=_batch_first(shapes.act))
    if shapes.act.reduces_tokens:  # the mean over the tokens, per channel: B×C
        act = glue.reduce("ReduceMean", act, [1], "act_token_mean")
    flat_act = glue.op("Reshape", [act, glue.const("flat", np.array([batch, -1], np.int64))],
                       "act_flat")
    column_shape = glue.const("column", np.array([batch, 1], np.int64))
    unit_column = glue.op("Reshape", [glue.op("Cast", ["unit"], "unit64", to=TensorProto.INT64),
                                      column_shape], "unit_column")
    act_raw = glue.op("Reshape", [glue.op("GatherElements", [flat_act, unit_column], "act_picked",
                                          axis=1), glue.const("batch", np.array([batch], np.int64))],
                      "act_raw")
    positions = glue.const("positions", np.arange(shapes.act.picked_size,
                                                  dtype=np.int64).reshape(1, -1))
    one_hot = glue.op("Cast", [glue.op("Equal", [positions, unit_column], "one_hot_bool")],
                      "one_hot_flat", to=TensorProto.FLOAT)
    _act_gradient(glue, shapes, blobs, one_hot)
    return _Forward(crop, act_raw, column_shape)


def _act_gradient(glue: _Glue, shapes: StepShapes, blobs: _Blobs, one_hot: str) -> None:
    """The act layer's output gradient `{act}_grad` from the B×picked_size one-hot: reshaped
    to the tensor's shape; for the mean over tokens, 1/T at every token of the channel; for a
    sequence-first layout, transposed back from batch first."""
    batch, act = shapes.batch, shapes.act
    act_shape = glue.const("act_shape", np.array((batch,) + shapes.activation, np.int64))
    gradient = f"{blobs.act}_grad"
    batch_first = gradient if not act.batch_axis else "act_grad_batch_first"
    if act.reduces_tokens:
        per_token = glue.op("Mul", [one_hot, glue.const("token_weight",
                                                        np.float32(1 / act.tokens))],
                            "one_hot_mean")
        row = glue.op("Reshape", [per_token, glue.const(
            "token_row", np.array([batch, 1, act.sample_shape[1]], np.int64))], "one_hot_row")
        glue.op("Expand", [row, act_shape], batch_first)
    else:
        glue.op("Reshape", [one_hot, act_shape], batch_first)
    if act.batch_axis:
        glue.op("Transpose", [batch_first], gradient,
                perm=[int(axis) for axis in np.argsort(_batch_first(act))])


def _batch_first(act: ActLayer) -> list[int]:
    """The permutation moving the act tensor's batch axis to the front."""
    rank = len(act.sample_shape) + 1
    return [act.batch_axis] + [axis for axis in range(rank) if axis != act.batch_axis]


def _backward(glue: _Glue, shapes: StepShapes, blobs: _Blobs, forward: _Forward) -> NormalisedUpdate:
    """The net's update of the crop (and the reported act and norm), and the generator's output
    gradient `x0' − x0`: the change inside the crop window, zeros outside."""
    batch, top_left = shapes.batch, shapes.crop_offset
    height, width = shapes.net_input[1:]
    net_update = glue.normalised_update(forward.crop, f"{blobs.net_in}_grad", "step",
                                        int(np.prod(shapes.net_input)), [batch, 1, 1, 1], "net")
    zero = glue.const("act_zero", np.float32(0))
    # act is 0 where the net's gradient norm was NaN or 0 (the release returns act 0 for both)
    glue.op("Where", [net_update.is_zero, zero,
                      glue.op("Where", [net_update.is_nan, zero, forward.act_raw], "act_if_finite")],
            "act")
    glue.op("Identity", [net_update.norm], "net_grad_norm")
    glue.op("Identity", [net_update.updated], "stepped")
    pads = [0, 0, top_left[0], top_left[1], 0, 0,
            shapes.generated[1] - top_left[0] - height, shapes.generated[2] - top_left[1] - width]
    glue.op("Pad", [glue.op("Sub", [net_update.updated, forward.crop], "image_change"),
                    glue.const("pads", np.array(pads, np.int64))], f"{blobs.gen_out}_grad")
    return net_update


def _update(glue: _Glue, shapes: StepShapes, blobs: _Blobs, forward: _Forward,
            net_update: NormalisedUpdate, mode: CodeMode) -> None:
    """The code's normalised update, the code mode, L2; samples no longer active keep their
    code and image."""
    gen_update = glue.normalised_update("code", f"{blobs.gen_in}_grad", "step", shapes.code_size,
                                        [shapes.batch, 1], "gen")
    code = gen_update.updated
    glue.op("Identity", [gen_update.norm], "gen_grad_norm")
    if mode is CodeMode.BOUND:
        code64 = glue.op("Cast", [code], "code64", to=TensorProto.DOUBLE)
        bounded = glue.op("Min", [glue.op("Max", [code64, "lower"], "code_above"), "upper"],
                          "code_bounded")
        decayed = glue.op("Cast", [glue.op("Mul", [bounded, "l2"], "code_decayed64")],
                          "code_decayed", to=TensorProto.FLOAT)
    else:
        if mode is CodeMode.CLIP:
            code = glue.op("Clip", [code, glue.const("clip_low", np.float32(-1)),
                                    glue.const("clip_high", np.float32(1))], "code_clipped")
        decayed = glue.op("Mul", [code, glue.op("Cast", ["l2"], "l2_32", to=TensorProto.FLOAT)],
                          "code_decayed")
    active_code = glue.op("Reshape", ["active", forward.column_shape], "active_column")
    glue.op("Where", [active_code, decayed, "code"], "new_code")
    active_image = glue.op("Reshape", ["active", net_update.per_sample_shape], "active_image")
    glue.op("Where", [active_image, forward.crop, "best"], "image")


def _outputs(glue: _Glue, shapes: StepShapes, gen_vjp: onnx.ModelProto, net_vjp: onnx.ModelProto,
             mode: CodeMode) -> onnx.ModelProto:
    """The step graph's inputs and outputs (module docstring) and the merged model."""
    batch, f32, f64 = shapes.batch, TensorProto.FLOAT, TensorProto.DOUBLE
    inputs = [helper.make_tensor_value_info("code", f32, [batch, shapes.code_size]),
              helper.make_tensor_value_info("step", f64, []),
              helper.make_tensor_value_info("unit", TensorProto.INT64, [batch]),
              helper.make_tensor_value_info("l2", f64, []),
              helper.make_tensor_value_info("active", TensorProto.BOOL, [batch]),
              helper.make_tensor_value_info("best", f32, [batch, *shapes.net_input])]
    if mode is CodeMode.BOUND:
        inputs += [helper.make_tensor_value_info(name, f64, [1, shapes.code_size])
                   for name in ("lower", "upper")]
    outputs = [helper.make_tensor_value_info("new_code", f32, [batch, shapes.code_size])]
    outputs += [helper.make_tensor_value_info(name, f32, [batch])
                for name in ("act", "net_grad_norm", "gen_grad_norm")]
    outputs += [helper.make_tensor_value_info(name, f32, [batch, *shapes.net_input])
                for name in ("image", "stepped")]
    return merged_model([(gen_vjp.graph, GEN_PREFIX), (net_vjp.graph, NET_PREFIX)], glue.nodes,
                        glue.initializers, inputs, outputs, opset=glue.opset,
                        ir_version=max(gen_vjp.ir_version, net_vjp.ir_version),
                        name=f"dgn_am_step_{shapes.act.name}_{mode.value}")


def build_step_graph(gen_vjp: onnx.ModelProto, net_vjp: onnx.ModelProto, *, gen_in: str = "feat",
                     gen_out: str = "deconv0", net_in: str = "data", act_layer: str,
                     mode: CodeMode = CodeMode.BOUND, token: int | None = None) -> onnx.ModelProto:
    """The step graph (see the module docstring) from the two VJP graphs, which may be
    weight-free (common.onnx_graph): the step graph then holds the same stubs, prefixed.
    Both graphs must have the same opset, the step graph's (build each part's VJP after
    lifting the lower part's forward graph: common.onnx_graph.lifted); the glue is emitted in
    that opset's form. `token`: a token layout's chosen token (reproduce.step.act_layer)."""
    mode = CodeMode(mode)
    shapes = step_shapes(gen_vjp, net_vjp, gen_in=gen_in, gen_out=gen_out, net_in=net_in,
                         act_layer=act_layer, token=token)
    opsets = {opset_of(gen_vjp), opset_of(net_vjp)}
    if len(opsets) != 1:
        raise ValueError(f"the generator's and the net's graphs have opsets {sorted(opsets)}; "
                         "lift the lower one's forward graph first")
    glue = _Glue(opsets.pop())
    blobs = _Blobs.of(gen_in, gen_out, net_in, act_layer)
    forward = _forward(glue, shapes, blobs)
    net_update = _backward(glue, shapes, blobs, forward)
    _update(glue, shapes, blobs, forward, net_update, mode)
    return _outputs(glue, shapes, gen_vjp, net_vjp, mode)
