"""Gradient rules for the ops of modern ONNX classifiers (issue 14: exports at opsets 13-21).

Each op and attribute form is checked against float64 central differences by the shared
harness (support/vjp_check.check_vjp, which also compares the float32 graph on ONNX Runtime
with the float64 gradient), at opset 13 and at a later opset (the one where the form
appeared, or 21). Resize and dilated AveragePool are also checked against ONNX Runtime's
own float32 forward: its Jacobian, read off by feeding unit inputs, times the cotangent
must equal the gradient. Run with -s to print the largest error per rule and form.
"""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from converters.vjp.context import VJPError
from converters.vjp.rules import RULES
from converters.vjp.transform import build_vjp
from support.vjp_check import (away_from_zero, caffe_max_pool_backward, check_vjp, distinct,
                               report_measured, runner, values)
from support.vjp_graphs import check_node, graph_model, one_node

LATER = 21   # the latest opset the forms are checked at besides 13


@pytest.fixture(scope="module", autouse=True)
def print_measured_errors():
    yield
    print("\nlargest errors per rule (relative to max(1, |grad|max)):\n" + report_measured())


def _ints(*values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _away_from(seed: int, shape, kinks, gap: float = 0.05, low=-1.0, high=1.0):
    """Uniform values at least `gap` from every kink (finite differences stay on one side)."""
    x = values(seed, shape, low, high)
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x[near] = kink + np.where(x[near] >= kink, gap, -gap)
    return x


OPSETS = pytest.mark.parametrize("opset", [13, LATER])


# ---- BatchNormalization (inference), GlobalAveragePool, AveragePool --------------------
@OPSETS
@pytest.mark.parametrize("shape", [[3, 4], [2, 3, 4, 5], [2, 3, 5]], ids=str)
def test_batch_normalization_inference_matches_finite_differences_for_every_input(opset, shape):
    """x, scale and B, and the statistics too when they are inputs."""
    channels = shape[1]
    stats = {"scale": values(1, [channels]), "B": values(2, [channels]),
             "mean": values(3, [channels]), "var": values(4, [channels], 0.5, 2)}
    check_node(f"rank {len(shape)}", "BatchNormalization", {"x": values(0, shape)}, stats,
           opset=opset, wrt=["x", *stats], epsilon=1e-3)


@OPSETS
@pytest.mark.parametrize("shape", [[2, 3, 5], [2, 3, 4, 5], [1, 2, 3, 2, 2]], ids=str)
def test_global_average_pool_matches_finite_differences(opset, shape):
    check_node(f"rank {len(shape)}", "GlobalAveragePool", {"x": values(0, shape)}, opset=opset)


AVERAGE_POOLS = [dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                 dict(kernel_shape=[2, 3], strides=[1, 2], pads=[1, 0, 0, 2], ceil_mode=1),
                 dict(kernel_shape=[7, 7])]


@OPSETS
@pytest.mark.parametrize("include_pad", [0, 1])
@pytest.mark.parametrize("attrs", AVERAGE_POOLS, ids=["pad", "ceil", "global-like"])
def test_average_pool_matches_finite_differences_with_and_without_count_include_pad(opset, include_pad, attrs):
    check_node(f"count_include_pad={include_pad}", "AveragePool",
           {"x": values(0, [2, 3, 7, 7])}, opset=opset, count_include_pad=include_pad,
           **attrs)


MAX_POOLS = [dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             dict(kernel_shape=[2, 3], strides=[1, 2], pads=[1, 0, 0, 2], ceil_mode=1),
             dict(kernel_shape=[3, 2], strides=[2, 2])]


@pytest.mark.parametrize("opset", [13, 15, LATER])
@pytest.mark.parametrize("attrs", MAX_POOLS, ids=["resnet-stem", "ceil", "no-pad"])
def test_max_pool_matches_finite_differences_before_and_after_scatter_add(opset, attrs):
    """Opsets 13-15 have no ScatterElements reduction: the rule routes through window
    cells instead (distinct values, so no ties and no kink within the step)."""
    check_node(f"opset {'< 16' if opset < 16 else '>= 16'}", "MaxPool",
           {"x": distinct(opset, [2, 3, 7, 7])}, opset=opset, **attrs)


@pytest.mark.parametrize("attrs", [
    *MAX_POOLS, dict(kernel_shape=[3, 2], dilations=[2, 3], pads=[1, 1, 2, 0]),
    dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(kernel_shape=[2, 3], strides=[2, 1], auto_pad="SAME_LOWER")],
    ids=["resnet-stem", "ceil", "no-pad", "dilated", "same-upper", "same-lower"])
def test_max_pool_ties_follow_caffe_at_opset_13(attrs):
    """Window-cell routing gives the same gradients as the scatter-add path (first maximum,
    overlaps add), ties and dilations included, and Caffe's where Caffe has the op."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 2, 7, 7)).astype(np.float32)
    x[0, 0] = 1.0
    grads = []
    for opset in (13, 17):
        model = graph_model([one_node("MaxPool", ["x"], **attrs)], {"x": x}, opset=opset)
        vjp = runner(build_vjp(model(TensorProto.FLOAT), ["x"], ["y0"]), double=False)
        y_shape = runner(model(TensorProto.FLOAT), double=False)({"x": x})[0].shape
        g = rng.uniform(0.5, 1.5, y_shape).astype(np.float32) if not grads else g
        grads.append(vjp({"x": x, "y0_grad": g})[1])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    if not {"dilations", "ceil_mode", "auto_pad"} & set(attrs):
        expected = caffe_max_pool_backward(x, g, attrs["kernel_shape"], attrs["strides"],
                                           attrs.get("pads", [0, 0, 0, 0]))
        np.testing.assert_allclose(grads[0], expected, rtol=1e-6)


SAME_PADS = [dict(auto_pad="SAME_UPPER", strides=[2, 2]), dict(auto_pad="SAME_LOWER", strides=[2, 1]),
             dict(auto_pad="VALID", strides=[2, 2])]


@OPSETS
@pytest.mark.parametrize("attrs", SAME_PADS, ids=["upper", "lower", "valid"])
def test_conv_with_auto_pad_matches_finite_differences(opset, attrs):
    """TensorFlow exports write auto_pad; its pads are resolved from the input size (ONNX
    Runtime refuses SAME with dilations, so that form is not exercised)."""
    weights = {"W": values(1, [4, 2, 3, 2]), "B": values(2, [4])}
    check_node(attrs["auto_pad"], "Conv", {"x": values(0, [2, 2, 7, 6])}, weights,
           opset=opset, wrt=["x", "W", "B"], **attrs)


@pytest.mark.parametrize("include_pad", [0, 1])
@pytest.mark.parametrize("attrs", SAME_PADS[:2], ids=["upper", "lower"])
def test_average_pool_with_auto_pad_is_onnx_runtimes_jacobian(include_pad, attrs):
    node = one_node("AveragePool", ["x"], kernel_shape=[3, 2], count_include_pad=include_pad,
                 **attrs)
    _gradient_equals_ort_jacobian(node, {}, [1, 1, 7, 6], 13)


# ---- broadcasting arithmetic, MatMul, Gemm ---------------------------------------------
BROADCASTS = [([2, 3, 4, 5], [3, 1, 1]), ([2, 3], []), ([], [4, 1]), ([1, 3, 1], [2, 1, 4]),
              ([2, 3, 4], [2, 3, 4])]


@OPSETS
@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_broadcast_binary_arithmetic_matches_finite_differences(opset, op_type, shapes):
    a = np.asarray(values(0, shapes[0]))
    b = away_from_zero(1, shapes[1])
    b = np.asarray(b + np.sign(b))                                   # |b| >= 1.1
    check_node("broadcast", op_type, {"a": a, "b": b}, opset=opset)


MATMUL_SHAPES = [([3], [3]), ([3], [3, 4]), ([2, 3], [3]), ([3], [2, 3, 4]), ([2, 2, 3], [3]),
                 ([2, 1, 2, 3], [3, 3, 2]), ([4, 3], [3, 2])]


@OPSETS
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_batched_and_one_dimensional_matmul_match_finite_differences(opset, shapes):
    form = "1-D operand" if 1 in (len(shapes[0]), len(shapes[1])) else "batched"
    check_node(form, "MatMul", {"A": values(0, shapes[0]), "B": values(1, shapes[1])},
           opset=opset)


GEMM_C = {"no C": None, "C full": [3, 4], "C row": [4], "C column": [3, 1], "C [1]": [1],
          "C scalar": []}


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("c_kind", list(GEMM_C))
@pytest.mark.parametrize("alpha_beta", [{}, {"alpha": 0.7, "beta": 1.3}, {"beta": 0.0}],
                         ids=["defaults", "alpha-beta", "beta=0"])
def test_gemm_matches_finite_differences_in_every_attribute_combination(trans_a, trans_b, c_kind, alpha_beta):
    """Gemm's last change is opset 13."""
    m, k, n = 3, 2, 4
    inputs = {"A": values(0, [k, m] if trans_a else [m, k]),
              "B": values(1, [n, k] if trans_b else [k, n])}
    if GEMM_C[c_kind] is not None:
        inputs["C"] = np.asarray(values(2, GEMM_C[c_kind]))
    check_node(f"transA={trans_a} transB={trans_b} {c_kind}", "Gemm", inputs,
           transA=trans_a, transB=trans_b, **alpha_beta)


# ---- data movement ---------------------------------------------------------------------
RESHAPES = [("Flatten", {}, {}), ("Flatten", {"axis": 0}, {}), ("Flatten", {"axis": -1}, {}),
            ("Reshape", {}, {"shape": _ints(0, -1, 5)}),
            ("Reshape", {"allowzero": 1}, {"shape": _ints(3, 2, 5)}),
            ("Transpose", {}, {}), ("Transpose", {"perm": [1, 2, 0]}, {}),
            ("Squeeze", {}, {"axes": _ints(1)}), ("Squeeze", {}, {"axes": _ints(-2)}),
            ("Squeeze", {}, {}), ("Unsqueeze", {}, {"axes": _ints(0, 4)}),
            ("Unsqueeze", {}, {"axes": _ints(-1)}), ("Identity", {}, {})]


@OPSETS
@pytest.mark.parametrize("op_type,attrs,constants", RESHAPES,
                         ids=[f"{r[0]}{r[1]}{list(r[2].values())}" for r in RESHAPES])
def test_reshaping_ops_match_finite_differences(opset, op_type, attrs, constants):
    if "allowzero" in attrs and opset < 14:
        pytest.skip("allowzero appeared at opset 14")
    x = values(0, [6, 1, 5] if op_type != "Reshape" else [3, 2, 5])
    form = " ".join([*(f"{k}={v}" for k, v in attrs.items()),
                     *(f"{k}={v.tolist()}" for k, v in constants.items())])
    check_node(form, op_type, {"x": x}, constants,
           opset=opset, **attrs)


@OPSETS
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_on_any_axis_matches_finite_differences(opset, axis):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for i, shape in enumerate(shapes):
        shape[axis] = i + 1
    check_node(f"axis={axis}", "Concat", {f"x{i}": values(i, s) for i, s in enumerate(shapes)},
           opset=opset, axis=axis)


@pytest.mark.parametrize("form,opset,constants,attrs", [
    ("split input", 13, {"split": _ints(2, 5)}, {"axis": 1}),
    ("equal parts", 13, {}, {"axis": -1}),
    ("split input", LATER, {"split": _ints(2, 5)}, {"axis": 1}),
    ("num_outputs, uneven", 18, {}, {"axis": 1, "num_outputs": 2}),
    ("num_outputs, uneven", LATER, {}, {"axis": -1, "num_outputs": 2})])
@pytest.mark.parametrize("of", [["y0", "y1"], ["y1"]])
def test_every_split_form_matches_finite_differences(form, opset, constants, attrs, of):
    """An output without a cotangent contributes zeros."""
    check_node(form, "Split", {"x": values(0, [3, 7 if constants or "num_outputs" in attrs
                                            else 8])},
           constants, opset=opset, n_outputs=2, of=of, **attrs)


SLICES = [("negative starts/ends", _ints(-4, 1), _ints(-1, 99), None, None),
          ("step 2", _ints(1), _ints(7), _ints(2), _ints(2)),
          ("step -1 (flip)", _ints(-1), _ints(-(2 ** 63)), _ints(-1), _ints(-1)),
          ("step -2, clamped", _ints(99, 3), _ints(0, -99), _ints(0, 2), _ints(-2, -3)),
          ("steps 3 and 1", _ints(0, 1), _ints(5, 4), _ints(2, 1), _ints(3, 1))]


@OPSETS
@pytest.mark.parametrize("form,starts,ends,axes,steps", SLICES, ids=[s[0] for s in SLICES])
def test_slice_with_negative_indices_axes_and_steps_matches_finite_differences(opset, form, starts, ends, axes, steps):
    constants = {"starts": starts, "ends": ends}
    names = ["x", "starts", "ends"]
    if axes is not None:
        constants["axes"] = axes
        names.append("axes")
    if steps is not None:
        constants["steps"] = steps
        names.append("steps")
    check_node(form, "Slice", {"x": values(0, [4, 5, 8])}, constants, names, opset=opset)


PADS = [("constant", 13, _ints(1, 0, 2, 0, 2, 1), None, None),
        ("constant, crop", 13, _ints(-1, 2, 0, 1, 0, -2), None, None),
        ("reflect", 13, _ints(2, 1, 0, 1, 3, 2), None, None),
        ("edge", 13, _ints(3, 0, 1, 0, 4, 2), None, None),
        ("constant", 18, _ints(1, 2, 0, 3), _ints(0, -1), None),
        ("reflect", 18, _ints(2, 3), _ints(1), None),
        ("edge", LATER, _ints(0, 2, 3, 1), _ints(-1, 0), None),
        ("wrap", 19, _ints(1, 2, 3, 2, 1, 3), None, None),
        ("wrap", LATER, _ints(3, 1), _ints(2), None)]


@pytest.mark.parametrize("mode,opset,pads,axes,_", PADS,
                         ids=[f"{p[0]}-{p[1]}{'-axes' if p[3] is not None else ''}"
                              for p in PADS])
def test_pad_in_every_mode_and_on_axes_matches_finite_differences(mode, opset, pads, axes, _):
    constants = {"pads": pads}
    names = ["x", "pads"]
    if mode.startswith("constant"):
        constants["value"] = np.array(0.5)
        names.append("value")
    if axes is not None:
        constants["axes"] = axes
        names += [""] * (3 - len(names)) + ["axes"]
    check_node(f"{mode} opset {opset}{' axes' if axes is not None else ''}", "Pad",
           {"x": values(0, [3, 4, 5])}, constants, names, opset=opset, wrt=["x"],
           mode=mode.split(",")[0])


# ---- Clip, HardSigmoid, HardSwish, Sigmoid, Tanh, Softmax --------------------------------
CLIPS = [("ReLU6", np.array(0.0), np.array(6.0)), ("min only", np.array(-0.5), None),
         ("max only", None, np.array(0.3)), ("no bounds", None, None),
         ("min > max", np.array(0.5), np.array(-0.5))]


@OPSETS
@pytest.mark.parametrize("form,low,high", CLIPS, ids=[c[0] for c in CLIPS])
@pytest.mark.parametrize("bounds_are", ["constants", "inputs"])
def test_clip_with_bounds_as_constants_inputs_or_absent_matches_finite_differences(opset, form, low, high, bounds_are):
    """With the bounds as graph inputs their gradients are checked too."""
    kinks = [b for b in (low, high) if b is not None]
    x = _away_from(0, [3, 4], kinks, low=-7, high=7) if form == "ReLU6" else \
        _away_from(0, [3, 4], kinks)
    bounds = {"min": low, "max": high}
    present = {k: v for k, v in bounds.items() if v is not None}
    names = ["x"] + [k if v is not None else "" for k, v in bounds.items()]
    while names[-1] == "":
        names.pop()
    if bounds_are == "inputs" and present:
        check_node(f"{form}, bounds as inputs", "Clip", {"x": x, **present}, None, names,
               opset=opset)
    else:
        check_node(form, "Clip", {"x": x}, present, names, opset=opset)


@pytest.mark.parametrize("op_type,attrs,x", [
    ("Clip", {}, [-1.0, 0.0, 6.0, 7.0, 3.0]),
    ("HardSigmoid", {}, [-2.5, 2.5, -3.0, 3.0, 0.0]),
    ("HardSwish", {}, [-3.0, 3.0, -4.0, 4.0, 0.0])])
def test_kinks_take_the_outer_side(op_type, attrs, x):
    """At a bound the gradient is the flat (outer) side's: Clip 0 at min and max (as Caffe's
    ReLU at 0), HardSigmoid 0 where alpha x + beta is 0 or 1, HardSwish 0 at -3, 1 at 3."""
    x = np.array([x], dtype=np.float32)
    constants = {"min": np.array(0.0, np.float32), "max": np.array(6.0, np.float32)}
    node = one_node(op_type, ["x", "min", "max"] if op_type == "Clip" else ["x"], **attrs)
    model = graph_model([node], {"x": x}, constants if op_type == "Clip" else {}, opset=14)
    grad = runner(build_vjp(model(TensorProto.FLOAT), ["x"], ["y0"]), double=False)(
        {"x": x, "y0_grad": np.ones_like(x)})[1]
    expected = {"Clip": [0, 0, 0, 0, 1], "HardSigmoid": [0, 0, 0, 0, 0.2],
                "HardSwish": [0, 1, 0, 1, 0.5]}[op_type]
    np.testing.assert_allclose(grad, [expected], rtol=1e-6)


def test_clip_with_equal_bounds_sends_the_gradient_to_max():
    """lo == hi: y = hi everywhere (Min(Max(x, lo), hi), ties to the bound)."""
    feeds = {"x": np.array([[-1.0, 0.5, 2.0]], np.float32), "min": np.array(0.5, np.float32),
             "max": np.array(0.5, np.float32)}
    model = graph_model([one_node("Clip", ["x", "min", "max"])], feeds)(TensorProto.FLOAT)
    g = np.array([[1.0, 2.0, 4.0]], np.float32)
    _, dx, dlo, dhi = runner(build_vjp(model, list(feeds), ["y0"]), double=False)(
        {**feeds, "y0_grad": g})
    np.testing.assert_array_equal(dx, np.zeros_like(g))
    assert (float(dlo), float(dhi)) == (0.0, 7.0)


@OPSETS
@pytest.mark.parametrize("attrs", [{}, {"alpha": 0.4, "beta": 0.3}], ids=["defaults", "custom"])
def test_hard_sigmoid_matches_finite_differences(opset, attrs):
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    x = _away_from(0, [3, 5], [-beta / alpha, (1 - beta) / alpha], low=-5, high=5)
    check_node(str(attrs or "defaults"), "HardSigmoid", {"x": x}, opset=opset, **attrs)


@pytest.mark.parametrize("opset", [14, LATER])
def test_hard_swish_matches_finite_differences(opset):
    x = _away_from(0, [3, 5], [-3.0, 3.0], low=-5, high=5)
    check_node("", "HardSwish", {"x": x}, opset=opset)


@OPSETS
@pytest.mark.parametrize("op_type", ["Sigmoid", "Tanh"])
def test_sigmoid_and_tanh_match_finite_differences(opset, op_type):
    check_node("", op_type, {"x": values(0, [3, 5], -3, 3)}, opset=opset)


@OPSETS
@pytest.mark.parametrize("attrs", [{}, {"axis": 0}, {"axis": -2}], ids=["default -1", "0", "-2"])
def test_softmax_on_default_and_negative_axes_matches_finite_differences(opset, attrs):
    check_node(f"axis {attrs.get('axis', 'default')}", "Softmax", {"x": values(0, [2, 3, 4], -2, 2)},
           opset=opset, **attrs)


# ---- ReduceMean, ReduceSum ---------------------------------------------------------------
REDUCTIONS = [("axes [2, 3]", [2, 3], {}), ("axes [-1], keepdims 0", [-1], {"keepdims": 0}),
              ("all axes", None, {}), ("all axes, keepdims 0", None, {"keepdims": 0})]


@pytest.mark.parametrize("form,axes,attrs", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@pytest.mark.parametrize("op_type,opset", [("ReduceMean", 13), ("ReduceMean", 18),
                                           ("ReduceMean", LATER), ("ReduceSum", 13)])
def test_reductions_with_axes_as_attribute_or_input_match_finite_differences(form, axes, attrs, op_type, opset):
    """Axes are an attribute for ReduceMean < 18, an input for ReduceSum >= 13 and
    ReduceMean >= 18."""
    as_input = op_type == "ReduceSum" or opset >= 18
    constants = {"axes": _ints(*axes)} if axes is not None and as_input else {}
    if axes is not None and not as_input:
        attrs = {**attrs, "axes": axes}
    where = "input" if as_input else "attribute"
    check_node(f"{form}, axes {where}", op_type, {"x": values(0, [2, 3, 4, 5])}, constants,
           opset=opset, **attrs)


@pytest.mark.parametrize("op_type", ["ReduceMean", "ReduceSum"])
def test_reduction_with_no_axes_and_noop_flag_is_identity(op_type):
    check_node("noop_with_empty_axes", op_type, {"x": values(0, [2, 3])}, opset=18,
           noop_with_empty_axes=1)


# ---- Dropout, Constant -------------------------------------------------------------------
@OPSETS
@pytest.mark.parametrize("form,constants", [
    ("no inputs", {}), ("ratio", {"ratio": np.array(0.3)}),
    ("ratio, training_mode false", {"ratio": np.array(0.3),
                                    "training_mode": np.array(False)})])
def test_dropout_in_inference_matches_finite_differences(opset, form, constants):
    check_node(form, "Dropout", {"x": values(0, [3, 4])}, constants, opset=opset)


def test_dropout_in_training_mode_is_refused():
    node = one_node("Dropout", ["x", "ratio", "training"])
    model = graph_model([node], {"x": values(0, [2, 2])},
                   {"ratio": np.array(0.5), "training": np.array(True)})(TensorProto.FLOAT)
    with pytest.raises(VJPError, match="Dropout_0: Dropout in training mode"):
        build_vjp(model, ["x"], ["y0"])


@OPSETS
def test_constant_nodes_feed_other_ops_and_get_no_gradient(opset):
    """Constants (a tensor, Clip bounds, a Reshape shape) take no part in the gradient."""
    def constant(name, value):
        return helper.make_node("Constant", [], [name], name=f"const_{name}",
                                value=numpy_helper.from_array(value, name))

    def make(elem_type):
        dtype = helper.tensor_dtype_to_np_dtype(elem_type)
        nodes = [constant("c", values(5, [2, 6]).astype(dtype)),
                 constant("lo", np.array(-0.5, dtype)), constant("hi", np.array(0.5, dtype)),
                 constant("shape", _ints(3, 4)),
                 helper.make_node("Mul", ["x", "c"], ["m"], name="mul"),
                 helper.make_node("Clip", ["m", "lo", "hi"], ["k"], name="clip"),
                 helper.make_node("Reshape", ["k", "shape"], ["y0"], name="reshape")]
        return graph_model(nodes, {"x": x}, opset=opset)(elem_type)
    x = _away_from(0, [2, 6], [-0.5, 0.5]) / values(5, [2, 6])  # x * c off the bounds
    check_vjp("Constant feeding Mul/Clip/Reshape", make, {"x": x}, ["x"], ["y0"])
    assert RULES["Constant"](None, helper.make_node("Constant", [], ["c"]), [None]) == []


# ---- Resize --------------------------------------------------------------------------------
RESIZES = [
    ("linear", "half_pixel", None, "scales x2"),
    ("linear", "half_pixel", None, "sizes 5x7 -> 3x10"),
    ("linear", "align_corners", None, "scales x2"),
    ("linear", "align_corners", None, "sizes 5x7 -> 3x10"),
    ("linear", "asymmetric", None, "scales x2"),
    ("linear", "pytorch_half_pixel", None, "sizes 5x7 -> 1x10"),
    ("linear", "pytorch_half_pixel", None, "scales 0.5"),
    ("nearest", "asymmetric", "floor", "scales x2"),
    ("nearest", "half_pixel", "round_prefer_floor", "sizes 5x7 -> 3x10"),
    ("nearest", "half_pixel", "round_prefer_ceil", "scales 0.5"),       # ties: x = 2i + 0.5
    ("nearest", "half_pixel", "round_prefer_floor", "scales 0.5"),
    ("nearest", "align_corners", "round_prefer_ceil", "sizes 5x7 -> 3x10"),
    ("nearest", "tf_half_pixel_for_nn", "round_prefer_floor", "scales 1.5"),
    ("nearest", "pytorch_half_pixel", "ceil", "scales 1.5"),
    # The ONNX reference evaluator's cubic weights are float32 (its cubic_coeff_a is a
    # NumPy float32, and NumPy 2 keeps float32 * Python float in float32): where the
    # fractions are not dyadic its forward is off by ~3e-7 relative, which the finite
    # differences see (measured <= 3.3e-7, under the 1e-6 tolerance; ~1e-9 otherwise).
    ("cubic", "half_pixel", {}, "scales x2"),
    ("cubic", "align_corners", {"cubic_coeff_a": -0.5}, "sizes 5x7 -> 3x10"),
    ("cubic", "asymmetric", {"exclude_outside": 1}, "scales 1.5"),
    ("cubic", "pytorch_half_pixel", {"exclude_outside": 1, "cubic_coeff_a": -0.5},
     "scales 0.5"),
]
RESIZES_LATER = [
    ("linear", "half_pixel_symmetric", None, "scales 1.5"),
    ("linear", "half_pixel", None, "axes, scales x2"),
    ("nearest", "asymmetric", "floor", "axes, sizes 3x10"),
    ("linear", "align_corners", None, "axes, sizes 3x10"),
]


def _resize_node(mode, transform, nearest_mode, sizing, x_shape):
    """The Resize node and its constants for input shape x_shape (N, C, 5, 7); `sizing`
    names scales or sizes, optionally over the spatial axes only (opset 18 `axes`)."""
    attrs = dict(mode=mode, coordinate_transformation_mode=transform)
    if isinstance(nearest_mode, dict):                 # cubic: its own attributes
        attrs.update(nearest_mode)
    elif nearest_mode:
        attrs["nearest_mode"] = nearest_mode
    spatial_only = sizing.startswith("axes")
    if spatial_only:
        attrs["axes"] = [2, 3]
    if "scales" in sizing:
        spatial = {"x2": [2.0, 2.0], "0.5": [0.6, 0.5], "1.5": [1.5, 1.5]}[sizing.split()[-1]]
        scales = np.array(spatial if spatial_only else [1.0, 1.0, *spatial], np.float32)
        constants = {"roi": np.zeros(0, np.float32), "scales": scales}
        return one_node("Resize", ["x", "roi", "scales"], **attrs), constants
    spatial = [int(s) for s in sizing.split()[-1].split("x")]
    sizes = _ints(*spatial) if spatial_only else _ints(*x_shape[:2], *spatial)
    return one_node("Resize", ["x", "", "", "sizes"], **attrs), {"sizes": sizes}


def _resize_cases():
    for case in RESIZES:
        yield (*case, 13)
    for case in RESIZES_LATER:
        yield (*case, 19)
    yield (*RESIZES[0], LATER)
    yield (*RESIZES[7], LATER)


RESIZE_CASES = list(_resize_cases())
RESIZE_IDS = [f"{c[0]}-{c[1]}-{c[2] or ''}-{c[3]}-opset{c[4]}".replace("'", "")
              for c in RESIZE_CASES]


# tf_half_pixel_for_nn left opset 11's specification and the ONNX reference evaluator, but
# ONNX Runtime still runs it (tf2onnx writes it): only the Jacobian test below checks it.
FD_RESIZE_CASES = [(c, i) for c, i in zip(RESIZE_CASES, RESIZE_IDS)
                   if c[1] != "tf_half_pixel_for_nn"]


@pytest.mark.parametrize("mode,transform,nearest_mode,sizing,opset",
                         [c for c, _ in FD_RESIZE_CASES], ids=[i for _, i in FD_RESIZE_CASES])
def test_resize_matches_finite_differences(mode, transform, nearest_mode, sizing, opset):
    x = values(0, [2, 3, 5, 7])
    node, constants = _resize_node(mode, transform, nearest_mode, sizing, x.shape)
    make = graph_model([node], {"x": x}, constants, opset, float32_constants=("roi", "scales"))
    options = " ".join(f"{k}={v}" for k, v in nearest_mode.items()) \
        if isinstance(nearest_mode, dict) else nearest_mode or ""
    check_vjp(f"Resize {mode} {transform} {options}".strip(), make, {"x": x},
              ["x"], ["y0"])


def _gradient_equals_ort_jacobian(node, constants, x_shape, opset, float32_constants=()):
    """ONNX Runtime's float32 forward, fed each unit input, gives its Jacobian J; the VJP
    graph's gradient for a random cotangent g must be J^T g (and its forward J^T x).

    Tolerance: J's entries are ONNX Runtime's own float32 weights; each gradient cell sums
    at most 16 float32 products of magnitude <= 4 here (error <= 16 * 4 * 2^-24 ~ 4e-6),
    while one cell or weight taken wrongly moves it by O(0.1 .. 1)."""
    model = graph_model([node], {"x": np.zeros(x_shape)}, constants, opset,
                   float32_constants=float32_constants)(TensorProto.FLOAT)
    forward = runner(model, double=False)
    size = int(np.prod(x_shape))
    columns = [forward({"x": np.eye(size, dtype=np.float32)[i].reshape(x_shape)})[0]
               for i in range(size)]
    jacobian = np.stack([c.reshape(-1) for c in columns]).astype(np.float64)  # (in, out)
    x = values(0, x_shape).astype(np.float32)
    g = np.random.default_rng(1).standard_normal(columns[0].shape).astype(np.float32)
    y, grad = runner(build_vjp(model, ["x"], ["y0"]), double=False)({"x": x, "y0_grad": g})
    np.testing.assert_allclose(y.reshape(-1), x.reshape(-1).astype(np.float64) @ jacobian,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad.reshape(-1), jacobian @ g.reshape(-1).astype(np.float64),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode,transform,nearest_mode,sizing,opset", RESIZE_CASES,
                         ids=RESIZE_IDS)
def test_resize_gradient_is_onnx_runtimes_jacobian(mode, transform, nearest_mode, sizing,
                                                   opset):
    """The interpolation matrices pick the cells and weights ONNX Runtime's Resize does."""
    node, constants = _resize_node(mode, transform, nearest_mode, sizing, [1, 1, 5, 7])
    _gradient_equals_ort_jacobian(node, constants, [1, 1, 5, 7], opset, ("roi", "scales"))


@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 2, 1], dilations=[2, 1]),
    dict(kernel_shape=[2, 2], strides=[1, 2], pads=[1, 1, 1, 1], dilations=[2, 3],
         count_include_pad=1)], ids=["dilated", "dilated-include-pad"])
def test_dilated_average_pool_gradient_is_onnx_runtimes_jacobian(attrs):
    """Dilations appeared in AveragePool at opset 19 (no float64 reference here, so the
    check is against ONNX Runtime's float32 forward)."""
    _gradient_equals_ort_jacobian(one_node("AveragePool", ["x"], **attrs), {}, [1, 1, 6, 7], 19)


@pytest.mark.parametrize("attrs,message", [
    ({"mode": "cubic", "antialias": 1}, "antialiased Resize downscaling"),
    ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
     "coordinate_transformation_mode tf_crop_and_resize"),
    ({"mode": "linear", "antialias": 1}, "antialiased Resize downscaling")])
def test_resize_forms_without_a_rule_are_refused(attrs, message):
    node = one_node("Resize", ["x", "roi", "scales"], **attrs)
    model = graph_model([node], {"x": values(0, [1, 1, 4, 4])},
                   {"roi": np.array([0, 0, 0, 0, 1, 1, 1, 1], np.float32),
                    "scales": np.array([1, 1, 0.5, 0.5], np.float32)}, opset=19,
                   float32_constants=("roi", "scales"))(TensorProto.FLOAT)
    with pytest.raises(VJPError, match=f"node Resize_0: .*{message}"):
        build_vjp(model, ["x"], ["y0"])


def test_pad_reflect_wider_than_the_input_is_refused():
    node = one_node("Pad", ["x", "pads"], mode="reflect")
    model = graph_model([node], {"x": values(0, [2, 3])}, {"pads": _ints(0, 3, 0, 0)})
    with pytest.raises(VJPError, match="node Pad_0: Pad mode reflect gradient needs pads"):
        build_vjp(model(TensorProto.FLOAT), ["x"], ["y0"])


# ---- coverage ------------------------------------------------------------------------------
CLASSIFIER_OPS = ["BatchNormalization", "GlobalAveragePool", "AveragePool", "Add", "Sub", "Mul",
                  "Div", "MatMul", "Gemm", "Flatten", "Reshape", "Transpose", "Squeeze",
                  "Unsqueeze", "Concat", "Split", "Slice", "Pad", "Clip", "HardSigmoid",
                  "HardSwish", "Sigmoid", "Tanh", "Softmax", "Resize", "ReduceMean",
                  "Identity", "Dropout", "Constant", "MaxPool"]


def test_every_op_of_the_issue_has_a_rule():
    assert [op for op in CLASSIFIER_OPS if op not in RULES] == []


def test_a_missing_rule_names_the_op_and_the_node(monkeypatch):
    monkeypatch.delitem(RULES, "HardSwish")
    model = graph_model([one_node("HardSwish", ["x"])], {"x": values(0, [2, 2])}, opset=14)
    with pytest.raises(VJPError, match=r"no gradient rule for op HardSwish \(node HardSwish_0\)"):
        build_vjp(model(TensorProto.FLOAT), ["x"], ["y0"])


@pytest.mark.parametrize("opset", [14, LATER])
def test_small_mobile_classifier_gradient_matches_finite_differences_end_to_end(opset):
    """Conv -> BatchNormalization -> HardSwish -> Clip (ReLU6) -> GlobalAveragePool ->
    Flatten -> Gemm -> Softmax, as a MobileNetV3-style export writes them. (Not opset 13:
    the float64 forward of a graph with Conv runs on the ONNX reference evaluator, whose
    BatchNormalization-9 computes training-mode statistics whenever momentum is set, and
    momentum has a default.)"""
    shapes = {"W": [4, 2, 3, 3], "scale": [4], "B": [4], "mean": [4], "var": [4],
              "fc_w": [3, 4], "fc_b": [3]}
    weights = {k: values(i + 1, s) for i, (k, s) in enumerate(shapes.items())}
    weights["var"] = values(9, [4], 0.5, 2.0)
    weights.update(lo=np.array(0.0), hi=np.array(6.0))
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("BatchNormalization", ["c", "scale", "B", "mean", "var"], ["b"],
                              name="bn"),
             helper.make_node("HardSwish", ["b"], ["h"], name="hard_swish"),
             helper.make_node("Clip", ["h", "lo", "hi"], ["r"], name="relu6"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
             helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
             helper.make_node("Softmax", ["logits"], ["y0"], name="softmax")]
    make = graph_model(nodes, {"x": values(0, [2, 2, 6, 6])}, weights, opset)
    check_vjp(f"classifier graph opset {opset}", make, {"x": values(0, [2, 2, 6, 6])},
              ["x"], ["y0"])


def test_dynamic_batch_runs_at_any_batch_size():
    """Exports usually leave the batch axis symbolic: the rules keep it dynamic, and each
    sample's gradient in a batch equals its gradient alone (opset 14: HardSwish exists,
    MaxPool still takes the window-cell path)."""
    weights = {"pads": _ints(0, 0, 1, 1, 0, 0, 1, 1), "roi": np.zeros(0, np.float32),
               "scales": np.array([1, 1, 2, 2], np.float32), "starts": _ints(0),
               "ends": _ints(99), "axes": _ints(3), "steps": _ints(2),
               "lo": np.array(0.0, np.float32), "hi": np.array(6.0, np.float32),
               "fc_w": values(1, [3, 2]).astype(np.float32)}
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad", mode="reflect"),
             helper.make_node("MaxPool", ["p"], ["m"], name="pool", kernel_shape=[3, 3],
                              strides=[2, 2]),
             helper.make_node("Resize", ["m", "roi", "scales"], ["r"], name="resize",
                              mode="linear"),
             helper.make_node("Slice", ["r", "starts", "ends", "axes", "steps"], ["s"],
                              name="slice"),
             helper.make_node("HardSwish", ["s"], ["h"], name="hard_swish"),
             helper.make_node("Clip", ["h", "lo", "hi"], ["c"], name="relu6"),
             helper.make_node("ReduceMean", ["c"], ["f"], name="mean", axes=[2, 3],
                              keepdims=0),
             helper.make_node("Gemm", ["f", "fc_w"], ["y0"], name="fc", transB=1)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
        [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    vjp = runner(build_vjp(model, ["x"], ["y0"]), double=False)
    x = values(0, [3, 2, 6, 6]).astype(np.float32) * 4
    g = values(1, [3, 3]).astype(np.float32)
    batched = vjp({"x": x, "y0_grad": g})[1]
    for n in range(3):
        alone = vjp({"x": x[n:n + 1], "y0_grad": g[n:n + 1]})[1]
        np.testing.assert_allclose(batched[n:n + 1], alone, rtol=1e-6, atol=1e-7)
    assert np.abs(batched).max() > 0
