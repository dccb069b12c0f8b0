"""Gradient rules for the ops of transformer exports (issue 22 item 2): what torchvision's
convnext_tiny, vit_b_16, swin_t and maxvit_t hold when exported by torch.onnx.export with
dynamo=False at opset 17 and with dynamo=True at opset 18 (LayerNormalization, Erf and
Gelu, Gather and GatherElements on constant indices, Where, Einsum, batched MatMul,
ReduceMax/ReduceMin, Sqrt/Reciprocal/Pow, and the shape arithmetic folded at load).

Each op and attribute form is checked by the shared harness (support/vjp_check.check_vjp:
float64 central differences, and the float32 graph on ONNX Runtime against the float64
gradient) at opsets 17 and 18 (Gelu: 20), then as the graphs the models are made of: a
decomposed LayerNorm, an attention block with MatMul and with Einsum, a ViT class token.
Run with -s to print the largest error per rule and form.

Tolerances: check_vjp's own (see its docstring and tests/TOLERANCES.md's style). Central
differences with step h = 1e-6 in float64 err by the truncation h²/6·|f'''| (< 1e-12 for
these smooth functions of values in [-2, 2]) plus the rounding of the objective,
about u64·|f|/h = 1.1e-16·|f|/1e-6 ≈ 1e-10·|f| with |f| < 50 here: < 1e-8, against the
bound 1e-6 relative to max(1, |gradient|). The float32 graphs round each op with u32 = 6e-8;
the longest chains here (the decomposed LayerNorm, the attention blocks: about 30 ops, sums of
at most 16 terms) give about √16·30·u32 ≈ 7e-6 relative to the gradient's scale, against the
bound 2e-4.
"""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from converters.vjp.context import VJPError
from converters.vjp.transform import build_vjp
from support.vjp_check import check_vjp, distinct, report_measured, runner, values
from support.vjp_graphs import check_node, graph_model, one_node

OPSETS = pytest.mark.parametrize("opset", [17, 18])


@pytest.fixture(scope="module", autouse=True)
def print_measured_errors():
    yield
    print("\nlargest errors per rule (relative to max(1, |grad|max)):\n" + report_measured())


def _ints(*numbers) -> np.ndarray:
    return np.array(numbers, dtype=np.int64)


def _axes(opset: int, axes: list[int], name: str) -> tuple[dict, dict, list[str]]:
    """A reduction's axes as opset `opset` writes them: (attributes, constants, extra input
    names): the `axes` attribute before 18, the input `name` from 18."""
    if opset < 18:
        return {"axes": axes}, {}, []
    return {}, {name: np.array(axes, dtype=np.int64)}, [name]


# ---- LayerNormalization -------------------------------------------------------------------
LAYER_NORMS = [("last axis", [2, 3, 8], {}),
               ("axis 1 of 3", [2, 3, 4], {"axis": 1}),
               ("axis -2", [2, 3, 4], {"axis": -2}),
               ("epsilon 0.1, stash_type 1", [3, 5], {"epsilon": 0.1, "stash_type": 1})]


@OPSETS
@pytest.mark.parametrize("bias", [True, False], ids=["with B", "without B"])
@pytest.mark.parametrize("form,shape,attrs", LAYER_NORMS, ids=[f[0] for f in LAYER_NORMS])
def test_layer_normalization_matches_finite_differences_for_x_scale_and_bias(opset, bias, form, shape, attrs):
    normalized = shape[attrs.get("axis", -1) % len(shape):]
    constants = {"scale": values(1, normalized, 0.5, 1.5)}
    if bias:
        constants["B"] = values(2, normalized)
    check_node(form, "LayerNormalization", {"x": values(0, shape, -2, 2)}, constants,
               opset=opset, wrt=["x", *constants], **attrs)


@OPSETS
def test_layer_normalization_with_scale_broadcast_over_the_normalized_axes(opset):
    """Scale of shape (1, 4) against normalized axes (3, 4): its gradient sums over both."""
    check_node("scale broadcast", "LayerNormalization", {"x": values(0, [2, 3, 4], -2, 2)},
               {"scale": values(1, [1, 4], 0.5, 1.5), "B": values(2, [3, 1])}, opset=opset,
               wrt=["x", "scale", "B"], axis=1)


def _decomposed_statistics(opset: int, axes: list[int]) -> list:
    """Mean and InvStdDev of x over `axes` by the ops LayerNormalization stands for."""
    attrs, _, names = _axes(opset, axes, "axes")
    return [helper.make_node("ReduceMean", ["x", *names], ["mean"], name="mean", **attrs),
            helper.make_node("Sub", ["x", "mean"], ["centred"], name="centre"),
            helper.make_node("Mul", ["centred", "centred"], ["square"], name="square"),
            helper.make_node("ReduceMean", ["square", *names], ["var"], name="var", **attrs),
            helper.make_node("Add", ["var", "eps"], ["var_eps"], name="add_eps"),
            helper.make_node("Sqrt", ["var_eps"], ["std"], name="std"),
            helper.make_node("Reciprocal", ["std"], ["inv_std"], name="inv_std")]


@OPSETS
def test_layer_normalization_mean_and_inv_std_dev_outputs_get_the_gradient_of_their_decomposition(opset):
    """Y, Mean and InvStdDev all differentiated: the same float32 gradient as the
    decomposed statistics (which the FD check covers) plus Y. ONNX Runtime has no double
    LayerNormalization with double statistics, hence float32 against float32 (rounding of
    two graphs of about 20 float32 ops, sums of 12 terms: < 1e-5 relative)."""
    x = values(0, [2, 3, 4], -2, 2)
    eps = np.array(1e-3)
    fused = graph_model([helper.make_node("LayerNormalization", ["x", "scale"],
                                          ["y", "mean", "inv_std"], name="ln", axis=1,
                                          epsilon=1e-3)],
                        {"x": x}, {"scale": np.ones([3, 4])}, opset, ("y", "mean", "inv_std"))
    nodes = _decomposed_statistics(opset, [1, 2]) + [
        helper.make_node("Mul", ["centred", "inv_std"], ["y"], name="normalize")]
    constants = {"eps": eps, **_axes(opset, [1, 2], "axes")[1]}
    decomposed = graph_model(nodes, {"x": x}, constants, opset, ("y", "mean", "inv_std"))
    check_vjp("LayerNormalization decomposed statistics", decomposed, {"x": x}, ["x"],
              ["y", "mean", "inv_std"])
    rng = np.random.default_rng(3)
    feeds = {"x": x.astype(np.float32), "y_grad": rng.standard_normal([2, 3, 4]),
             "mean_grad": rng.standard_normal([2, 1, 1]),
             "inv_std_grad": rng.standard_normal([2, 1, 1])}
    feeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    of = ["y", "mean", "inv_std"]
    want = runner(build_vjp(decomposed(TensorProto.FLOAT), ["x"], of), double=False)(feeds)[-1]
    got = runner(build_vjp(fused(TensorProto.FLOAT), ["x"], of), double=False)(feeds)[-1]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


@OPSETS
@pytest.mark.parametrize("axis", [-1, 1])
def test_decomposed_layer_norm_chain_matches_finite_differences(opset, axis):
    """ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add: how exporters
    write LayerNorm when they do not fuse it (and MaxViT's and ConvNeXt's channel norms)."""
    x = values(0, [2, 3, 4], -2, 2)
    axes = [axis % 3]
    attrs, constants, names = _axes(opset, axes, "axes")
    nodes = [helper.make_node("ReduceMean", ["x", *names], ["mean"], name="mean", **attrs),
             helper.make_node("Sub", ["x", "mean"], ["centred"], name="centre"),
             helper.make_node("Pow", ["centred", "two"], ["square"], name="pow2"),
             helper.make_node("ReduceMean", ["square", *names], ["var"], name="var", **attrs),
             helper.make_node("Add", ["var", "eps"], ["var_eps"], name="add_eps"),
             helper.make_node("Sqrt", ["var_eps"], ["std"], name="sqrt"),
             helper.make_node("Div", ["centred", "std"], ["x_hat"], name="div"),
             helper.make_node("Mul", ["x_hat", "scale"], ["scaled"], name="mul"),
             helper.make_node("Add", ["scaled", "bias"], ["y0"], name="add")]
    size = 4 if axis == -1 else 3
    shape = [size] if axis == -1 else [3, 1]
    constants.update(two=np.array(2.0), eps=np.array(1e-5), scale=values(1, shape, 0.5, 1.5),
                     bias=values(2, shape))
    make = graph_model(nodes, {"x": x}, constants, opset)
    check_vjp(f"decomposed LayerNorm axis {axis}", make,
              {"x": x, "scale": constants["scale"], "bias": constants["bias"]},
              ["x", "scale", "bias"], ["y0"])


# ---- pointwise: Erf, Gelu, Sqrt, Reciprocal, Pow ----------------------------------------
@OPSETS
def test_erf_matches_finite_differences(opset):
    check_node("", "Erf", {"x": values(0, [3, 5], -3, 3)}, opset=opset)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_at_opset_20_matches_finite_differences(approximate):
    check_node(f"approximate={approximate}", "Gelu", {"x": values(0, [3, 5], -4, 4)},
               opset=20, approximate=approximate)


@OPSETS
@pytest.mark.parametrize("op_type", ["Sqrt", "Reciprocal"])
def test_sqrt_and_reciprocal_match_finite_differences(opset, op_type):
    """On [0.2, 2], away from the pole at 0."""
    check_node("", op_type, {"x": values(0, [3, 4], 0.2, 2)}, opset=opset)


@OPSETS
@pytest.mark.parametrize("exponent", [2.0, 0.5, 3])
def test_pow_with_a_constant_exponent_matches_finite_differences(opset, exponent):
    """x^2 (variance), x^0.5 (a standard deviation), and an integer exponent."""
    dtype = np.int64 if isinstance(exponent, int) else np.float64
    check_node(f"exponent {exponent}", "Pow", {"x": values(0, [3, 4], 0.2, 2)},
               {"p": np.array(exponent, dtype=dtype)}, opset=opset)


# ---- Gather, GatherElements, Where -------------------------------------------------------
GATHERS = [("scalar 0 (class token)", np.array(0, dtype=np.int64), 1),
           ("scalar -1", np.array(-1, dtype=np.int64), 0),
           ("1-D, repeated and negative", _ints(3, -1, 0, 3), 1),
           ("1-D last axis", _ints(2, 0), -1),
           ("2-D", np.array([[0, 2], [-1, 2]], dtype=np.int64), 1),
           ("2-D axis 0", np.array([[1], [0]], dtype=np.int64), 0)]


@OPSETS
@pytest.mark.parametrize("form,indices,axis", GATHERS, ids=[g[0] for g in GATHERS])
def test_gather_on_constant_indices_matches_finite_differences(opset, form, indices, axis):
    check_node(form, "Gather", {"x": values(0, [2, 5, 3])}, {"i": indices}, opset=opset,
               axis=axis)


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements_on_constant_indices_matches_finite_differences(opset, axis):
    """Indices smaller than x in the other axes; at 17 and 18 cells are read twice (added by
    ScatterElements' reduction), at 13 each cell at most once (a permutation per line)."""
    x = values(0, [3, 4, 5])
    size = x.shape[axis]
    rng = np.random.default_rng(1)
    shape = [2, 3, 4]
    if opset >= 16:
        indices = rng.integers(-size, size, shape)
    else:
        shape[axis] = size
        indices = np.moveaxis(np.argsort(rng.random(np.moveaxis(np.zeros(shape), axis, -1).shape),
                                         axis=-1), -1, axis)
    check_node(f"axis {axis}", "GatherElements", {"x": x}, {"i": indices.astype(np.int64)},
               opset=opset, axis=axis)


def test_gather_elements_reading_a_cell_twice_is_refused_before_opset_16():
    model = graph_model([one_node("GatherElements", ["x", "i"], axis=0)],
                        {"x": values(0, [3, 2])}, {"i": _ints(0, 0).reshape(2, 1)}, 13)
    with pytest.raises(VJPError, match="GatherElements reading a cell twice needs opset >= 16"):
        build_vjp(model(TensorProto.FLOAT), ["x"], ["y0"])


WHERE_SHAPES = [([2, 3, 4], [2, 3, 4], [2, 3, 4]), ([3, 1], [2, 3, 4], [4]),
                ([4], [1], [2, 3, 1])]


@OPSETS
@pytest.mark.parametrize("shapes", WHERE_SHAPES, ids=str)
def test_where_with_a_constant_condition_sends_each_branch_its_cells(opset, shapes):
    cond_shape, a_shape, b_shape = shapes
    cond = np.random.default_rng(5).random(cond_shape) < 0.5
    nodes = [helper.make_node("Where", ["cond", "a", "b"], ["y0"], name="where")]
    make = graph_model(nodes, {"a": values(0, a_shape), "b": values(1, b_shape)},
                       {"cond": cond}, opset)
    check_vjp(f"Where constant cond {shapes}", make,
              {"a": values(0, a_shape), "b": values(1, b_shape)}, ["a", "b"], ["y0"])


@OPSETS
def test_where_with_a_computed_and_an_integer_condition_matches_finite_differences(opset):
    """cond = (s > 0) from a float input off the wrt path, and cond = Cast(int mask): the
    boolean tensors need no rule."""
    nodes = [helper.make_node("Greater", ["s", "zero"], ["positive"], name="greater"),
             helper.make_node("Cast", ["mask"], ["picked"], name="cast", to=TensorProto.BOOL),
             helper.make_node("Where", ["positive", "a", "b"], ["w"], name="where1"),
             helper.make_node("Where", ["picked", "w", "a"], ["y0"], name="where2")]
    inputs = {"s": values(2, [2, 3]), "a": values(0, [2, 3]), "b": values(1, [3])}
    make = graph_model(nodes, inputs, {"zero": np.array(0.0), "mask": _ints(1, 0, 1)}, opset)
    check_vjp("Where computed cond", make, inputs, ["a", "b"], ["y0"])


# ---- ReduceMax, ReduceMin ------------------------------------------------------------
EXTREMA = [("axes [1]", [1], {}), ("axes [-1, 0], keepdims 0", [-1, 0], {"keepdims": 0}),
           ("all axes", None, {})]


@OPSETS
@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("form,axes,attrs", EXTREMA, ids=[e[0] for e in EXTREMA])
def test_reduce_max_and_min_match_finite_differences(opset, op_type, form, axes, attrs):
    """Distinct values (no ties, and no swap of the extremum within the step)."""
    axis_attrs, constants, names = _axes(opset, axes, "axes") if axes else ({}, {}, [])
    check_node(form, op_type, {"x": distinct(opset, [2, 3, 4])}, constants,
               ["x", *names], opset=opset, **axis_attrs, **attrs)


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
def test_reduce_max_and_min_share_the_gradient_among_ties_as_torch_amax_does(op_type):
    """A row with the extremum three times gives each tied cell g / 3 (torch.amax's rule)."""
    x = np.array([[1.0, 3.0, 3.0, 3.0], [0.0, 0.0, 5.0, -5.0]])
    if op_type == "ReduceMin":
        x = -x
    model = graph_model([one_node(op_type, ["x"], axes=[1], keepdims=0)], {"x": x}, opset=17)
    run = runner(build_vjp(model(TensorProto.DOUBLE), ["x"], ["y0"]), double=True)
    _, grad = run({"x": x, "y0_grad": np.array([6.0, 1.0])})
    np.testing.assert_array_equal(grad, [[0, 2, 2, 2], [0, 0, 1, 0]])


# ---- Einsum, MatMul ------------------------------------------------------------------
EINSUMS = [("bhid,bhjd->bhij", [[2, 2, 3, 4], [2, 2, 5, 4]]),
           ("bhij,bhjd->bhid", [[2, 2, 3, 5], [2, 2, 5, 4]]),
           ("B G H I D, B G H J D -> B G H I J", [[1, 2, 2, 3, 4], [1, 2, 2, 5, 4]]),
           ("...ij,...jk->...ik", [[2, 3, 4, 5], [2, 3, 5, 2]]),
           ("...ij,...jk->...ik", [[2, 1, 4, 5], [1, 3, 5, 2]]),
           ("i...j,j->i...", [[3, 2, 4], [4]]),
           ("ij,jk", [[3, 4], [4, 2]]),
           ("ij->i", [[3, 4]]),
           ("bij->ji", [[2, 3, 4]]),
           ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]])]


@OPSETS
@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum_forms_match_finite_differences_for_every_operand(opset, equation, shapes):
    inputs = {f"x{i}": values(i, shape) for i, shape in enumerate(shapes)}
    check_node(equation, "Einsum", inputs, opset=opset, equation=equation)


@pytest.mark.parametrize("equation", ["ii->i", "...ij->ij"])
def test_einsum_diagonals_and_summed_ellipses_are_refused_in_one_line(equation):
    model = graph_model([one_node("Einsum", ["x"], equation=equation)],
                        {"x": values(0, [3, 3])}, opset=17)
    with pytest.raises(VJPError, match=r"node Einsum_0: Einsum .* has no gradient rule") as error:
        build_vjp(model(TensorProto.FLOAT), ["x"], ["y0"])
    assert "\n" not in str(error.value)


MATMULS = [([2, 3, 4, 5], [5, 6]), ([2, 1, 4, 5], [3, 5, 6]), ([5], [2, 5, 3]), ([2, 4, 5], [5])]


@OPSETS
@pytest.mark.parametrize("shapes", MATMULS, ids=str)
def test_batched_matmul_with_broadcasting_matches_finite_differences(opset, shapes):
    check_node(str(shapes), "MatMul", {"A": values(0, shapes[0]), "B": values(1, shapes[1])},
               opset=opset)


# ---- the graphs the models are made of ----------------------------------------------------
def _attention(product: str) -> list:
    """softmax(q kᵀ · scale) v over the last axis, with MatMul + Transpose or with Einsum."""
    if product == "MatMul":
        scores = [helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
                  helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk")]
        mix = helper.make_node("MatMul", ["p", "v"], ["y0"], name="pv")
    else:
        scores = [helper.make_node("Einsum", ["q", "k"], ["s"], name="qk",
                                   equation="bhid,bhjd->bhij")]
        mix = helper.make_node("Einsum", ["p", "v"], ["y0"], name="pv",
                               equation="bhij,bhjd->bhid")
    return [*scores, helper.make_node("Mul", ["s", "scale"], ["ss"], name="scale"),
            helper.make_node("Softmax", ["ss"], ["p"], name="softmax", axis=-1), mix]


@OPSETS
@pytest.mark.parametrize("product", ["MatMul", "Einsum"])
def test_attention_block_matches_finite_differences_for_q_k_and_v(opset, product):
    inputs = {name: values(seed, [1, 2, 4, 3], -2, 2) for seed, name in enumerate("qkv")}
    make = graph_model(_attention(product), inputs, {"scale": np.array(3 ** -0.5)}, opset)
    check_vjp(f"attention with {product}", make, inputs, list(inputs), ["y0"])


@OPSETS
def test_vit_class_token_graph_matches_finite_differences(opset):
    """Concat(Expand(class token), tokens) on axis 1, + position embedding, x[:, 0] by Gather
    index 0 on axis 1 (ViT's head input), then a LayerNorm: gradients for the tokens, the
    class token and the position embedding."""
    nodes = [helper.make_node("Expand", ["cls", "cls_shape"], ["cls_batch"], name="expand"),
             helper.make_node("Concat", ["cls_batch", "tokens"], ["seq"], name="concat", axis=1),
             helper.make_node("Add", ["seq", "pos"], ["embedded"], name="add_pos"),
             helper.make_node("Mul", ["embedded", "embedded"], ["mixed"], name="mix"),
             helper.make_node("Gather", ["mixed", "zero"], ["head"], name="class_token", axis=1),
             helper.make_node("LayerNormalization", ["head", "scale"], ["y0"], name="norm",
                              axis=-1)]
    inputs = {"tokens": values(0, [2, 4, 3])}
    constants = {"cls": values(1, [1, 1, 3]), "pos": values(2, [1, 5, 3]),
                 "cls_shape": _ints(2, 1, 3), "zero": np.array(0, dtype=np.int64),
                 "scale": values(3, [3], 0.5, 1.5)}
    make = graph_model(nodes, inputs, constants, opset)
    check_vjp("ViT class token", make, {**inputs, "cls": constants["cls"], "pos": constants["pos"]},
              ["tokens", "cls", "pos"], ["y0"])


# ---- folding, refusals ---------------------------------------------------------------------
def _shape_computed_reshape(folded_shape: bool):
    """y0 = tanh(x) reshaped to (x's first dimension, -1), the shape computed at run time
    by Shape -> Gather -> Unsqueeze -> Concat (as exporters write it) or given directly."""
    if folded_shape:
        nodes = [helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
                 helper.make_node("Reshape", ["t", "target"], ["y0"], name="reshape")]
        return graph_model(nodes, {"x": values(0, [2, 3, 4])}, {"target": _ints(2, -1)}, 17)
    nodes = [helper.make_node("Shape", ["x"], ["shape"], name="/shape/Shape"),
             helper.make_node("Gather", ["shape", "zero"], ["batch"], name="/shape/Gather", axis=0),
             helper.make_node("Unsqueeze", ["batch", "axes"], ["batch_1d"], name="/shape/Unsqueeze"),
             helper.make_node("Concat", ["batch_1d", "minus_one"], ["target"], name="/shape/Concat",
                              axis=0),
             helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
             helper.make_node("Reshape", ["t", "target"], ["y0"], name="reshape")]
    constants = {"zero": np.array(0, dtype=np.int64), "axes": _ints(0), "minus_one": _ints(-1)}
    return graph_model(nodes, {"x": values(0, [2, 3, 4])}, constants, 17)


def test_shape_computing_chain_is_folded_into_one_initializer_with_the_same_gradient():
    computed = build_vjp(_shape_computed_reshape(False)(TensorProto.FLOAT), ["x"], ["y0"])
    given = build_vjp(_shape_computed_reshape(True)(TensorProto.FLOAT), ["x"], ["y0"])
    assert not [n.name for n in computed.graph.node if n.name.startswith("/shape/")]
    target = [t for t in computed.graph.initializer if t.name == "target"]
    assert len(target) == 1 and numpy_helper.to_array(target[0]).tolist() == [2, -1]
    feeds = {"x": values(0, [2, 3, 4]).astype(np.float32),
             "y0_grad": values(1, [2, 12]).astype(np.float32)}
    np.testing.assert_array_equal(runner(computed, double=False)(feeds)[1],
                                  runner(given, double=False)(feeds)[1])
    check_vjp("folded Shape chain", _shape_computed_reshape(False), {"x": values(0, [2, 3, 4])},
              ["x"], ["y0"])


def test_integer_outputs_on_the_path_need_no_rule():
    """ArgMax (no rule) reads x, which is being differentiated; its int64 output is piecewise
    constant in x, so the walker asks no rule of it and x's gradient comes from Mul alone."""
    nodes = [helper.make_node("ArgMax", ["x"], ["where_max"], name="argmax", axis=1),
             helper.make_node("CastLike", ["where_max", "x"], ["index"], name="cast"),
             helper.make_node("Mul", ["x", "index"], ["y0"], name="mul")]
    make = graph_model(nodes, {"x": distinct(0, [2, 3])}, opset=17)
    check_vjp("integer outputs", make, {"x": distinct(0, [2, 3])}, ["x"], ["y0"])


def test_an_op_without_a_rule_is_one_line_naming_op_and_node():
    nodes = [helper.make_node("Hardmax", ["x"], ["y0"], name="/blocks/foo/Hardmax")]
    model = graph_model(nodes, {"x": values(0, [2, 3])}, opset=17)(TensorProto.FLOAT)
    with pytest.raises(VJPError) as error:
        build_vjp(model, ["x"], ["y0"])
    assert str(error.value) == "no gradient rule for op Hardmax (node /blocks/foo/Hardmax)"


def test_an_op_of_another_domain_is_named_with_its_domain():
    nodes = [helper.make_node("FastGelu", ["x"], ["y0"], name="", domain="com.microsoft")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y0", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(VJPError) as error:
        build_vjp(model, ["x"], ["y0"])
    assert str(error.value) == "no gradient rule for op com.microsoft.FastGelu (node y0)"
