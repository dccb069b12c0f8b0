"""The project's own caffe.proto schema parses Caffe's real files and writes real caffemodels."""
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format

from converters.caffe import schema
from converters.caffe.writer import write_caffemodel, write_prototxt
from support.paths import SHARED

ORIGINAL_NETS = SHARED / "originals" / "nets"
PROTOTXTS = ["caffenet/caffenet.prototxt", "googlenet/bvlc_googlenet_updated.prototxt",
             "placesCNN/places205CNN_deploy_updated.prototxt", "upconv/fc6/generator.prototxt",
             "upconv/fc7/generator.prototxt", "upconv/pool5/generator.prototxt"]


@pytest.mark.parametrize("relative", PROTOTXTS)
def test_release_prototxts_parse(relative):
    path = ORIGINAL_NETS / relative
    if not path.exists():
        pytest.skip(f"reference prototxt {path} absent (../shared not checked out)")
    net = schema.NetParameter()
    text_format.Parse(path.read_text(), net)
    assert len(net.layer) + len(net.layers) > 0
    assert list(net.input)


def test_places_v0_fields_parse_into_v0_layer():
    path = ORIGINAL_NETS / PROTOTXTS[2]
    if not path.exists():
        pytest.skip(f"reference prototxt {path} absent (../shared not checked out)")
    net = schema.NetParameter()
    text_format.Parse(path.read_text(), net)
    conv1 = net.layers[0].layer
    assert (conv1.type, conv1.kernelsize, conv1.stride, conv1.num_output) == ("conv", 11, 4, 96)
    assert list(net.input_dim) == [1, 3, 227, 227]


def test_schema_has_caffes_field_numbers_and_defaults():
    assert schema.NetParameter.DESCRIPTOR.fields_by_name["layer"].number == 100
    assert schema.NetParameter.DESCRIPTOR.fields_by_name["layers"].number == 2
    assert schema.LayerParameter.DESCRIPTOR.fields_by_name["convolution_param"].number == 106
    assert schema.V1LayerParameter.DESCRIPTOR.fields_by_name["layer"].number == 1
    assert schema.V0LayerParameter.DESCRIPTOR.fields_by_name["kernelsize"].number == 8
    assert schema.LRNParameter().k == 1.0 and schema.LRNParameter().beta == 0.75
    assert schema.PoolingParameter().stride == 1
    assert schema.ConvolutionParameter().bias_term is True
    assert schema.NetState().phase == 1  # TEST


@pytest.mark.parametrize("layout", ["v2", "v1", "v0"])
def test_writer_layouts_parse_with_caffe_schema(tmp_path: Path, layout):
    weight = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    bias = np.array([0.5, -1.5], dtype=np.float32)
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, {"conv1": [weight, bias]}, layout=layout,
                     layer_types={"conv1": "Convolution"}, net_name="t")
    net = schema.NetParameter.FromString(path.read_bytes())
    if layout == "v2":
        blobs = net.layer[0].blobs
        assert net.layer[0].type == "Convolution"
        assert list(blobs[0].shape.dim) == [2, 3, 2, 2] and list(blobs[1].shape.dim) == [2]
    elif layout == "v1":
        blobs = net.layers[0].blobs
        assert net.layers[0].type == schema.V1LayerParameter.CONVOLUTION
        assert [blobs[1].num, blobs[1].channels, blobs[1].height, blobs[1].width] == [1, 1, 1, 2]
    else:
        blobs = net.layers[0].layer.blobs
        assert net.layers[0].layer.type == "conv"
    np.testing.assert_array_equal(np.array(blobs[0].data, np.float32), weight.ravel())
    np.testing.assert_array_equal(np.array(blobs[1].data, np.float32), bias)
    assert list(tmp_path.iterdir()) == [path]


def test_write_prototxt_round_trips(tmp_path: Path):
    net = schema.NetParameter(name="n", input=["data"])
    net.input_shape.add(dim=[1, 3, 8, 8])
    net.layer.add(name="relu", type="ReLU", bottom=["data"], top=["data"])
    write_prototxt(tmp_path / "n.prototxt", net)
    again = schema.NetParameter()
    text_format.Parse((tmp_path / "n.prototxt").read_text(), again)
    assert again == net


@pytest.mark.parametrize("layer_type,params", [
    ("MVN", "mvn_param { normalize_variance: false across_channels: true eps: 1e-5 }"),
    ("Reduction", "reduction_param { operation: MEAN axis: 1 coeff: 2 }"),
    ("Embed", "embed_param { num_output: 4 input_dim: 10 bias_term: false }"),
    ("Swish", "swish_param { beta: 1.5 }"),
    ("Clip", "clip_param { min: -1 max: 1 }"),
    ("SPP", "spp_param { pyramid_height: 2 pool: AVE engine: CAFFE }"),
    ("Parameter", "parameter_param { shape { dim: 2 } }"),
    ("RNN", "recurrent_param { num_output: 3 expose_hidden: true }"),
    ("DummyData", "dummy_data_param { shape { dim: 1 } data_filler { type: 'constant' } }"),
])
def test_every_caffe_layer_parameter_parses_and_unsupported_types_are_named(tmp_path, layer_type,
                                                                             params):
    """The schema holds all of caffe.proto's *_param fields, so a net using a type the
    converter lacks parses and the converter names the type (rather than the field)."""
    from converters import caffe_to_onnx
    from converters.caffe.files import CaffeError
    path = tmp_path / "net.prototxt"
    path.write_text('input: "x" input_shape { dim: 1 dim: 2 }\n'
                    f'layer {{ name: "l" type: "{layer_type}" bottom: "x" top: "y" {params} }}\n')
    net = schema.NetParameter()
    text_format.Parse(path.read_text(), net)
    with pytest.raises(CaffeError, match=f"layer l: unsupported Caffe layer type '{layer_type}'"):
        caffe_to_onnx(path, None)


def test_v1_layers_take_every_v1_parameter(tmp_path):
    net = schema.NetParameter()
    text_format.Parse('layers { name: "m" type: MVN mvn_param { eps: 0.5 } }\n'
                      'layers { name: "w" type: WINDOW_DATA window_data_param { context_pad: 2 } }',
                      net)
    assert net.layers[0].mvn_param.eps == 0.5 and net.layers[1].window_data_param.context_pad == 2
