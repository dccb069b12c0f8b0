"""Convolutions: Conv (Caffe Convolution) and ConvTranspose (Caffe Deconvolution).

Each is the adjoint of the other with the same weight tensor, strides, pads, dilations
and groups, so the input gradient of one is the other; the weight gradient is one
correlation (a Conv with strides and dilations swapped) per group.
"""
from __future__ import annotations

from dataclasses import dataclass

from converters.vjp.context import VJPError, attributes
from converters.vjp.rules import register


@dataclass(frozen=True)
class Window:
    """Sliding-window geometry of a Conv/ConvTranspose/pooling node, per spatial axis."""
    kernel: list[int]
    strides: list[int]
    pads: list[int]          # ONNX order: all begins, then all ends
    dilations: list[int]

    @property
    def begins(self) -> list[int]:
        return self.pads[:len(self.kernel)]

    def effective_kernel(self, axis: int) -> int:
        return (self.kernel[axis] - 1) * self.dilations[axis] + 1


def _same_pads(mode: str, kernel, strides, dilations, in_sizes) -> list[int]:
    """auto_pad SAME_UPPER / SAME_LOWER as ONNX defines them: output = ceil(input / stride),
    the total padding split evenly, an odd cell at the end (UPPER) or the start (LOWER)."""
    begins, ends = [], []
    for k, s, d, size in zip(kernel, strides, dilations, in_sizes, strict=True):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins + ends


def window_of(node, kernel: list[int], in_sizes: list[int] | None = None) -> Window:
    """Reads strides/pads/dilations (ONNX defaults). auto_pad SAME_UPPER / SAME_LOWER (as
    TensorFlow exports write them) become explicit pads, given the input's spatial sizes;
    without them (ConvTranspose, whose SAME is another rule) they are refused."""
    attrs = attributes(node)
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    rank = len(kernel)
    strides = list(attrs.get("strides", [1] * rank))
    dilations = list(attrs.get("dilations", [1] * rank))
    if auto_pad in ("SAME_UPPER", "SAME_LOWER") and in_sizes is not None:
        pads = _same_pads(auto_pad, kernel, strides, dilations, in_sizes)
    elif auto_pad in ("NOTSET", "VALID"):
        pads = list(attrs.get("pads", [0] * (2 * rank)))
    else:
        raise VJPError(f"node {node.name}: auto_pad {auto_pad} is not supported for "
                       f"{node.op_type} gradients; use explicit pads")
    return Window(kernel=list(kernel), strides=strides, pads=pads, dilations=dilations)


def transpose_to_size(ctx, grad: str, weight: str, window: Window, in_sizes, out_sizes,
                      group: int = 1) -> str:
    """ConvTranspose of an output gradient back onto an input of spatial size `in_sizes`.

    End pads / output_padding are chosen so the result has exactly `in_sizes` (input
    rows no window reached get zero gradient; windows past the input are cut off).
    """
    end_pads, output_padding = [], []
    for axis, (size_in, size_out) in enumerate(zip(in_sizes, out_sizes, strict=True)):
        natural = ((size_out - 1) * window.strides[axis] + window.effective_kernel(axis)
                   - window.begins[axis])
        end_pads.append(max(natural - size_in, 0))
        output_padding.append(max(size_in - natural, 0))
    return ctx.emit("ConvTranspose", [grad, weight], strides=window.strides,
                    dilations=window.dilations, pads=window.begins + end_pads,
                    output_padding=output_padding, group=group)


def _spatial_sizes(ctx, name: str) -> list[int]:
    rank = ctx.rank(name)
    return ctx.static_dims(name, range(2, rank))


def _weight_grad(ctx, image: str, out_grad: str, window: Window, group: int,
                 image_like: str, grad_like: str) -> str:
    """dW[m, c, k] = sum over n, o of out_grad[n, m, o] * image_padded[n, c, o*s + k*d].

    Per group: Conv of image^T (C, N, ...) with out_grad^T (M, N, ...) as its kernel,
    stride = forward dilation, dilation = forward stride; then cut to the kernel size.
    `image_like` / `grad_like` are forward tensors of the same shapes as image / out_grad.
    """
    rank = ctx.rank(image_like)
    swap = [1, 0] + list(range(2, rank))
    images, out_grads = [image], [out_grad]
    if group > 1:
        image_channels = ctx.static_dims(image_like, [1])[0] // group
        grad_channels = ctx.static_dims(grad_like, [1])[0] // group
        images = ctx.emit("Split", [image, ctx.ints([image_channels] * group)],
                          n_outputs=group, axis=1)
        out_grads = ctx.emit("Split", [out_grad, ctx.ints([grad_channels] * group)],
                             n_outputs=group, axis=1)
    pieces = []
    for image_part, grad_part in zip(images, out_grads, strict=True):
        correlation = ctx.emit("Conv", [ctx.emit("Transpose", [image_part], perm=swap),
                                        ctx.emit("Transpose", [grad_part], perm=swap)],
                               strides=window.dilations, dilations=window.strides,
                               pads=window.pads)
        cut = ctx.emit("Slice", [correlation, ctx.ints([0] * (rank - 2)),
                                 ctx.ints(window.kernel), ctx.ints(range(2, rank))])
        pieces.append(ctx.emit("Transpose", [cut], perm=swap))
    return pieces[0] if group == 1 else ctx.emit("Concat", pieces, axis=0)


def _bias_grad(ctx, g: str, y: str) -> str:
    return ctx.reduce_sum(g, [0] + list(range(2, ctx.rank(y))), keepdims=0)


def _kernel(ctx, node) -> list[int]:
    weight = node.input[1]
    return list(attributes(node).get("kernel_shape",
                                     ctx.static_dims(weight, range(2, ctx.rank(weight)))))


@register("Conv")
def conv(ctx, node, grads):
    """Caffe Convolution backward: dx = ConvTranspose(g, W), dW by correlation, db = sum g
    (explicit pads, or auto_pad resolved to them)."""
    g, y = grads[0], node.output[0]
    x, w = node.input[:2]
    window = window_of(node, _kernel(ctx, node), _spatial_sizes(ctx, x))
    group = attributes(node).get("group", 1)
    grad_x = transpose_to_size(ctx, g, w, window, _spatial_sizes(ctx, x),
                               _spatial_sizes(ctx, y), group) if ctx.wants(x) else None
    return [grad_x, *_parameter_grads(ctx, node, g,
                                      lambda: _weight_grad(ctx, x, g, window, group, x, y))]


def _parameter_grads(ctx, node, g: str, weight_grad) -> list[str | None]:
    """The weight's gradient (`weight_grad()`, one correlation per group: thousands of nodes
    for a depthwise Conv) and the bias's, each only when the walker wants it."""
    result = [weight_grad() if ctx.wants(node.input[1]) else None]
    if len(node.input) > 2 and node.input[2]:
        result.append(_bias_grad(ctx, g, node.output[0]) if ctx.wants(node.input[2]) else None)
    return result


@register("ConvTranspose")
def conv_transpose(ctx, node, grads):
    """Caffe Deconvolution backward: dx = Conv(g, W) with the same geometry."""
    g, y = grads[0], node.output[0]
    x, w = node.input[:2]
    attrs = attributes(node)
    if "output_shape" in attrs:
        raise VJPError(f"node {node.name}: ConvTranspose output_shape is not supported for "
                       "gradients; use explicit pads")
    window = window_of(node, _kernel(ctx, node))
    group = attrs.get("group", 1)
    grad_x = ctx.emit("Conv", [g, w], strides=window.strides, pads=window.pads,
                      dilations=window.dilations, group=group) if ctx.wants(x) else None
    return [grad_x, *_parameter_grads(ctx, node, g,
                                      lambda: _weight_grad(ctx, g, x, window, group, y, x))]
