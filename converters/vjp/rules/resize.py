"""Resize, nearest, (bi)linear and (bi)cubic, as the ONNX specification (opsets 13-19+)
defines it.

Resize is separable and linear in its input: along each resized axis every output cell is
a fixed combination of input cells, a matrix of shape (output length, input length) that
depends only on the sizes, scales and attributes. The gradient applies the transposed
matrix along each axis. Coordinates are computed in the input's float precision (float32
for float32 models, as ONNX Runtime does; float64 for float64 models, as the ONNX
reference does), so the matrix picks the same cells and weights as the forward.
"""
from __future__ import annotations

import numpy as np

from converters.vjp.context import GradContext, VJPError, attributes
from converters.vjp.rules import register
from converters.vjp.rules.shape_ops import apply_along_axis

# Coordinate transformations that map output cell i to input cell i when the scale is 1.
_IDENTITY_AT_UNIT_SCALE = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                           "align_corners", "asymmetric"}
_TRANSFORMS = _IDENTITY_AT_UNIT_SCALE | {"tf_half_pixel_for_nn"}
_NEAREST_MODES = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}


def _text(value, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else value


def source_coordinates(transform: str, out_len: int, in_len: int, scale: float,
                       dtype: type) -> np.ndarray:
    """x_original of each output cell (the specification's formulas, in `dtype`)."""
    x = np.arange(out_len, dtype=dtype)
    scale, half, zeros = dtype(scale), dtype(0.5), np.zeros(out_len, dtype=dtype)
    if transform == "half_pixel":
        return (x + half) / scale - half
    if transform == "half_pixel_symmetric":
        adjustment = dtype(out_len) / (scale * dtype(in_len))
        offset = dtype(in_len) / dtype(2) * (dtype(1) - adjustment)
        return offset + (x + half) / scale - half
    if transform == "pytorch_half_pixel":
        return (x + half) / scale - half if out_len > 1 else zeros
    if transform == "align_corners":
        return x * dtype(in_len - 1) / dtype(out_len - 1) if out_len > 1 else zeros
    if transform == "asymmetric":
        return x / scale
    return (x + half) / scale                                  # tf_half_pixel_for_nn


def _nearest_cells(x: np.ndarray, nearest_mode: str) -> np.ndarray:
    floor = np.floor(x)
    tie = (x - floor) == 0.5
    if nearest_mode == "round_prefer_floor":
        return np.where(tie, floor, np.round(x))
    if nearest_mode == "round_prefer_ceil":
        return np.where(tie, floor + 1, np.round(x))
    return floor if nearest_mode == "floor" else np.ceil(x)


def _cubic_weights(fraction: np.ndarray, a: float, dtype: type) -> np.ndarray:
    """Keys' cubic convolution weights (coefficient a) of the cells at offsets -1, 0, 1, 2
    from floor(x), for fraction = x - floor(x): (out_len, 4)."""
    a = dtype(a)

    def near(d):                                               # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):                                                # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    one = dtype(1)
    return np.stack([far(fraction + one), near(fraction), near(one - fraction),
                     far(dtype(2) - fraction)], axis=1)


def interpolation_matrix(mode: str, transform: str, nearest_mode: str, out_len: int,
                         in_len: int, scale: float, dtype: type, cubic_a: float = -0.75,
                         exclude_outside: bool = False) -> np.ndarray:
    """matrix[i, j]: weight of input cell j in output cell i along one axis.

    nearest: the cell x_original rounds to (nearest_mode), clamped into the input;
    linear: x_original clamped to [0, in_len - 1], weights 1 - f and f on its floor and the
    next cell (the specification's edge padding, which ONNX Runtime writes as this clamp);
    cubic: the four cells around x_original with Keys' weights, cells outside the input
    replaced by the nearest edge cell, or (exclude_outside) dropped and the rest renormalised.
    """
    x = source_coordinates(transform, out_len, in_len, scale, dtype)
    rows = np.arange(out_len)
    matrix = np.zeros((out_len, in_len), dtype=dtype)
    if mode == "nearest":
        cells = np.clip(_nearest_cells(x, nearest_mode), 0, in_len - 1).astype(np.int64)
        matrix[rows, cells] = 1
        return matrix
    if mode == "cubic":
        low = np.floor(x)
        weights = _cubic_weights(x - low, cubic_a, dtype)
        cells = low.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
        if exclude_outside:
            weights = np.where((cells >= 0) & (cells < in_len), weights, dtype(0))
            weights = weights / weights.sum(axis=1, keepdims=True)
        for tap in range(4):
            np.add.at(matrix, (rows, np.clip(cells[:, tap], 0, in_len - 1)), weights[:, tap])
        return matrix
    x = np.clip(x, dtype(0), dtype(in_len - 1))
    low = np.floor(x)
    fraction = x - low
    low = low.astype(np.int64)
    np.add.at(matrix, (rows, low), dtype(1) - fraction)
    np.add.at(matrix, (rows, np.minimum(low + 1, in_len - 1)), fraction)
    return matrix


def _given_scales(ctx: GradContext, node) -> np.ndarray | None:
    """The `scales` input's values; None when absent or empty (opset 13's "use sizes")."""
    if len(node.input) <= 2 or not node.input[2]:
        return None
    scales = ctx.required_constant_value(node.input[2], "Resize scales")
    return scales if scales.size else None


def _scales(ctx: GradContext, node, dtype: type) -> list[float | None]:
    """Per axis, the scale the coordinate formulas use: the `scales` input where given,
    else output length / input length (None where that is unknown)."""
    x, y = node.input[0], node.output[0]
    in_shape, out_shape = ctx.shape(x), ctx.shape(y)
    rank = len(in_shape)
    attrs = attributes(node)
    axes = [a % rank for a in attrs.get("axes", range(rank))]
    scales = _given_scales(ctx, node)
    if scales is not None:
        per_axis = [1.0] * rank
        for axis, scale in zip(axes, scales.astype(np.float32).reshape(-1), strict=True):
            per_axis[axis] = float(scale)
        return per_axis
    if _text(attrs.get("keep_aspect_ratio_policy"), "stretch") != "stretch":
        raise VJPError(f"node {node.name}: Resize keep_aspect_ratio_policy other than "
                       "stretch has no gradient rule")
    return [None if o is None or i is None else float(dtype(o) / dtype(i))
            for i, o in zip(in_shape, out_shape, strict=True)]


@register("Resize")
def resize(ctx, node, grads):
    """Nearest, linear or cubic Resize: the transposed interpolation matrix along each axis
    it changes (transforms half_pixel, half_pixel_symmetric, pytorch_half_pixel,
    align_corners, asymmetric, and tf_half_pixel_for_nn, an opset-11 transform that ONNX
    Runtime still runs and tf2onnx writes; all four nearest modes; cubic_coeff_a and
    exclude_outside). tf_crop_and_resize and antialiased downscaling have no rule."""
    x, y = node.input[0], node.output[0]
    attrs = attributes(node)
    mode = _text(attrs.get("mode"), "nearest")
    transform = _text(attrs.get("coordinate_transformation_mode"), "half_pixel")
    nearest_mode = _text(attrs.get("nearest_mode"), "round_prefer_floor")
    if mode not in ("nearest", "linear", "cubic"):
        raise VJPError(f"node {node.name}: Resize mode {mode} has no gradient rule")
    if transform not in _TRANSFORMS:
        raise VJPError(f"node {node.name}: Resize coordinate_transformation_mode {transform} "
                       "has no gradient rule")
    if mode == "nearest" and nearest_mode not in _NEAREST_MODES:
        raise VJPError(f"node {node.name}: Resize nearest_mode {nearest_mode} is unknown")
    dtype = np.float64 if ctx.np_dtype(x) == np.float64 else np.float32
    scales = _scales(ctx, node, dtype)
    if attrs.get("antialias", 0) and mode != "nearest" and any(
            s is None or s < 1 for s in scales):
        raise VJPError(f"node {node.name}: antialiased Resize downscaling has no gradient rule")
    g = grads[0]
    for axis, (in_len, out_len, scale) in enumerate(zip(ctx.shape(x), ctx.shape(y), scales, strict=True)):
        if None in (in_len, out_len, scale):
            if scale == 1.0 and transform in _IDENTITY_AT_UNIT_SCALE:
                continue
            raise VJPError(f"node {node.name}: Resize gradient needs static sizes on axis "
                           f"{axis} (input {ctx.shape(x)}, output {ctx.shape(y)})")
        matrix = interpolation_matrix(mode, transform, nearest_mode, out_len, in_len,
                                      scale, dtype, attrs.get("cubic_coeff_a", -0.75),
                                      bool(attrs.get("exclude_outside", 0)))
        if out_len == in_len and np.array_equal(matrix, np.eye(in_len)):
            continue
        g = apply_along_axis(ctx, g, matrix, axis, like=x)
    return [g] + [None] * (len(node.input) - 1)
