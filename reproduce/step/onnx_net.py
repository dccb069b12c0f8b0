"""A user's ONNX classifier as the visualised net: load and check it, put the input adapter
in front, cut it at the activation tensor, and build its VJP (the `--net_onnx` path).

The step graph is unchanged: it crops the generator's image (BGR, Caffe's mean-subtracted
pixel scale, the centre crop) and hands the crop to the net's forward+VJP graph. For an
ONNX net that graph starts with the *input adapter*, which maps the crop to the net's own
input convention, in this order (each step only where it changes something):

1. `rgb`: BGR → RGB (a Slice with step −1 over the channels);
2. add back Caffe's ImageNet mean, `CAFFE_MEAN_BGR` (per channel, in the net's channel
   order): the generator's deconv0 is in Caffe's mean-subtracted space, so this gives
   0–255 pixels;
3. `std` given (0–1 scaled nets): divide by 255;
4. subtract `mean` (per channel, in the input's scale: 0–255, or 0–1 with `std`);
5. `std` given: divide by `std`;
6. a different input size: ONNX Resize, mode linear, half_pixel coordinates, no
   antialiasing (bilinear, differentiable; torch's `interpolate(..., "bilinear",
   align_corners=False)`).

The Caffe convention (`caffe` preset, the default) adds back and subtracts the same mean,
so steps 2 and 4 are left out and the adapter is the identity at the crop's size: a Caffe
net exported to ONNX takes the generator's image exactly as the release feeds it.
The activation tensor may be any floating-point tensor of the graph; the graph is cut there
(nothing after it runs) and its VJP comes from `converters.vjp` (an op without a gradient
rule is reported as one line naming the op and node).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from common.errors import UserError, first_line
from common.onnx_graph import (FLOAT_TYPES, GraphBuilder, Weights, data_inputs, detach_weights,
                               fixed_dims, inferred_types, names_in)
from converters.vjp.fold import fold_constants
from reproduce.step.act_layer import ActLayer, check_batch_axis
from reproduce.step.onnx_loading import load_onnx_model

# The per-channel means (B, G, R) of Caffe's ImageNet mean image (ilsvrc_2012_mean.npy):
# what the release's nets and generators subtract from 0–255 BGR pixels.
CAFFE_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)
CAFFE_MEAN_RGB = tuple(reversed(CAFFE_MEAN_BGR))
ADAPTER_PREFIX = "dgn_am_adapter/"


@dataclass(frozen=True)
class InputAdapter:
    """The net's input convention. Colour triples are given in R, G, B order whatever the
    net's channel order (`rgb`); `mean` is in 0–255 pixels, or in 0–1 pixels when `std` is
    set; `size` (H, W) is the net's input size (None: the model's own static size)."""

    rgb: bool = False
    mean: tuple[float, float, float] = CAFFE_MEAN_RGB
    std: tuple[float, float, float] | None = None
    size: tuple[int, int] | None = None

    def channel_order(self, rgb_values: Sequence[float]) -> tuple[float, ...]:
        """An R, G, B triple in the net's channel order."""
        return tuple(rgb_values) if self.rgb else tuple(reversed(tuple(rgb_values)))

    @property
    def keeps_caffe_pixels(self) -> bool:
        """True when steps 2 and 4 cancel exactly (Caffe's scale and mean)."""
        return self.std is None and tuple(self.mean) == CAFFE_MEAN_RGB


PRESETS: dict[str, InputAdapter] = {
    # Caffe: BGR, 0–255 minus the ImageNet mean (the generator's own space: the identity)
    "caffe": InputAdapter(),
    # torchvision: RGB, 0–1, ImageNet mean/std
    "torchvision": InputAdapter(rgb=True, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    # TensorFlow/Keras "tf" mode: RGB scaled to [−1, 1] (x / 127.5 − 1)
    "tf": InputAdapter(rgb=True, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
}


def adapter_from_flags(preset: str | None = None, *, rgb: bool | None = None,
                       mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                       size: Sequence[int] | None = None) -> InputAdapter:
    """The preset (default `caffe`) with each given flag replacing its field."""
    if preset is not None and preset not in PRESETS:
        raise UserError(f"--net_preset {preset}: expected one of {', '.join(PRESETS)}")
    adapter = PRESETS[preset or "caffe"]
    if rgb is not None:
        adapter = replace(adapter, rgb=rgb)
    if mean is not None:
        adapter = replace(adapter, mean=_triple(mean, "--net_mean"))
    if std is not None:
        std = _triple(std, "--net_std")
        if any(not value > 0 for value in std):
            raise UserError(f"--net_std {' '.join(map(str, std))}: must be positive")
        adapter = replace(adapter, std=std)
    if size is not None:
        if len(size) != 2 or any(int(side) < 1 for side in size):
            raise UserError(f"--net_input_size {' '.join(map(str, size))}: expected H W, both ≥ 1")
        adapter = replace(adapter, size=(int(size[0]), int(size[1])))
    return adapter


def _triple(values: Sequence[float], flag: str) -> tuple[float, float, float]:
    values = tuple(float(value) for value in values)
    if len(values) != 3 or not all(np.isfinite(values)):
        raise UserError(f"{flag} {' '.join(map(str, values))}: expected three finite numbers R G B")
    return values  # type: ignore[return-value]


# the release's crop of the fc6 generator's 256×256 image (docs/method.md, "One run", step 3)
RELEASE_CROP = 227


@dataclass(frozen=True)
class OnnxNet:
    """A user's ONNX classifier with its input name (None: its only data input), the input
    adapter, the side of the generator's centre crop the adapter receives (None: `crop_side`'s
    default) and, for a token-layout act layer, the token (None: the mean over the tokens;
    reproduce.step.act_layer)."""

    path: str
    input_name: str | None = None
    adapter: InputAdapter = InputAdapter()
    crop: int | None = None
    token: int | None = None


def crop_side(crop: int | None, generated: tuple[int, int]) -> int:
    """The crop's side for a generator image of `generated` (H, W): `crop` when it fits, by
    default the release's 227 or the largest that fits (the image's shorter side); a
    UserError naming the valid range otherwise."""
    largest = min(generated)
    default = min(RELEASE_CROP, largest)
    if crop is None:
        return default
    if not 1 <= crop <= largest:
        raise UserError(f"--crop_size {crop}: must be 1-{largest} for the generator's "
                        f"{generated[0]}×{generated[1]} image (default {default})")
    return crop


# ---------------------------------------------------------------------------- the image input

def image_input(model: onnx.ModelProto, name: str | None, path: str | Path) -> onnx.ValueInfoProto:
    """The net's image input: named by --net_input, or the only data input; it must be a
    float32 N×3×H×W tensor and the model's only data input."""
    inputs = data_inputs(model.graph)
    names = [value.name for value in inputs]
    if name is not None and name not in names:
        raise UserError(f"--net_input {name}: not an input of {path} (inputs: {', '.join(names)})")
    if name is None:
        if len(inputs) != 1:
            raise UserError(f"--net_onnx {path}: {len(inputs)} data inputs "
                            f"({', '.join(names) or 'none'}); name the image with --net_input")
        name = names[0]
    others = [other for other in names if other != name]
    if others:
        raise UserError(f"--net_input {name}: {path} has other data inputs the step graph "
                        f"cannot feed ({', '.join(others)})")
    value = inputs[names.index(name)]
    tensor_type = value.type.tensor_type
    dims = tensor_type.shape.dim
    if tensor_type.elem_type != TensorProto.FLOAT:
        raise UserError(f"--net_input {name}: a {TensorProto.DataType.Name(tensor_type.elem_type)} "
                        f"input; the step graph feeds float32 images")
    if len(dims) != 4:
        raise UserError(f"--net_input {name}: rank {len(dims)}; expected an N×3×H×W image input")
    if dims[1].HasField("dim_value") and dims[1].dim_value != 3:
        raise UserError(f"--net_input {name}: {dims[1].dim_value} channels; expected 3 (colour)")
    return value


def _dim_text(dim: onnx.TensorShapeProto.Dimension) -> str:
    return str(dim.dim_value) if dim.HasField("dim_value") else (dim.dim_param or "?")


def with_fixed_input(model: onnx.ModelProto, input_name: str, batch: int,
                     size: tuple[int, int] | None, path: str | Path) -> tuple[onnx.ModelProto, tuple[int, int]]:
    """A copy whose image input is batch×3×H×W (H, W: `size`, or the model's static size),
    with every other shape re-inferred; returns it and (H, W)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    value = next(v for v in fixed.graph.input if v.name == input_name)
    dims = value.type.tensor_type.shape.dim
    static = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
    if size is None:
        if static[2] is None or static[3] is None:
            raise UserError(f"--net_input {input_name}: its size is "
                            f"{_dim_text(dims[2])}×{_dim_text(dims[3])}; give --net_input_size H W")
        size = (static[2], static[3])
    for axis, side in ((2, size[0]), (3, size[1])):
        if static[axis] is not None and static[axis] != side:
            raise UserError(f"--net_input_size {size[0]} {size[1]}: the model's input {input_name} "
                            f"is {static[2]}×{static[3]}")
    for dim, new_value in zip(dims, (batch, 3, size[0], size[1]), strict=True):
        dim.Clear()
        dim.dim_value = new_value
    del fixed.graph.value_info[:]
    for output in fixed.graph.output:  # stale batch-1 output shapes would clash
        output.type.tensor_type.ClearField("shape")
    try:  # the exporters' shape arithmetic, static at a fixed input: constants, once, so
        fold_constants(fixed)  # that the shapes depending on it are known below
    except onnx.shape_inference.InferenceError:
        pass  # reported, one line, by the inference below
    try:
        fixed = onnx.shape_inference.infer_shapes(fixed, strict_mode=True, data_prop=True)
    except Exception as error:
        raise UserError(f"--net_onnx {path}: does not take a {batch}×3×{size[0]}×{size[1]} input "
                        f"({first_line(error)})") from None
    for value in fixed.graph.value_info:
        # an empty float tensor means the image is too small for the net; an empty integer one
        # is shape arithmetic (Swin's window slices of a shape), computed at any size
        if value.type.tensor_type.elem_type not in FLOAT_TYPES:
            continue
        shape = fixed_dims(value.type)
        if shape is not None and min(shape, default=1) < 1:
            raise UserError(f"--net_onnx {path}: does not take a {batch}×3×{size[0]}×{size[1]} "
                            f"input (tensor {value.name} would be {'x'.join(map(str, shape))})")
    return fixed, size


def batch_axes(model: onnx.ModelProto, input_name: str, size: tuple[int, int] | None,
               path: str | Path, batch: int,
               types: dict[str, onnx.TypeProto] | None = None) -> dict[str, int | None]:
    """Each tensor's batch axis, measured: the one axis whose size goes from `batch` to
    `batch` + 1 when the image input's batch does (shapes inferred at both batch sizes; `types`:
    those at `batch`, when already inferred); None when its shape changes otherwise (an axis
    that mixes the batch with another dimension, as merged attention heads do). A tensor whose
    shape does not change at all (a model traced at one batch size keeps it in its Reshape
    targets) is left out: its batch axis cannot be measured. `model` is the loaded model (its
    input not yet fixed)."""
    if types is None:
        types = inferred_types(with_fixed_input(model, input_name, batch, size, path)[0])
    more = inferred_types(with_fixed_input(model, input_name, batch + 1, size, path)[0])
    axes: dict[str, int | None] = {}
    for name, type_proto in types.items():
        shape, grown = fixed_dims(type_proto), fixed_dims(more[name]) if name in more else None
        if shape is None or grown is None or len(shape) != len(grown):
            continue
        changed = [axis for axis, (a, b) in enumerate(zip(shape, grown)) if a != b]
        if changed:
            axes[name] = (changed[0] if len(changed) == 1 and shape[changed[0]] == batch
                          and grown[changed[0]] == batch + 1 else None)
    return axes


# ops whose output depends on their input's shape only, never on its values
SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})


def depending_on(model: onnx.ModelProto, source: str) -> list[str]:
    """Node outputs whose values depend on the values of tensor `source`, in graph order
    (what is computed from its shape alone, e.g. a scale from `Shape`, is a constant here)."""
    depends = {source}
    ordered = []
    for node in model.graph.node:
        if node.op_type in SHAPE_ONLY_OPS and node.domain in ("", "ai.onnx"):
            continue
        if any(name in depends for name in node.input):
            for output in node.output:
                if output and output not in depends:
                    depends.add(output)
                    ordered.append(output)
    return ordered


# ---------------------------------------------------------------------------- the adapter

class _AdapterBuilder(GraphBuilder):
    """The adapter's nodes and constants, every name under ADAPTER_PREFIX and unused."""

    def const(self, stem: str, array: np.ndarray, *, exact_name: bool = False) -> str:
        return super().const(ADAPTER_PREFIX + stem, array, exact_name=exact_name)

    def op(self, op_type: str, inputs: list[str], stem: str, output: str | None = None,
           **attributes) -> str:
        output = output or self.fresh(ADAPTER_PREFIX + stem)
        self.node(op_type, inputs, [output], self.fresh(ADAPTER_PREFIX + stem + "_node"),
                  **attributes)
        return output


def _per_channel(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, np.float32).reshape(1, 3, 1, 1)


def adapter_steps(adapter: InputAdapter) -> list[tuple[str, np.ndarray | None]]:
    """The adapter's arithmetic before the resize, as (ONNX op, per-channel constant) pairs
    in order (module docstring, steps 1–5)."""
    steps: list[tuple[str, np.ndarray | None]] = []
    if adapter.rgb:
        steps.append(("Slice", None))
    if not adapter.keeps_caffe_pixels:
        steps.append(("Add", _per_channel(adapter.channel_order(CAFFE_MEAN_RGB))))
        if adapter.std is not None:
            steps.append(("Div", np.float32(255.0)))
        steps.append(("Sub", _per_channel(adapter.channel_order(adapter.mean))))
        if adapter.std is not None:
            steps.append(("Div", _per_channel(adapter.channel_order(adapter.std))))
    return steps


def with_input_adapter(model: onnx.ModelProto, input_name: str, adapter: InputAdapter,
                       batch: int, crop: int, net_size: tuple[int, int]) -> tuple[onnx.ModelProto, str]:
    """The model with the adapter in front: its new image input (batch×3×crop×crop, the
    generator's crop) and the model. The identity adapter adds nothing."""
    steps = adapter_steps(adapter)
    resize = net_size != (crop, crop)
    if not steps and not resize:
        return model, input_name
    build = _AdapterBuilder(names_in(model.graph))
    crop_name = build.fresh(ADAPTER_PREFIX + "crop")
    last = crop_name
    final_index = len(steps) - (0 if resize else 1)
    for index, (op_type, constant) in enumerate(steps):
        output = input_name if index == final_index else None
        if op_type == "Slice":
            last = build.op("Slice", [last, build.const("swap_starts", np.array([2], np.int64)),
                                      build.const("swap_ends", np.array([np.iinfo(np.int64).min], np.int64)),
                                      build.const("swap_axes", np.array([1], np.int64)),
                                      build.const("swap_steps", np.array([-1], np.int64))],
                            "rgb", output)
        else:
            last = build.op(op_type, [last, build.const(op_type.lower(), constant)],
                            op_type.lower(), output)
    if resize:
        sizes = build.const("sizes", np.array([batch, 3, *net_size], np.int64))
        build.op("Resize", [last, "", "", sizes], "resize", input_name, mode="linear",
                 coordinate_transformation_mode="half_pixel")
    adapted = onnx.ModelProto()
    adapted.CopyFrom(model)
    new_input = helper.make_tensor_value_info(crop_name, TensorProto.FLOAT, [batch, 3, crop, crop])
    inputs = [new_input if v.name == input_name else v for v in adapted.graph.input]
    del adapted.graph.input[:]
    adapted.graph.input.extend(inputs)
    nodes = build.nodes + list(adapted.graph.node)
    del adapted.graph.node[:]
    adapted.graph.node.extend(nodes)
    adapted.graph.initializer.extend(build.initializers)
    return adapted, crop_name


# ---------------------------------------------------------------------------- net VJP

def cut_at(model: onnx.ModelProto, tensor: str, path: str | Path) -> onnx.ModelProto:
    """The model with `tensor` as its only output (nothing after it is needed); a UserError
    when the graph has no such tensor or it is not a float tensor of known shape."""
    types = inferred_types(model)
    produced = {name for node in model.graph.node for name in node.output if name}
    if tensor not in produced:
        raise UserError(f"--act_layer {tensor}: no tensor of that name in {path} "
                        f"(`python -m reproduce layers {path}` lists them)")
    type_proto = types.get(tensor)
    if type_proto is None or type_proto.tensor_type.elem_type not in (TensorProto.FLOAT,
                                                                     TensorProto.DOUBLE):
        raise UserError(f"--act_layer {tensor}: not a floating-point tensor in {path}")
    if fixed_dims(type_proto) is None:
        raise UserError(f"--act_layer {tensor}: its shape is not known statically in {path}")
    cut = onnx.ModelProto()
    cut.CopyFrom(model)
    del cut.graph.output[:]
    cut.graph.output.append(onnx.ValueInfoProto(name=tensor, type=type_proto))
    return cut


def loaded_net(net: OnnxNet) -> tuple[onnx.ModelProto, Weights]:
    """The checked model, weight-free (common.onnx_graph), and its weights."""
    return detach_weights(load_onnx_model(net.path))


def prepared_net(net: OnnxNet, model: onnx.ModelProto, batch: int) -> tuple[onnx.ModelProto, str, tuple[int, int]]:
    """The loaded model with its image input fixed at `batch` (no adapter yet): the model, the
    input name and the net's input size."""
    value = image_input(model, net.input_name, net.path)
    model, size = with_fixed_input(model, value.name, batch, net.adapter.size, net.path)
    return model, value.name, size


def generated_size(gen_forward: onnx.ModelProto, gen_out: str) -> tuple[int, int]:
    """(S, S'): the generator's image size, read from its forward graph's output `gen_out`."""
    for value in gen_forward.graph.output:
        if value.name == gen_out:
            dims = value.type.tensor_type.shape.dim
            return dims[-2].dim_value, dims[-1].dim_value
    raise ValueError(f"the generator's graph has no output {gen_out}")


def onnx_net_vjp(net: OnnxNet, model: onnx.ModelProto, *, act_layer: str, batch: int,
                 generated: tuple[int, int] | None = None) -> tuple[onnx.ModelProto, str]:
    """The adapter + the loaded net (`loaded_net`) cut at tensor `act_layer`, with its VJP
    w.r.t. the crop, and the crop input's name (the contract of `reproduce.step.nets.net_vjp`).
    `generated`: the generator's image size (H, W), which the crop must fit in (`crop_side`)."""
    from converters.vjp.transform import build_vjp
    crop = crop_side(net.crop, generated or (RELEASE_CROP, RELEASE_CROP))
    loaded = model
    model, input_name, size = prepared_net(net, loaded, batch)
    model = cut_at(model, act_layer, net.path)
    shape = fixed_dims(model.graph.output[0].type)
    act = ActLayer.of_tensor(act_layer, shape, batch=batch, token=net.token)
    if len(shape) == 3:  # a token layout: its batch axis, measured at two batch sizes
        measured = batch_axes(loaded, input_name, net.adapter.size, net.path, batch)
        if act_layer in measured:
            check_batch_axis(act, measured[act_layer])
    if act_layer not in depending_on(model, input_name):
        raise UserError(f"--act_layer {act_layer}: does not depend on the input {input_name} "
                        f"of {net.path}")
    model, crop_input = with_input_adapter(model, input_name, net.adapter, batch, crop, size)
    try:
        return build_vjp(model, wrt=[crop_input], of=[act_layer]), crop_input
    except UserError as error:  # VJPError: an op without a rule, a tensor off the path
        raise UserError(f"--net_onnx {net.path}: {error}") from None
