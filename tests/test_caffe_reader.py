"""Reading Caffe nets as Caffe does: the three file generations, inputs, TEST-phase rules,
weights by layer name, and the blob semantics of outputs (--output / --end / --batch)."""
from __future__ import annotations

import numpy as np
import pytest

from converters import caffe_to_onnx
from converters.caffe.files import CaffeError
from converters.caffe.reader import load_caffe_net
from converters.caffe.writer import write_caffemodel
from support.caffe_reference import ref_conv, ref_pool, run_onnx
from support.caffe_small_nets import (RNG, SMALL_INPUT, SMALL_NET_V0, SMALL_NET_V1, SMALL_NET_V2,
                                      SMALL_TYPES, SMALL_WEIGHTS)


def _run(tmp_path, prototxt_text, layout="v2", weights=SMALL_WEIGHTS, feed=SMALL_INPUT, **options):
    prototxt = tmp_path / f"net_{layout}.prototxt"
    prototxt.write_text(prototxt_text)
    caffemodel = tmp_path / f"net_{layout}.caffemodel"
    write_caffemodel(caffemodel, weights, layout=layout, layer_types=SMALL_TYPES)
    model = caffe_to_onnx(prototxt, caffemodel, **options)
    return model, run_onnx(model, {model.graph.input[0].name: feed})


def test_same_weights_in_v0_v1_v2_caffemodel_layouts_give_identical_outputs(tmp_path):
    outputs = [_run(tmp_path, SMALL_NET_V2, layout)[1]["prob"] for layout in ("v2", "v1", "v0")]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])


@pytest.mark.parametrize("text", [SMALL_NET_V1, SMALL_NET_V0], ids=["V1", "V0"])
def test_legacy_prototxts_convert_like_v2(tmp_path, text):
    expected = _run(tmp_path, SMALL_NET_V2)[1]["prob"]
    np.testing.assert_array_equal(_run(tmp_path, text, layout="v1")[1]["prob"], expected)


def test_v0_padding_layer_is_folded_into_the_convolution(tmp_path):
    path = tmp_path / "v0.prototxt"
    path.write_text(SMALL_NET_V0)
    conv = load_caffe_net(path).layer("conv1")
    assert conv.bottoms == ["data"] and list(conv.param.convolution_param.pad) == [1]
    assert "pad1" not in [layer.name for layer in load_caffe_net(path).layers]
    model, out = _run(tmp_path, SMALL_NET_V0, layout="v0", end="conv1")
    expected = ref_conv(SMALL_INPUT, *SMALL_WEIGHTS["conv1"], pad=(1, 1), stride=(2, 2))
    np.testing.assert_allclose(out["conv1"], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("declaration", [
    'input: "data" input_shape { dim: 1 dim: 3 dim: 11 dim: 11 }',
    'input: "data" input_dim: 1 input_dim: 3 input_dim: 11 input_dim: 11',
    'layer { name: "data" type: "Input" top: "data" '
    'input_param { shape { dim: 1 dim: 3 dim: 11 dim: 11 } } }',
])
def test_every_input_declaration_gives_the_same_input_and_outputs(tmp_path, declaration):
    body = SMALL_NET_V2.split("\n", 3)[3]
    model, out = _run(tmp_path, declaration + "\n" + body)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert model.graph.input[0].name == "data" and dims == [1, 3, 11, 11]
    np.testing.assert_array_equal(out["prob"], _run(tmp_path, SMALL_NET_V2)[1]["prob"])


def test_layers_follow_caffes_test_phase_include_and_exclude_rules(tmp_path):
    text = SMALL_NET_V2 + """
layer { name: "train_only" type: "Sigmoid" bottom: "prob" top: "t1" include { phase: TRAIN } }
layer { name: "not_in_test" type: "TanH" bottom: "prob" top: "t2" exclude { phase: TEST } }
layer { name: "test_only" type: "AbsVal" bottom: "prob" top: "t3" include { phase: TEST } }
layer { name: "staged" type: "AbsVal" bottom: "prob" top: "t4" include { stage: "deploy" } }
"""
    path = tmp_path / "rules.prototxt"
    path.write_text(text)
    names = [layer.name for layer in load_caffe_net(path).layers]
    assert "test_only" in names
    assert not {"train_only", "not_in_test", "staged"} & set(names)


def test_weights_attach_by_layer_name_and_extra_layers_are_ignored(tmp_path):
    weights = dict(SMALL_WEIGHTS, unused_layer=[np.ones((2, 2), np.float32)])
    expected = _run(tmp_path, SMALL_NET_V2)[1]["prob"]
    reordered = {"fc": weights["fc"], "unused_layer": weights["unused_layer"],
                 "conv1": weights["conv1"]}
    np.testing.assert_array_equal(_run(tmp_path, SMALL_NET_V2, weights=reordered)[1]["prob"],
                                  expected)


@pytest.mark.parametrize("layout", ["v2", "v1"])
def test_weight_shape_mismatch_names_layer_and_both_shapes(tmp_path, layout):
    wrong = dict(SMALL_WEIGHTS, fc=[np.zeros((5, 35), np.float32), np.zeros(5, np.float32)])
    with pytest.raises(CaffeError) as error:
        _run(tmp_path, SMALL_NET_V2, layout=layout, weights=wrong)
    message = str(error.value)
    assert "layer fc" in message and "(5, 36)" in message
    assert ("(5, 35)" if layout == "v2" else "(1, 1, 5, 35)") in message


def test_blob_count_mismatch_is_an_error(tmp_path):
    wrong = dict(SMALL_WEIGHTS, conv1=SMALL_WEIGHTS["conv1"][:1])
    with pytest.raises(CaffeError, match="layer conv1 .*1 blob.*implies 2"):
        _run(tmp_path, SMALL_NET_V2, weights=wrong)


def test_in_place_output_is_the_value_after_the_full_forward(tmp_path):
    _, after = _run(tmp_path, SMALL_NET_V2, outputs=["conv1", "fc"])
    _, cut = _run(tmp_path, SMALL_NET_V2, end="conv1")
    assert (after["conv1"] >= 0).all() and (cut["conv1"] < 0).any()
    np.testing.assert_array_equal(after["conv1"], np.maximum(cut["conv1"], 0))


def test_end_cuts_after_the_layer_and_outputs_its_tops(tmp_path):
    model, out = _run(tmp_path, SMALL_NET_V2, end="pool1")
    assert [o.name for o in model.graph.output] == ["pool1"]
    assert not [n for n in model.graph.node if n.op_type in ("LRN", "Gemm", "Softmax")]
    expected = ref_pool(np.maximum(ref_conv(SMALL_INPUT, *SMALL_WEIGHTS["conv1"], pad=(1, 1),
                                            stride=(2, 2)), 0), "MAX", (3, 3), (0, 0), (2, 2))
    np.testing.assert_allclose(out["pool1"], expected, rtol=1e-5, atol=1e-5)


def test_default_outputs_are_the_blobs_no_layer_consumes(tmp_path):
    text = SMALL_NET_V2 + 'layer { name: "side" type: "Sigmoid" bottom: "norm1" top: "side" }\n'
    model, _ = _run(tmp_path, text)
    assert [o.name for o in model.graph.output] == ["prob", "side"]


def test_dynamic_batch_runs_any_batch_and_matches_batch_one(tmp_path):
    batch = RNG.standard_normal((3, 3, 11, 11)).astype(np.float32)
    model, out = _run(tmp_path, SMALL_NET_V2, batch="dynamic", feed=batch)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    for index in range(3):
        _, single = _run(tmp_path, SMALL_NET_V2, feed=batch[index:index + 1])
        np.testing.assert_allclose(out["prob"][index:index + 1], single["prob"], rtol=1e-6,
                                   atol=1e-7)


def test_reshape_leading_one_is_the_batch_under_dynamic_batch(tmp_path):
    text = """input: "feat"
input_shape { dim: 1 dim: 8 }
layer { name: "fc" type: "InnerProduct" bottom: "feat" top: "fc"
  inner_product_param { num_output: 16 } }
layer { name: "reshape" type: "Reshape" bottom: "fc" top: "map"
  reshape_param { shape { dim: 1 dim: 4 dim: 2 dim: 2 } } }
layer { name: "deconv" type: "Deconvolution" bottom: "map" top: "image"
  convolution_param { num_output: 2 kernel_size: 4 stride: 2 pad: 1 } }
"""
    weights = {"fc": [RNG.standard_normal((16, 8)).astype(np.float32), np.zeros(16, np.float32)],
               "deconv": [RNG.standard_normal((4, 2, 4, 4)).astype(np.float32),
                          np.zeros(2, np.float32)]}
    features = RNG.standard_normal((5, 8)).astype(np.float32)
    _, out = _run(tmp_path, text, weights=weights, feed=features, batch="dynamic")
    _, four = _run(tmp_path, text, weights=weights, feed=features[:4], batch=4)
    assert out["image"].shape == (5, 2, 4, 4)
    np.testing.assert_allclose(out["image"][:4], four["image"], rtol=1e-6, atol=1e-6)


def test_graph_names_carry_blob_names(tmp_path):
    model, _ = _run(tmp_path, SMALL_NET_V2, outputs=["conv1", "fc", "prob"])
    produced = [output for node in model.graph.node for output in node.output]
    assert len(produced) == len(set(produced))
    assert {"conv1", "pool1", "norm1", "fc", "prob"} <= set(produced)


def test_layers_beyond_the_requested_outputs_are_not_converted(tmp_path):
    text = SMALL_NET_V2 + 'layer { name: "acc" type: "Accuracy" bottom: "prob" top: "acc" }\n'
    with pytest.raises(CaffeError, match="unsupported Caffe layer type 'Accuracy'"):
        _run(tmp_path, text)
    model, out = _run(tmp_path, text, outputs=["prob"])
    np.testing.assert_array_equal(out["prob"], _run(tmp_path, SMALL_NET_V2)[1]["prob"])
    model, _ = _run(tmp_path, text, outputs=["pool1"])
    assert {n.op_type for n in model.graph.node} == {"Conv", "Relu", "MaxPool"}


@pytest.mark.parametrize("layout", ["v2", "v1", "v0"])
def test_every_truncation_and_random_bytes_give_a_caffe_error(tmp_path, layout):
    from converters.caffe.caffemodel import parse_caffemodel
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, SMALL_WEIGHTS, layout=layout, layer_types=SMALL_TYPES)
    full = path.read_bytes()
    complete = parse_caffemodel(full)
    for cut in range(len(full)):
        try:
            partial = parse_caffemodel(full[:cut])
        except CaffeError:
            continue
        assert len(partial) < len(complete)  # cut between layers: weights then go missing
    rng = np.random.default_rng(11)
    for _ in range(200):
        with pytest.raises(CaffeError):
            parse_caffemodel(rng.bytes(int(rng.integers(1, 2000))))
