"""Convolution and Deconvolution (Caffe's BaseConvolutionLayer family).

Caffe's checks (BaseConvolutionLayer::LayerSetUp / Reshape), made here with one error line:
axis in range; kernel_size once or once per spatial axis, or kernel_h/_w (2-D only, not
with kernel_size), every kernel dimension > 0; stride and pad likewise (0, 1 or one value per
axis, or _h/_w), stride > 0; dilation 0, 1 or one value per axis; num_output > 0; group
dividing both the channels and num_output; several bottoms all of one shape, one top per
bottom (they share the weights). Stricter than Caffe, where Caffe would divide by zero, wrap
an int or produce an empty blob: stride_h/_w of 0, dilation 0, values above 2^31 - 1, group
0, and an output size below 1.
"""
from __future__ import annotations

from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import (caffe_int, canonical_axis, check_blob_shape,
                                             check_same_shapes, layer_error, positive)
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs

_PARAM = "convolution_param"


def _per_axis(layer: CaffeLayer, name: str, singular: str | None, axes: int,
              default: int | None, minimum: int = 0, caffe_says: str = "") -> list[int]:
    """One spatial field as BaseConvolutionLayer reads it: `singular`_h/_w when either is set
    (2-D only, not together with the repeated field), else the repeated field's one value
    for all axes or one per axis, else `default` (None: required). Values below `minimum`
    are refused, naming the field they came from."""
    values = _per_axis_values(layer, name, singular, axes, default)
    for field, value in values:
        if value < minimum:
            raise layer_error(layer, field, f"{value} must be at least {minimum} ({caffe_says})")
    return [value for _, value in values]


def _per_axis_values(layer: CaffeLayer, name: str, singular: str | None, axes: int,
                     default: int | None) -> list[tuple[str, int]]:
    param = layer.param.convolution_param
    field = f"{_PARAM}.{name}"
    if singular and (param.HasField(f"{singular}_h") or param.HasField(f"{singular}_w")):
        if axes != 2:
            raise layer_error(layer, f"{_PARAM}.{singular}_h/_w", f"need 2 spatial axes, the "
                                                                 f"bottom has {axes}")
        if len(getattr(param, name)):
            raise layer_error(layer, field, f"and {singular}_h/_w are both given (Caffe: "
                                            "either one or the other)")
        return [(f"{_PARAM}.{singular}{suffix}",
                 caffe_int(layer, f"{_PARAM}.{singular}{suffix}",
                           getattr(param, f"{singular}{suffix}"))) for suffix in ("_h", "_w")]
    values = [(field, caffe_int(layer, field, value)) for value in getattr(param, name)]
    if not values and default is not None:
        return [(field, default)] * axes
    if len(values) == 1:
        return values * axes
    if len(values) != axes:
        raise layer_error(layer, field, f"has {len(values)} values; Caffe takes one, or one "
                                        f"per spatial axis ({axes})")
    return values


def _geometry(layer: CaffeLayer, bottoms: list[Tensor]) -> dict[str, list[int]]:
    """Kernel, pad, stride, dilation after all of Caffe's checks on them and on the groups."""
    param, bottom = layer.param.convolution_param, bottoms[0]
    rank = len(bottom.shape)
    axis = canonical_axis(layer, f"{_PARAM}.axis", param.axis, rank)
    if axis != 1:
        raise layer_error(layer, f"{_PARAM}.axis", f"{param.axis} is not supported (the "
                                                   "channels must be axis 1)")
    axes = rank - 2
    if axes < 1:
        raise layer_error(layer, "bottom", f"of shape {bottom.shape} has no spatial axes")
    check_same_shapes(layer, [b.shape for b in bottoms], "Caffe: all bottoms of one shape")
    geometry = {
        "kernel": _per_axis(layer, "kernel_size", "kernel", axes, None, 1,
                            "Caffe: filter dimensions must be nonzero"),
        "pad": _per_axis(layer, "pad", "pad", axes, 0),
        "stride": _per_axis(layer, "stride", "stride", axes, 1, 1,
                            "Caffe: stride dimensions must be nonzero"),
        "dilation": _per_axis(layer, "dilation", None, axes, 1, 1,
                              "with 0 Caffe would read one pixel per kernel row")}
    num_output = caffe_int(layer, f"{_PARAM}.num_output", param.num_output)
    positive(layer, f"{_PARAM}.num_output", [num_output], "Caffe: CHECK_GT(num_output, 0)")
    group = caffe_int(layer, f"{_PARAM}.group", param.group)
    positive(layer, f"{_PARAM}.group", [group], "Caffe would divide by zero")
    if bottom.shape[1] % group:
        raise layer_error(layer, f"{_PARAM}.group", f"{group} does not divide the bottom's "
                                                    f"{bottom.shape[1]} channels")
    if num_output % group:
        raise layer_error(layer, f"{_PARAM}.group", f"{group} does not divide num_output "
                                                    f"{num_output}")
    return geometry


def _convolve(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor], op_type: str,
              weight_shape: tuple[int, ...], out_spatial: list[int], g: dict) -> list[Tensor]:
    param, bottom = layer.param.convolution_param, bottoms[0]
    out_shape = (bottom.shape[0], param.num_output, *out_spatial)
    if any(size <= 0 for size in out_spatial):
        raise layer_error(layer, f"{_PARAM}.kernel_size", f"{g['kernel']} with pad "
                          f"{g['pad']}, stride {g['stride']}, dilation {g['dilation']} gives "
                          f"the empty output {out_spatial} from the bottom {bottom.shape}")
    check_blob_shape(layer, "top shape", out_shape)
    shapes, roles = [weight_shape], ["weights"]
    if param.bias_term:
        shapes, roles = shapes + [(param.num_output,)], roles + ["bias"]
    blobs = layer_blobs(layer, shapes, roles)
    weights = [graph.const(f"{layer.name}/{role}", blob) for blob, role in zip(blobs, roles, strict=True)]
    return [graph.op(op_type, [source.name, *weights], out_shape, layer.name,
                     kernel_shape=g["kernel"], pads=g["pad"] + g["pad"], strides=g["stride"],
                     dilations=g["dilation"], group=param.group) for source in bottoms]


@register("Convolution", onnx_ops=("Conv",), bottoms=(1, None), tops=(1, None),
          equal_bottoms_tops=True)
def convolution(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ConvolutionLayer: cross-correlation, weights (num_output, C/group, k...), bias;
    output size floor((H + 2p - (d(k-1)+1)) / s) + 1 (same as ONNX Conv); each bottom is
    convolved with the same weights into its own top."""
    bottom, param = bottoms[0], layer.param.convolution_param
    g = _geometry(layer, bottoms)
    out = [(size + 2 * p - (d * (k - 1) + 1)) // s + 1 for size, k, p, s, d in
           zip(bottom.shape[2:], g["kernel"], g["pad"], g["stride"], g["dilation"], strict=True)]
    weight_shape = (param.num_output, bottom.shape[1] // param.group, *g["kernel"])
    return _convolve(graph, layer, bottoms, "Conv", weight_shape, out, g)


@register("Deconvolution", onnx_ops=("ConvTranspose",), bottoms=(1, None), tops=(1, None),
          equal_bottoms_tops=True)
def deconvolution(graph: CaffeGraph, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe DeconvolutionLayer: the transposed convolution, weights (C, num_output/group, k...),
    output size (H - 1)s - 2p + d(k - 1) + 1 (ONNX ConvTranspose with symmetric pads)."""
    bottom, param = bottoms[0], layer.param.convolution_param
    g = _geometry(layer, bottoms)
    out = [(size - 1) * s - 2 * p + d * (k - 1) + 1 for size, k, p, s, d in
           zip(bottom.shape[2:], g["kernel"], g["pad"], g["stride"], g["dilation"], strict=True)]
    weight_shape = (bottom.shape[1], param.num_output // param.group, *g["kernel"])
    return _convolve(graph, layer, bottoms, "ConvTranspose", weight_shape, out, g)
