"""Convolution and Deconvolution (Caffe's BaseConvolutionLayer family)."""
from __future__ import annotations

from converters.caffe.files import CaffeError
from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.layers import register
from converters.caffe.layers._params import spatial_values
from converters.caffe.reader import CaffeLayer
from converters.caffe.weights import layer_blobs


def _geometry(layer: CaffeLayer, bottom: Tensor) -> dict[str, list[int]]:
    param = layer.param.convolution_param
    if param.axis not in (1, -len(bottom.shape) + 1):
        raise CaffeError(f"layer {layer.name}: convolution_param.axis {param.axis} unsupported "
                         "(channels must be axis 1)")
    axes = len(bottom.shape) - 2
    if axes < 1:
        raise CaffeError(f"layer {layer.name}: bottom of shape {bottom.shape} has no spatial axes")
    if bottom.shape[1] % param.group or param.num_output % param.group:
        raise CaffeError(f"layer {layer.name}: channels {bottom.shape[1]} and num_output "
                         f"{param.num_output} must both divide by group {param.group}")
    return {"kernel": spatial_values(layer, param, "kernel_size", axes, None),
            "pad": spatial_values(layer, param, "pad", axes, 0),
            "stride": spatial_values(layer, param, "stride", axes, 1),
            "dilation": spatial_values(layer, param, "dilation", axes, 1)}


def _convolve(graph: GraphBuilder, layer: CaffeLayer, bottom: Tensor, op_type: str,
              weight_shape: tuple[int, ...], out_spatial: list[int], g: dict) -> Tensor:
    param = layer.param.convolution_param
    shapes, roles = [weight_shape], ["weights"]
    if param.bias_term:
        shapes, roles = shapes + [(param.num_output,)], roles + ["bias"]
    blobs = layer_blobs(layer, shapes, roles)
    inputs = [bottom.name] + [graph.constant(f"{layer.name}/{role}", blob)
                              for blob, role in zip(blobs, roles)]
    if any(size <= 0 for size in out_spatial):
        raise CaffeError(f"layer {layer.name}: output size {out_spatial} from bottom "
                         f"{bottom.shape} is empty")
    return graph.op(op_type, inputs, (bottom.shape[0], param.num_output, *out_spatial),
                    layer.name, kernel_shape=g["kernel"], pads=g["pad"] + g["pad"],
                    strides=g["stride"], dilations=g["dilation"], group=param.group)


@register("Convolution", onnx_ops=("Conv",))
def convolution(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe ConvolutionLayer: cross-correlation, weights (num_output, C/group, k...), bias;
    output size floor((H + 2p - (d(k-1)+1)) / s) + 1 (same as ONNX Conv)."""
    bottom, param = bottoms[0], layer.param.convolution_param
    g = _geometry(layer, bottom)
    out = [(size + 2 * p - (d * (k - 1) + 1)) // s + 1 for size, k, p, s, d in
           zip(bottom.shape[2:], g["kernel"], g["pad"], g["stride"], g["dilation"])]
    weight_shape = (param.num_output, bottom.shape[1] // param.group, *g["kernel"])
    return [_convolve(graph, layer, bottom, "Conv", weight_shape, out, g)]


@register("Deconvolution", onnx_ops=("ConvTranspose",))
def deconvolution(graph: GraphBuilder, layer: CaffeLayer, bottoms: list[Tensor]) -> list[Tensor]:
    """Caffe DeconvolutionLayer: the transposed convolution, weights (C, num_output/group, k...),
    output size (H - 1)s - 2p + d(k - 1) + 1 (ONNX ConvTranspose with symmetric pads)."""
    bottom, param = bottoms[0], layer.param.convolution_param
    g = _geometry(layer, bottom)
    out = [(size - 1) * s - 2 * p + d * (k - 1) + 1 for size, k, p, s, d in
           zip(bottom.shape[2:], g["kernel"], g["pad"], g["stride"], g["dilation"])]
    weight_shape = (bottom.shape[1], param.num_output // param.group, *g["kernel"])
    return [_convolve(graph, layer, bottom, "ConvTranspose", weight_shape, out, g)]
