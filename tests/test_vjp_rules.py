"""Every gradient rule against central finite differences of the float64 graph, on random
shapes and attributes (hypothesis), plus the float32 graph on ONNX Runtime against the
float64 gradient. Caffe's tie conventions (max-pool first maximum, ReLU at 0, Eltwise MAX)
are checked on exact ties. Run with -s to print the largest error per rule."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from converters.vjp.transform import build_vjp
from support.numpy_conv import conv_out_size
from support.vjp_check import (away_from_zero, caffe_max_pool_backward, check_vjp, distinct,
                               runner, single_node_model, values)

FEW = settings(max_examples=25, deadline=None, derandomize=True)


pytestmark = pytest.mark.usefixtures("print_measured_errors")


def _check_single(rule, op_type, inputs, attrs=None, constants=None, wrt=None, n_outputs=1,
                  of=None, **kwargs):
    """One node: `inputs` are graph inputs, `constants` initializers (those named in wrt
    become inputs and are fed)."""
    constants = constants or {}
    wrt = wrt or list(inputs)
    values = {**inputs, **{k: v for k, v in constants.items() if k in wrt}}
    make = (lambda t: single_node_model(op_type, inputs, attrs or {}, t, constants, n_outputs))
    return check_vjp(rule, make, values, wrt, of or ["y0"], **kwargs)


def _check_with_weights(rule, op_type, x, weights: dict, attrs, **kwargs):
    """x is a graph input; the weights are initializers named in wrt (they become inputs)."""
    return _check_single(rule, op_type, {"x": x}, attrs, weights, ["x", *weights], **kwargs)


# ---- Conv / ConvTranspose -------------------------------------------------------------
@st.composite
def conv_cases(draw):
    group = draw(st.sampled_from([1, 2]))
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = [draw(st.integers(0, kernel[a % 2] - 1)) for a in range(4)]
    strides = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    size = [draw(st.integers((k - 1) * d + 1, 7)) for k, d in zip(kernel, dilations)]
    return dict(n=draw(st.integers(1, 2)), group=group, cin=group * draw(st.integers(1, 2)),
                cout=group * draw(st.integers(1, 2)), kernel=kernel, dilations=dilations,
                pads=pads, strides=strides, size=size, seed=draw(st.integers(0, 999)))


@FEW
@given(conv_cases())
def test_conv_matches_finite_differences(case):
    x = values(case["seed"], [case["n"], case["cin"], *case["size"]])
    w = values(case["seed"] + 1, [case["cout"], case["cin"] // case["group"], *case["kernel"]])
    b = values(case["seed"] + 2, [case["cout"]])
    attrs = dict(group=case["group"], strides=case["strides"], pads=case["pads"],
                 dilations=case["dilations"], kernel_shape=case["kernel"])
    _check_with_weights("Conv", "Conv", x, {"W": w, "B": b}, attrs)


@FEW
@given(conv_cases(), st.integers(0, 2))
def test_conv_transpose_matches_finite_differences(case, extra):
    x = values(case["seed"], [case["n"], case["cin"], *case["size"]])
    w = values(case["seed"] + 1, [case["cin"], case["cout"] // case["group"], *case["kernel"]])
    b = values(case["seed"] + 2, [case["cout"]])
    output_padding = [min(extra, s - 1) for s in case["strides"]]
    attrs = dict(group=case["group"], strides=case["strides"], pads=case["pads"],
                 dilations=case["dilations"], output_padding=output_padding)
    _check_with_weights("ConvTranspose", "ConvTranspose", x, {"W": w, "B": b}, attrs)


# ---- Gemm / MatMul --------------------------------------------------------------------
@FEW
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.booleans(), st.booleans(),
       st.sampled_from(["full", "row", "scalar"]), st.integers(0, 999))
def test_gemm_matches_finite_differences(m, k, n, trans_a, trans_b, c_kind, seed):
    a = values(seed, [k, m] if trans_a else [m, k])
    b = values(seed + 1, [n, k] if trans_b else [k, n])
    c = values(seed + 2, {"full": [m, n], "row": [n], "scalar": [1]}[c_kind])
    attrs = dict(transA=int(trans_a), transB=int(trans_b), alpha=0.7, beta=1.3)
    _check_single("Gemm", "Gemm", {"A": a, "B": b, "C": c}, attrs)


@FEW
@given(st.sampled_from([([2, 3], [3, 4]), ([2, 2, 3], [3, 4]), ([3, 4], [2, 4, 5]),
                        ([2, 1, 2, 3], [3, 3, 2])]), st.integers(0, 999))
def test_matmul_matches_finite_differences(shapes, seed):
    _check_single("MatMul", "MatMul", {"A": values(seed, shapes[0]),
                                       "B": values(seed + 1, shapes[1])})


# ---- pointwise --------------------------------------------------------------------------
@FEW
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.integers(0, 999))
def test_relu_and_leaky_relu_match_finite_differences(shape, seed):
    x = away_from_zero(seed, shape)
    _check_single("Relu", "Relu", {"x": x})
    _check_single("LeakyRelu", "LeakyRelu", {"x": x}, dict(alpha=0.3))


@pytest.mark.parametrize("op_type,attrs,slope", [("Relu", {}, 0.0),
                                                 ("LeakyRelu", {"alpha": 0.3}, 0.3),
                                                 ("LeakyRelu", {"alpha": 1.5}, 1.5),
                                                 ("LeakyRelu", {"alpha": -0.2}, -0.2)])
def test_relu_at_exactly_zero_takes_the_negative_slope(op_type, attrs, slope):
    x = np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)
    model = build_vjp(single_node_model(op_type, {"x": x}, attrs, TensorProto.FLOAT),
                      ["x"], ["y0"])
    _, grad = runner(model, double=False)({"x": x, "y0_grad": np.ones_like(x)})
    np.testing.assert_array_equal(grad, np.array([[slope, slope, 1.0]], dtype=np.float32))
    _, grad = runner(model, double=False)({"x": x, "y0_grad": np.full_like(x, 0.7)})
    expected = np.float32(0.7) * np.array([[slope, slope, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(grad, expected)  # exactly g or g * slope, as Caffe


UNARY = {"Sigmoid": (-3, 3), "Tanh": (-2, 2), "Exp": (-2, 2), "Sqrt": (0.2, 3), "Log": (0.2, 3),
         "Neg": (-2, 2), "Abs": None}


@pytest.mark.parametrize("op_type", sorted(UNARY))
@FEW
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 999))
def test_unary_ops_match_finite_differences(op_type, shape, seed):
    bounds = UNARY[op_type]
    x = away_from_zero(seed, shape) if bounds is None else values(seed, shape, *bounds)
    _check_single(op_type, op_type, {"x": x})


@FEW
@given(st.lists(st.integers(2, 5), min_size=2, max_size=4), st.integers(0, 3), st.integers(0, 999))
def test_softmax_matches_finite_differences(shape, axis, seed):
    axis = axis % len(shape)
    _check_single("Softmax", "Softmax", {"x": values(seed, shape, -2, 2)}, dict(axis=axis))


# ---- broadcasting arithmetic ----------------------------------------------------------
BROADCAST_PAIRS = [([2, 3], [2, 3]), ([2, 3, 4], [4]), ([2, 1, 4], [3, 1]), ([1], [2, 3]),
                   ([2, 3, 1, 1], [3, 1, 1])]


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@FEW
@given(shapes=st.sampled_from(BROADCAST_PAIRS), seed=st.integers(0, 999))
def test_binary_arithmetic_matches_finite_differences(op_type, shapes, seed):
    a = values(seed, shapes[0])
    b = values(seed + 1, shapes[1], 0.5, 2.0)
    _check_single(op_type, op_type, {"a": a, "b": b})


@FEW
@given(st.sampled_from(BROADCAST_PAIRS), st.integers(0, 999))
def test_pow_matches_finite_differences(shapes, seed):
    _check_single("Pow", "Pow", {"a": values(seed, shapes[0], 0.5, 2.0),
                                 "b": values(seed + 1, shapes[1], -1.0, 2.5)})


@pytest.mark.parametrize("op_type", ["Sum", "Max", "Min"])
@FEW
@given(count=st.integers(1, 3), shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       seed=st.integers(0, 999))
def test_variadic_ops_match_finite_differences(op_type, count, shape, seed):
    xs = distinct(seed, [count, *shape])
    _check_single(op_type, op_type, {f"x{i}": xs[i] for i in range(count)})


def test_eltwise_max_ties_follow_caffe_mask():
    """Caffe: bottom0 vs bottom1 tie -> bottom1; later bottoms only when strictly greater."""
    x0 = np.array([[1.0, 2.0, 5.0]], dtype=np.float32)
    x1 = np.array([[1.0, 0.0, 5.0]], dtype=np.float32)
    x2 = np.array([[1.0, 2.0, 5.0]], dtype=np.float32)
    inputs = {"x0": x0, "x1": x1, "x2": x2}
    model = build_vjp(single_node_model("Max", inputs, {}, TensorProto.FLOAT),
                      list(inputs), ["y0"])
    _, g0, g1, g2 = runner(model, double=False)({**inputs, "y0_grad": np.ones_like(x0)})
    np.testing.assert_array_equal(g0, [[0, 1, 0]])
    np.testing.assert_array_equal(g1, [[1, 0, 1]])
    np.testing.assert_array_equal(g2, [[0, 0, 0]])


# ---- pooling --------------------------------------------------------------------------
@st.composite
def pool_cases(draw):
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    pads = [draw(st.integers(0, kernel[a % 2] - 1)) for a in range(4)]
    strides = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    return dict(kernel=kernel, pads=pads, strides=strides,
                size=[draw(st.integers(k, 7)) for k in kernel], n=draw(st.integers(1, 2)),
                c=draw(st.integers(1, 3)), ceil=draw(st.integers(0, 1)),
                seed=draw(st.integers(0, 999)))


def _runtimes_agree_on_size(case) -> bool:
    """With ceil_mode, onnx's shape inference keeps a last window that starts past the
    input and its begin pad, ONNX Runtime drops it; such cases are left out (Caffe-converted
    pools use ceil_mode 0 with explicit pads)."""
    for a in range(2):
        k, s, size = case["kernel"][a], case["strides"][a], case["size"][a]
        begin, end = case["pads"][a], case["pads"][a + 2]
        out = -(-(size + begin + end - k) // s) + 1
        if case["ceil"] and (out - 1) * s >= size + begin:
            return False
    return True


def _pool_attrs(case):
    return dict(kernel_shape=case["kernel"], pads=case["pads"], strides=case["strides"],
                ceil_mode=case["ceil"])


@FEW
@given(pool_cases())
def test_max_pool_matches_finite_differences(case):
    assume(_runtimes_agree_on_size(case))
    x = distinct(case["seed"], [case["n"], case["c"], *case["size"]])
    _check_single("MaxPool", "MaxPool", {"x": x}, _pool_attrs(case))


@FEW
@given(pool_cases(), st.integers(0, 1))
def test_average_pool_matches_finite_differences(case, include_pad):
    assume(_runtimes_agree_on_size(case))
    x = values(case["seed"], [case["n"], case["c"], *case["size"]])
    _check_single("AveragePool", "AveragePool", {"x": x},
                  dict(_pool_attrs(case), count_include_pad=include_pad))


@pytest.mark.parametrize("kernel,strides,pads", [([3, 3], [2, 2], [0, 0, 0, 0]),
                                                 ([3, 3], [1, 1], [1, 1, 1, 1]),
                                                 ([2, 3], [1, 2], [1, 0, 1, 2])])
def test_max_pool_ties_go_to_first_maximum_and_overlaps_add(kernel, strides, pads):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (2, 2, 7, 7)).astype(np.float32)  # many ties
    x[0, 0] = 1.0                                            # a channel of ties only
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads)
    model = build_vjp(single_node_model("MaxPool", {"x": x}, attrs, TensorProto.FLOAT),
                      ["x"], ["y0"])
    out_hw = [conv_out_size(7, kernel[a], strides[a], pads[a], pads[a + 2], 1) for a in range(2)]
    g = rng.uniform(0.5, 1.5, (2, 2, *out_hw)).astype(np.float32)
    _, grad = runner(model, double=False)({"x": x, "y0_grad": g})
    expected = caffe_max_pool_backward(x, g, kernel, strides, pads)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6)


@FEW
@given(st.lists(st.integers(1, 4), min_size=3, max_size=4), st.integers(0, 999))
def test_global_average_pool_matches_finite_differences(shape, seed):
    _check_single("GlobalAveragePool", "GlobalAveragePool", {"x": values(seed, shape)})


# ---- LRN ------------------------------------------------------------------------------
@FEW
@given(st.sampled_from([1, 3, 5, 7]), st.integers(1, 8), st.floats(1e-3, 2.0),
       st.floats(0.1, 1.0), st.floats(0.5, 2.0), st.integers(0, 999))
def test_lrn_matches_finite_differences(size, channels, alpha, beta, bias, seed):
    x = values(seed, [2, channels, 3, 2], -2, 2)
    _check_single("LRN", "LRN", {"x": x}, dict(size=size, alpha=alpha, beta=beta, bias=bias))


# ---- data movement --------------------------------------------------------------------
@FEW
@given(st.integers(1, 3), st.integers(0, 2), st.integers(0, 999))
def test_concat_matches_finite_differences(count, axis, seed):
    rng = np.random.default_rng(seed)
    shapes = [[2, 3, 2] for _ in range(count)]
    for s in shapes:
        s[axis] = int(rng.integers(1, 4))
    _check_single("Concat", "Concat", {f"x{i}": values(seed + i, s) for i, s in enumerate(shapes)},
                  dict(axis=axis))


RESHAPING = [("Reshape", {}, {"shape": np.array([0, -1], dtype=np.int64)}),
             ("Flatten", {"axis": 2}, {}),
             ("Squeeze", {}, {"axes": np.array([1], dtype=np.int64)}),
             ("Unsqueeze", {}, {"axes": np.array([0, 3], dtype=np.int64)}),
             ("Transpose", {"perm": [2, 0, 1, 3]}, {}),
             ("Identity", {}, {}),
             ("Dropout", {}, {})]


@pytest.mark.parametrize("op_type,attrs,constants", RESHAPING, ids=[r[0] for r in RESHAPING])
@FEW
@given(shape=st.lists(st.integers(1, 4), min_size=4, max_size=4), seed=st.integers(0, 999))
def test_data_movement_matches_finite_differences(op_type, attrs, constants, shape, seed):
    x = values(seed, [shape[0], 1, *shape[2:]])  # axis 1 has size 1 for Squeeze
    _check_single(op_type, op_type, {"x": x}, attrs, constants, ["x"])


@FEW
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=3, max_size=3),
       st.integers(0, 999))
def test_slice_matches_finite_differences(bounds, seed):
    x = values(seed, [4, 5, 6])
    starts = np.array([b[0] for b in bounds], dtype=np.int64)
    ends = np.array([b[1] if b[1] != 0 else 99 for b in bounds], dtype=np.int64)
    if any(len(range(*slice(s, e).indices(d))) == 0 for s, e, d in zip(starts, ends, x.shape)):
        return
    constants = {"starts": starts, "ends": ends, "axes": np.array([0, 1, 2], dtype=np.int64)}
    _check_single("Slice", "Slice", {"x": x}, {}, constants, ["x"])


@FEW
@given(st.lists(st.integers(-1, 2), min_size=6, max_size=6), st.integers(0, 999))
def test_pad_matches_finite_differences(pads, seed):
    x = values(seed, [3, 4, 5])
    constants = {"pads": np.array(pads, dtype=np.int64), "value": np.array(0.5)}
    _check_single("Pad", "Pad", {"x": x}, {}, constants, ["x"])


@pytest.mark.parametrize("of", [["y0", "y1"], ["y1"]])
@FEW
@given(first=st.integers(1, 3), second=st.integers(1, 3), rows=st.integers(1, 3),
       seed=st.integers(0, 999))
def test_split_matches_finite_differences(of, first, second, rows, seed):
    """An output without a cotangent contributes zeros."""
    _check_single("Split", "Split", {"x": values(seed, [rows, first + second])}, dict(axis=1),
                  {"split": np.array([first, second])}, ["x"], n_outputs=2, of=of)


@FEW
@given(st.sampled_from([([3, 1], [2, 3, 4]), ([1], [5]), ([2, 1, 3], [2, 4, 3]),
                        ([4], [2, 1, 4])]), st.integers(0, 999))
def test_expand_matches_finite_differences(shapes, seed):
    _check_single("Expand", "Expand", {"x": values(seed, shapes[0])}, {},
                  {"shape": np.array(shapes[1], dtype=np.int64)}, ["x"])


# ---- BatchNormalization ---------------------------------------------------------------
@FEW
@given(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.integers(1, 4), st.integers(0, 999))
def test_batch_normalization_matches_finite_differences(spatial, channels, seed):
    x = values(seed, [2, channels, *spatial])
    stats = {"scale": values(seed + 1, [channels]), "B": values(seed + 2, [channels]),
             "mean": values(seed + 3, [channels]), "var": values(seed + 4, [channels], 0.5, 2)}
    _check_single("BatchNormalization", "BatchNormalization", {"x": x}, dict(epsilon=1e-3),
                  stats, ["x", "scale", "B"])


def test_cast_matches_finite_differences():
    """x -> float32 -> x's type: the gradient is cast back (identity up to float32 rounding,
    hence the coarse step)."""
    def make(elem_type):
        model = single_node_model("Cast", {"x": values(0, [2, 3])}, dict(to=TensorProto.FLOAT),
                                  elem_type)
        model.graph.node.append(helper.make_node("Cast", ["y0"], ["y"], to=elem_type, name="back"))
        model.graph.output[0].name = "y"
        return model
    check_vjp("Cast", make, {"x": values(0, [2, 3])}, ["x"], ["y"], step=1e-2, tol=1e-4)


# That every op the Caffe converter may emit has a rule is tested in test_registries.py,
# from the ops each converter declares (no hand-kept list).


@pytest.mark.parametrize("op_type,extra", [("MaxPool", {}),
                                           ("AveragePool", {"count_include_pad": 0}),
                                           ("AveragePool", {"count_include_pad": 1})])
@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_float64_pool_stand_ins_match_onnx_runtime(op_type, extra, ceil_mode):
    """The tests' float64 MaxPool (values and Indices) and AveragePool agree with ONNX
    Runtime's float32 ones, ties and windows past the input included."""
    from support.vjp_check import AveragePool, MaxPool
    x = np.random.default_rng(9).integers(0, 4, (2, 3, 7, 6)).astype(np.float32)
    attrs = dict(kernel_shape=[3, 2], strides=[2, 3], pads=[1, 0, 1, 1], ceil_mode=ceil_mode,
                 **extra)
    n_outputs = 2 if op_type == "MaxPool" else 1
    model = single_node_model(op_type, {"x": x}, attrs, TensorProto.FLOAT, n_outputs=n_outputs)
    if n_outputs == 2:
        model.graph.output[1].type.tensor_type.elem_type = TensorProto.INT64
    expected = runner(model, double=False)({"x": x})
    stand_in = {"MaxPool": MaxPool, "AveragePool": AveragePool}[op_type]
    got = stand_in.__new__(stand_in)._run(x.astype(np.float64), **attrs)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)
