"""Each supported Caffe layer type, converted to ONNX and run, equals the NumPy reference of
Caffe's arithmetic (support/caffe_reference.py) within float32 noise, edge cases included.

`pytest -s tests/test_caffe_layers.py` prints the largest relative error per layer type
(max |onnx - reference| / max |reference|).
"""
from __future__ import annotations

import numpy as np
import pytest

from converters import caffe_to_onnx
from support.caffe_reference import (convert_and_run, layer_text, ref_conv, ref_deconv,
                                     ref_inner_product, ref_lrn_across, ref_lrn_within, ref_pool,
                                     ref_softmax, rel_err, run_onnx, write_net)

TOLERANCE = 1e-5  # float32 noise; measured errors are ~1e-7 (printed with -s)
LARGEST_ERROR: dict[str, float] = {}
RNG = np.random.default_rng(2016)


@pytest.fixture(scope="module", autouse=True)
def report_errors():
    yield
    print("\nlargest relative error vs the NumPy reference, per Caffe layer type:")
    for layer_type, error in sorted(LARGEST_ERROR.items()):
        print(f"  {layer_type:14s} {error:.2e}")


def check(layer_type: str, actual, expected) -> None:
    assert actual.shape == expected.shape
    error = rel_err(actual, expected)
    LARGEST_ERROR[layer_type] = max(LARGEST_ERROR.get(layer_type, 0.0), error)
    assert error < TOLERANCE, f"{layer_type}: relative error {error:.2e}"


def normal(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CONV_CASES = [  # (input shape, num_output, param text, kernel, pad, stride, dilation, group, bias)
    ((2, 3, 9, 9), 4, "kernel_size: 3", (3, 3), (0, 0), (1, 1), (1, 1), 1, True),
    ((1, 4, 11, 10), 6, "kernel_size: 3 pad: 1 stride: 2 group: 2", (3, 3), (1, 1), (2, 2),
     (1, 1), 2, True),
    ((1, 3, 12, 13), 2, "kernel_h: 3 kernel_w: 2 pad_h: 2 pad_w: 0 stride_h: 3 stride_w: 1",
     (3, 2), (2, 0), (3, 1), (1, 1), 1, True),
    ((1, 2, 13, 13), 3, "kernel_size: 3 dilation: 2 pad: 2 bias_term: false", (3, 3), (2, 2),
     (1, 1), (2, 2), 1, False),
    ((1, 6, 8, 8), 6, "kernel_size: 3 pad: 1 group: 3 stride: 3", (3, 3), (1, 1), (3, 3),
     (1, 1), 3, True),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c[2])
def test_convolution_equals_the_reference_with_pads_strides_dilations_and_groups(tmp_path, case):
    shape, num_output, params, kernel, pad, stride, dilation, group, has_bias = case
    x = normal(*shape)
    weight = normal(num_output, shape[1] // group, *kernel)
    bias = normal(num_output) if has_bias else None
    body = layer_text("conv", "Convolution", ["x"], ["y"],
                      f"convolution_param {{ num_output: {num_output} {params} }}")
    blobs = [weight] + ([bias] if has_bias else [])
    out = convert_and_run(tmp_path, body, {"x": x}, {"conv": blobs})["y"]
    check("Convolution", out, ref_conv(x, weight, bias, pad, stride, dilation, group))


DECONV_CASES = [  # (input shape, num_output, params, kernel, pad, stride, dilation, group, bias)
    ((1, 4, 4, 4), 3, "kernel_size: 4 stride: 2 pad: 1", (4, 4), (1, 1), (2, 2), (1, 1), 1, True),
    ((2, 4, 5, 3), 6, "kernel_size: 3 stride: 3 group: 2", (3, 3), (0, 0), (3, 3), (1, 1), 2, True),
    ((1, 2, 5, 5), 2, "kernel_size: 3 dilation: 2 pad: 1 bias_term: false", (3, 3), (1, 1),
     (1, 1), (2, 2), 1, False),
    ((1, 3, 3, 4), 2, "kernel_h: 2 kernel_w: 5 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 2",
     (2, 5), (1, 2), (1, 2), (1, 1), 1, True),
]


@pytest.mark.parametrize("case", DECONV_CASES, ids=lambda c: c[2])
def test_deconvolution_sizes_and_values(tmp_path, case):
    shape, num_output, params, kernel, pad, stride, dilation, group, has_bias = case
    x = normal(*shape)
    weight = normal(shape[1], num_output // group, *kernel)
    bias = normal(num_output) if has_bias else None
    body = layer_text("deconv", "Deconvolution", ["x"], ["y"],
                      f"convolution_param {{ num_output: {num_output} {params} }}")
    blobs = [weight] + ([bias] if has_bias else [])
    out = convert_and_run(tmp_path, body, {"x": x}, {"deconv": blobs})["y"]
    expected = ref_deconv(x, weight, bias, pad, stride, dilation, group)
    for axis, (size, k, p, s, d) in enumerate(zip(shape[2:], kernel, pad, stride, dilation)):
        assert expected.shape[2 + axis] == (size - 1) * s - 2 * p + d * (k - 1) + 1
    check("Deconvolution", out, expected)


@pytest.mark.parametrize("layer_type", ["Convolution", "Deconvolution"])
def test_convolution_of_several_bottoms_shares_the_weights(tmp_path, layer_type):
    """BaseConvolutionLayer: bottoms of one shape, one top each, all with the same weights."""
    first, second = normal(1, 4, 5, 5), normal(1, 4, 5, 5)
    weight = normal(6, 2, 3, 3) if layer_type == "Convolution" else normal(4, 3, 3, 3)
    bias = normal(6)
    body = layer_text("c", layer_type, ["a", "b"], ["ya", "yb"],
                      "convolution_param { num_output: 6 kernel_size: 3 stride: 2 pad: 1 "
                      "group: 2 }")
    out = convert_and_run(tmp_path, body, {"a": first, "b": second}, {"c": [weight, bias]},
                          outputs=["ya", "yb"])
    reference = ref_conv if layer_type == "Convolution" else ref_deconv
    for name, x in (("ya", first), ("yb", second)):
        check(layer_type, out[name], reference(x, weight, bias, (1, 1), (2, 2), (1, 1), 2))


@pytest.mark.parametrize("shape,params,axis,transpose,has_bias", [
    ((3, 2, 3, 4), "", 1, False, True),
    ((2, 10), "bias_term: false", 1, False, False),
    ((2, 3, 5), "axis: 2", 2, False, True),
    ((2, 6), "transpose: true", 1, True, True),
    ((2, 3, 2, 2), "axis: -2", 2, False, True),
])
def test_inner_product_equals_the_reference_on_any_axis_and_transposed(tmp_path, shape, params, axis, transpose, has_bias):
    x = normal(*shape)
    k = int(np.prod(shape[axis:]))
    weight = normal(k, 7) if transpose else normal(7, k)
    bias = normal(7) if has_bias else None
    body = layer_text("fc", "InnerProduct", ["x"], ["y"],
                      f"inner_product_param {{ num_output: 7 {params} }}")
    out = convert_and_run(tmp_path, body, {"x": x}, {"fc": [weight] + ([bias] if has_bias else [])})
    check("InnerProduct", out["y"], ref_inner_product(x, weight, bias, axis, transpose))


@pytest.mark.parametrize("slope", [0.0, 0.3])
def test_relu_and_leaky_relu_equal_the_reference(tmp_path, slope):
    x = normal(2, 3, 4, 5)
    body = layer_text("relu", "ReLU", ["x"], ["y"], f"relu_param {{ negative_slope: {slope} }}")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("ReLU", out, np.maximum(x, 0) + slope * np.minimum(x, 0))


POOL_CASES = [  # (input hw, kernel, pad, stride, text)
    ((6, 6), (3, 3), (0, 0), (2, 2), "kernel_size: 3 stride: 2"),  # ceil: 3 windows, last clipped
    ((13, 13), (3, 3), (0, 0), (2, 2), "kernel_size: 3 stride: 2"),  # CaffeNet pool5
    ((5, 5), (2, 2), (1, 1), (2, 2), "kernel_size: 2 stride: 2 pad: 1"),  # last window dropped
    ((4, 4), (3, 3), (1, 1), (2, 2), "kernel_size: 3 stride: 2 pad: 1"),  # AVE divisors < 9
    ((7, 5), (3, 2), (1, 1), (2, 3), "kernel_h: 3 kernel_w: 2 pad_h: 1 pad_w: 1 stride_h: 2 "
                                     "stride_w: 3"),
    ((8, 8), (3, 3), (2, 2), (3, 3), "kernel_size: 3 pad: 2 stride: 3"),
    ((1, 1), (2, 2), (1, 1), (4, 4), "kernel_size: 2 pad: 1 stride: 4"),
    # pad on one axis only: Caffe drops a last window starting at or past W + pad_w on the
    # other axis too (its test is on pad_h || pad_w)
    ((6, 6), (2, 2), (1, 0), (3, 3), "kernel_size: 2 stride: 3 pad_h: 1 pad_w: 0"),
]


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: c[4])
def test_pooling_caffe_sizes_and_border_divisors(tmp_path, method, case):
    size, kernel, pad, stride, params = case
    x = normal(2, 3, *size)
    body = layer_text("pool", "Pooling", ["x"], ["y"], f"pooling_param {{ pool: {method} {params} }}")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("Pooling", out, ref_pool(x, method, kernel, pad, stride))


@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_pooling_round_mode_floor_equals_the_reference_with_floored_sizes(tmp_path, method):
    x = normal(1, 2, 8, 7)
    body = layer_text("pool", "Pooling", ["x"], ["y"], f"pooling_param {{ pool: {method} "
                                                       "kernel_size: 3 stride: 2 pad: 1 "
                                                       "round_mode: FLOOR }")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("Pooling", out, ref_pool(x, method, (3, 3), (1, 1), (2, 2), ceil=False))


def test_max_pool_with_tied_maxima_equals_the_reference(tmp_path):
    x = RNG.integers(-2, 3, size=(1, 2, 7, 7)).astype(np.float32)  # many equal maxima
    body = layer_text("pool", "Pooling", ["x"], ["y"], "pooling_param { pool: MAX kernel_size: 3 "
                                                       "stride: 2 pad: 1 }")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("Pooling", out, ref_pool(x, "MAX", (3, 3), (1, 1), (2, 2)))


@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_global_max_and_average_pooling_equal_the_reference(tmp_path, method):
    x = normal(2, 3, 5, 7)
    body = layer_text("pool", "Pooling", ["x"], ["y"],
                      f"pooling_param {{ pool: {method} global_pooling: true }}")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("Pooling", out, ref_pool(x, method, (5, 7)))


@pytest.mark.parametrize("size,alpha,beta,k", [
    (5, 1e-4, 0.75, 1.0), (3, 0.5, 0.6, 2.0),
    # alpha <= 0 or beta <= 0: Caffe computes them; ONNX Runtime's LRN refuses them, so the
    # converter composes the formula (square, channel-window mean, power, product)
    (3, 0.0, 0.75, 2.0), (5, -0.01, 0.75, 5.0), (3, 0.5, 0.0, 1.0), (7, 0.3, -0.5, 1.5)])
def test_lrn_across_channels_equals_the_reference_for_any_alpha_and_beta(tmp_path, size, alpha, beta, k):
    x = normal(2, 7, 4, 4) * 3
    body = layer_text("norm", "LRN", ["x"], ["y"], f"lrn_param {{ local_size: {size} "
                                                     f"alpha: {alpha} beta: {beta} k: {k} }}")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("LRN", out, ref_lrn_across(x.astype(np.float64), size, alpha, beta, k))


def test_lrn_within_channel_equals_the_reference(tmp_path):
    x = normal(1, 3, 6, 5) * 2
    body = layer_text("norm", "LRN", ["x"], ["y"], "lrn_param { local_size: 3 alpha: 0.7 "
                                                     "beta: 0.75 norm_region: WITHIN_CHANNEL }")
    out = convert_and_run(tmp_path, body, {"x": x})["y"]
    check("LRN", out, ref_lrn_within(x.astype(np.float64), 3, 0.7, 0.75))


def test_dropout_is_identity_at_test(tmp_path):
    x = normal(2, 5)
    body = layer_text("drop", "Dropout", ["x"], ["y"], "dropout_param { dropout_ratio: 0.5 }")
    check("Dropout", convert_and_run(tmp_path, body, {"x": x})["y"], x.astype(np.float64))


@pytest.mark.parametrize("shape,axis", [((2, 10), 1), ((2, 4, 3, 3), 1), ((2, 3, 5), -1)])
def test_softmax_equals_the_reference_on_any_axis(tmp_path, shape, axis):
    x = normal(*shape) * 4
    body = layer_text("prob", "Softmax", ["x"], ["y"], f"softmax_param {{ axis: {axis} }}")
    check("Softmax", convert_and_run(tmp_path, body, {"x": x})["y"],
          ref_softmax(x.astype(np.float64), axis))


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_concat_equals_numpy_on_any_axis(tmp_path, axis):
    a, b = normal(2, 3, 4, 5), normal(2, 3, 4, 5)
    body = layer_text("cat", "Concat", ["a", "b"], ["y"], f"concat_param {{ axis: {axis} }}")
    check("Concat", convert_and_run(tmp_path, body, {"a": a, "b": b})["y"],
          np.concatenate([a, b], axis=axis).astype(np.float64))


@pytest.mark.parametrize("params,combine", [
    ("operation: SUM", lambda a, b, c: a + b + c),
    ("operation: SUM coeff: 0.5 coeff: -2 coeff: 1", lambda a, b, c: 0.5 * a - 2 * b + c),
    ("operation: PROD", lambda a, b, c: a * b * c),
    ("operation: MAX", lambda a, b, c: np.maximum(np.maximum(a, b), c)),
])
def test_eltwise_sum_with_coefficients_prod_and_max_equal_numpy(tmp_path, params, combine):
    a, b, c = normal(2, 3, 4), normal(2, 3, 4), normal(2, 3, 4)
    body = layer_text("elt", "Eltwise", ["a", "b", "c"], ["y"], f"eltwise_param {{ {params} }}")
    out = convert_and_run(tmp_path, body, {"a": a, "b": b, "c": c})["y"]
    check("Eltwise", out, combine(*(v.astype(np.float64) for v in (a, b, c))))


@pytest.mark.parametrize("params,expected_shape", [
    ("shape { dim: 0 dim: -1 }", (2, 60)),
    ("shape { dim: 0 dim: 4 dim: -1 dim: 5 }", (2, 4, 3, 5)),
    ("shape { dim: 2 dim: 2 } axis: 2 num_axes: 1", (2, 3, 2, 2, 5)),
    ("shape { dim: -1 } axis: -3", (2, 3, 20)),
    ("shape { dim: 1 } axis: 1 num_axes: 0", (2, 1, 3, 4, 5)),
    ("shape { dim: 2 dim: 3 dim: 20 }", (2, 3, 20)),  # leading dim = the prototxt's batch
    ("shape { dim: 6 dim: 20 }", (6, 20)),  # any other leading dim as written (Caffe)
    ("shape { dim: -1 dim: 2 }", (60, 2)),
])
def test_reshape_gives_caffes_shapes_for_zero_minus_one_axis_and_num_axes(tmp_path, params, expected_shape):
    x = normal(2, 3, 4, 5)
    body = layer_text("r", "Reshape", ["x"], ["y"], f"reshape_param {{ {params} }}")
    check("Reshape", convert_and_run(tmp_path, body, {"x": x})["y"],
          x.reshape(expected_shape).astype(np.float64))


def test_reshape_leading_dim_equal_to_the_prototxt_batch_follows_the_batch(tmp_path):
    """The prototxt declares batch 1 and reshapes to (1, 4, 2, 2): converted for batch 3, the
    leading 1 is the batch (3 samples reshaped); a leading 4 ≠ 1 stays literal."""
    x = normal(3, 16)
    body = layer_text("r", "Reshape", ["x"], ["y"], "reshape_param { shape { dim: 1 dim: 4 "
                                                    "dim: 2 dim: 2 } }")
    prototxt = write_net(tmp_path, body, {"x": (1, 16)})
    out = run_onnx(caffe_to_onnx(prototxt, None, batch=3), {"x": x})["y"]
    check("Reshape", out, x.reshape(3, 4, 2, 2).astype(np.float64))
    prototxt.write_text(prototxt.read_text().replace("dim: 1 dim: 4", "dim: 4 dim: 1"))
    out = run_onnx(caffe_to_onnx(prototxt, None, batch=1), {"x": x[:1]})["y"]
    check("Reshape", out, x[:1].reshape(4, 1, 2, 2).astype(np.float64))


@pytest.mark.parametrize("params,expected_shape", [
    ("", (2, 60)), ("axis: 2", (2, 3, 20)), ("axis: 1 end_axis: 2", (2, 12, 5))])
def test_flatten_gives_caffes_shapes_for_axis_and_end_axis(tmp_path, params, expected_shape):
    x = normal(2, 3, 4, 5)
    body = layer_text("f", "Flatten", ["x"], ["y"], f"flatten_param {{ {params} }}")
    check("Flatten", convert_and_run(tmp_path, body, {"x": x})["y"],
          x.reshape(expected_shape).astype(np.float64))


def test_split_copies_its_bottom_to_every_top(tmp_path):
    x = normal(2, 3)
    body = layer_text("s", "Split", ["x"], ["y1", "y2"])
    out = convert_and_run(tmp_path, body, {"x": x}, outputs=["y1", "y2"])
    check("Split", out["y1"], x.astype(np.float64))
    check("Split", out["y2"], x.astype(np.float64))


@pytest.mark.parametrize("params,axis,count,bias", [
    ("", 1, 1, False), ("bias_term: true", 1, 1, True), ("axis: 2 num_axes: 2", 2, 2, False),
    ("axis: 1 num_axes: -1 bias_term: true", 1, 3, True), ("num_axes: 0", 1, 0, False)])
def test_scale_with_learned_factors_and_bias_equals_numpy(tmp_path, params, axis, count, bias):
    x = normal(2, 3, 4, 5)
    shape = x.shape[axis:axis + count]
    gamma, beta = normal(*shape), normal(*shape)
    body = layer_text("sc", "Scale", ["x"], ["y"], f"scale_param {{ {params} }}")
    out = convert_and_run(tmp_path, body, {"x": x}, {"sc": [gamma] + ([beta] if bias else [])})
    layout = gamma.shape + (1,) * (4 - axis - count)
    expected = x * gamma.reshape(layout).astype(np.float64)
    if bias:
        expected = expected + beta.reshape(layout)
    check("Scale", out["y"], expected)


def test_scale_by_a_second_bottom_equals_numpy(tmp_path):
    x, gamma = normal(2, 3, 4, 5), normal(2, 3)
    body = layer_text("sc", "Scale", ["x", "g"], ["y"], "scale_param { axis: 0 }")
    out = convert_and_run(tmp_path, body, {"x": x, "g": gamma})["y"]
    check("Scale", out, x * gamma.reshape(2, 3, 1, 1).astype(np.float64))


@pytest.mark.parametrize("params,axis,count", [("", 1, 1), ("axis: 2 num_axes: 2", 2, 2)])
def test_bias_along_axis_and_num_axes_equals_numpy(tmp_path, params, axis, count):
    x = normal(2, 3, 4, 5)
    beta = normal(*x.shape[axis:axis + count])
    body = layer_text("b", "Bias", ["x"], ["y"], f"bias_param {{ {params} }}")
    out = convert_and_run(tmp_path, body, {"x": x}, {"b": [beta]})["y"]
    check("Bias", out, x + beta.reshape(beta.shape + (1,) * (4 - axis - count)).astype(np.float64))


@pytest.mark.parametrize("factor", [2.5, 0.0])
def test_batch_norm_divides_the_statistics_by_the_scale_factor_and_zeroes_them_for_0(tmp_path, factor):
    x = normal(2, 4, 3, 3)
    mean, variance = normal(4), np.abs(normal(4)) + 0.1
    body = layer_text("bn", "BatchNorm", ["x"], ["y"], "batch_norm_param { eps: 0.001 }")
    out = convert_and_run(tmp_path, body, {"x": x},
                          {"bn": [mean, variance, np.array([factor], np.float32)]})["y"]
    scale = 0.0 if factor == 0 else 1.0 / factor
    m = (mean.astype(np.float64) * scale).reshape(1, 4, 1, 1)
    v = (variance.astype(np.float64) * scale).reshape(1, 4, 1, 1)
    check("BatchNorm", out, (x - m) / np.sqrt(v + 0.001))


@pytest.mark.parametrize("layer_type,function", [
    ("Sigmoid", lambda x: 1 / (1 + np.exp(-x))), ("TanH", np.tanh), ("AbsVal", np.abs)])
def test_sigmoid_tanh_and_absval_equal_numpy(tmp_path, layer_type, function):
    x = normal(3, 4) * 3
    body = layer_text("u", layer_type, ["x"], ["y"])
    check(layer_type, convert_and_run(tmp_path, body, {"x": x})["y"], function(x.astype(np.float64)))


@pytest.mark.parametrize("power,scale,shift", [(2.0, 0.5, 1.5), (1.0, -2.0, 0.5), (3.0, 1.0, 0.0),
                                               (0.5, 1.0, 4.0)])
def test_power_is_shift_plus_scale_times_x_to_the_power(tmp_path, power, scale, shift):
    x = np.abs(normal(3, 4))
    body = layer_text("p", "Power", ["x"], ["y"],
                      f"power_param {{ power: {power} scale: {scale} shift: {shift} }}")
    check("Power", convert_and_run(tmp_path, body, {"x": x})["y"],
          (shift + scale * x.astype(np.float64)) ** power)


@pytest.mark.parametrize("params,expected", [
    ("axis: 2 offset: 1 offset: 2", lambda x: x[:, :, 1:4, 2:5]),
    ("axis: 2 offset: 1", lambda x: x[:, :, 1:4, 1:4]),
    ("axis: 3", lambda x: x[:, :, :, 0:3]),
    ("axis: 1 offset: 1 offset: 2 offset: 0", lambda x: x[:, 1:3, 2:5, 0:3]),
])
def test_crop_takes_the_second_bottoms_shape_from_axis_at_the_offsets(tmp_path, params, expected):
    x, reference = normal(2, 4, 6, 7), normal(2, 2, 3, 3)
    body = layer_text("c", "Crop", ["x", "r"], ["y"], f"crop_param {{ {params} }}")
    out = convert_and_run(tmp_path, body, {"x": x, "r": reference})["y"]
    check("Crop", out, expected(x).astype(np.float64))


@pytest.mark.parametrize("params,points,axis", [
    ("slice_point: 1 slice_point: 4", [1, 4], 1), ("axis: 2", [2, 4], 2),
    ("axis: -1 slice_point: 3 slice_point: 4", [3, 4], 3)])
def test_slice_splits_at_the_slice_points_or_evenly_on_any_axis(tmp_path, params, points, axis):
    x = normal(2, 6, 6, 5)
    body = layer_text("s", "Slice", ["x"], ["a", "b", "c"], f"slice_param {{ {params} }}")
    out = convert_and_run(tmp_path, body, {"x": x}, outputs=["a", "b", "c"])
    for name, part in zip("abc", np.split(x, points, axis=axis)):
        check("Slice", out[name], part.astype(np.float64))


def test_input_layer_tops_become_the_graph_inputs(tmp_path):
    path = tmp_path / "n.prototxt"
    path.write_text('layer { name: "in" type: "Input" top: "a" top: "b" '
                    'input_param { shape { dim: 1 dim: 3 } } }\n'
                    + layer_text("add", "Eltwise", ["a", "b"], ["y"]))
    model = caffe_to_onnx(path, None)
    a, b = normal(1, 3), normal(1, 3)
    assert [i.name for i in model.graph.input] == ["a", "b"]
    check("Input", run_onnx(model, {"a": a, "b": b})["y"], (a + b).astype(np.float64))
