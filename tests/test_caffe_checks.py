"""Every check Caffe makes when it sets a layer up (LayerSetUp / Reshape CHECKs, the blob
counts, Blob::CanonicalAxisIndex and Blob::Reshape) is made by the converter: one CaffeError
line naming the prototxt, the layer and the field. Each case mutates a small valid net (which
converts, with synthetic weights written by the project's writer) and converts it for real.

The smoke test replaces every number of small valid nets (V2, V1 and V0 files) by 0, -1, huge and fractional
values one at a time: each mutated file converts (to a model the ONNX checker accepts, with
the shapes ONNX's inference finds, and ONNX Runtime runs) or gives exactly one CaffeError
line, never another exception.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest

from converters import caffe_to_onnx
from converters.caffe.files import CaffeError
from converters.caffe.synthetic import synthetic_weights
from converters.caffe.writer import write_caffemodel
from support.caffe_reference import layer_text, run_onnx
from support.caffe_small_nets import SMALL_NET_V0, SMALL_NET_V1, SMALL_TYPES, SMALL_WEIGHTS
from support.paths import REPO_ROOT


def _inputs(*shapes: tuple[int, ...]) -> str:
    names = ["x", "x2", "x3"]
    return "".join(f'input: "{name}" input_shape {{ {" ".join(f"dim: {d}" for d in shape)} }}\n'
                   for name, shape in zip(names, shapes))


def _layer(layer_type: str, params: str = "", bottoms=("x",), tops=("y",), name="l") -> str:
    return layer_text(name, layer_type, bottoms, tops, params)


BASES = {  # a valid net per layer family
    "conv": _inputs((1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 7))
    + _layer("Convolution", "convolution_param { num_output: 4 kernel_size: 3 }"),
    "conv1d": _inputs((1, 4, 8))
    + _layer("Convolution", "convolution_param { num_output: 4 kernel_size: 3 }"),
    "deconv": _inputs((1, 4, 3, 3))
    + _layer("Deconvolution", "convolution_param { num_output: 2 kernel_size: 4 stride: 2 }"),
    "pool": _inputs((1, 2, 6, 6), (1, 2, 6))
    + _layer("Pooling", "pooling_param { pool: MAX kernel_size: 3 stride: 2 }"),
    "ip": _inputs((1, 4, 2, 2)) + _layer("InnerProduct", "inner_product_param { num_output: 3 }"),
    "lrn": _inputs((1, 4, 3, 3), (1, 4, 3)) + _layer("LRN", "lrn_param { local_size: 3 }"),
    "bn": _inputs((1, 4, 3, 3), (4,)) + _layer("BatchNorm", "batch_norm_param { eps: 0.001 }"),
    "eltwise": _inputs((1, 3), (1, 3), (1, 4))
    + _layer("Eltwise", "eltwise_param { operation: SUM }", ("x", "x2")),
    "scale": _inputs((1, 3, 2, 2), (1, 3), (1, 4))
    + _layer("Scale", "scale_param { axis: 1 num_axes: 1 }"),
    "bias": _inputs((1, 3, 2, 2)) + _layer("Bias", "bias_param { axis: 1 }"),
    "softmax": _inputs((2, 5)) + _layer("Softmax", "softmax_param { axis: 1 }"),
    "concat": _inputs((1, 2, 3), (1, 3, 3), (1, 3, 4))
    + _layer("Concat", "concat_param { axis: 1 }", ("x", "x2")),
    "slice": _inputs((1, 6, 2))
    + _layer("Slice", "slice_param { axis: 1 slice_point: 1 slice_point: 4 }",
             tops=("a", "b", "c")),
    "crop": _inputs((1, 2, 6, 6), (1, 2, 3, 3), (1, 2, 3))
    + _layer("Crop", "crop_param { axis: 2 offset: 1 }", ("x", "x2")),
    "reshape": _inputs((1, 2, 3, 4))
    + _layer("Reshape", "reshape_param { shape { dim: 0 dim: -1 dim: 4 } }"),
    "flatten": _inputs((1, 2, 3, 4)) + _layer("Flatten", "flatten_param { axis: 1 end_axis: 2 }"),
    "split": _inputs((1, 3), (1, 3)) + _layer("Split", tops=("a", "b")),
    "relu": _inputs((1, 3), (1, 3)) + _layer("ReLU"),
    "absval": _inputs((1, 3)) + _layer("AbsVal"),
    "input": 'layer { name: "in" type: "Input" top: "a" top: "b" '
             'input_param { shape { dim: 1 dim: 3 } } }\n' + _layer("Eltwise", "", ("a", "b")),
    "net": _inputs((1, 3)) + _layer("ReLU", name="r1") + _layer("TanH", bottoms=("y",),
                                                                tops=("z",), name="r2"),
}

CASES = [  # (base, text replaced, replacement, words the one error line must hold)
    # Convolution / Deconvolution (BaseConvolutionLayer)
    ("conv", "kernel_size: 3", "kernel_size: 0", ["convolution_param.kernel_size", "0"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 kernel_size: 3 kernel_size: 3",
     ["convolution_param.kernel_size", "3 values"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 kernel_h: 3 kernel_w: 3", ["kernel_size", "both"]),
    ("conv", "kernel_size: 3", "kernel_h: 3", ["convolution_param.kernel_w", "0"]),
    ("conv", "kernel_size: 3", "", ["convolution_param.kernel_size", "0 values"]),
    ("conv1d", "kernel_size: 3", "kernel_h: 3 kernel_w: 1", ["kernel_h/_w", "2 spatial axes"]),
    ("conv", "kernel_size: 3", "kernel_size: 4294967295", ["kernel_size", "int range"]),
    ("conv", "kernel_size: 3", "kernel_size: 9", ["kernel_size", "empty output"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 stride: 0", ["convolution_param.stride", "0"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 stride_h: 2", ["convolution_param.stride_w"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 stride: 1 stride_h: 1 stride_w: 1",
     ["convolution_param.stride", "both"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 stride: 1 stride: 1 stride: 1",
     ["convolution_param.stride", "3 values"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 pad: 1 pad: 1 pad: 1",
     ["convolution_param.pad", "3 values"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 pad: 1 pad_h: 1", ["convolution_param.pad", "both"]),
    ("conv1d", "kernel_size: 3", "kernel_size: 3 pad_w: 1", ["pad_h/_w", "2 spatial axes"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 dilation: 0", ["convolution_param.dilation", "0"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 dilation: 1 dilation: 1 dilation: 1",
     ["convolution_param.dilation", "3 values"]),
    ("conv", "kernel_size: 3", "kernel_size: 3 pad: 100000", ["top shape", "blob size limit"]),
    ("conv", 'top: "y"', "", ["takes at least 1 top", "gives 0"]),
    ("conv", "num_output: 4", "num_output: 0", ["convolution_param.num_output", "0"]),
    ("conv", "num_output: 4", "num_output: 4294967295", ["num_output", "int range"]),
    ("conv", "num_output: 4", "num_output: 4 group: 0", ["convolution_param.group", "0"]),
    ("conv", "num_output: 4", "num_output: 4 group: 3", ["convolution_param.group", "channels"]),
    ("conv", "num_output: 4", "num_output: 3 group: 2", ["convolution_param.group", "num_output"]),
    ("conv", "num_output: 4", "num_output: 4 axis: 5", ["convolution_param.axis", "out of range"]),
    ("conv", "num_output: 4", "num_output: 4 axis: 2", ["convolution_param.axis", "supported"]),
    ("conv", 'bottom: "x"', 'bottom: "x" bottom: "x2"', ["one top per bottom"]),
    ("conv", 'bottom: "x" top: "y"', 'bottom: "x" bottom: "x3" top: "y" top: "y3"',
     ["bottom[1]", "(1, 4, 8, 7)"]),
    ("conv", 'bottom: "x" top: "y"', 'bottom: "x" bottom: "x2" top: "y" top: "y2"', None),
    ("deconv", "num_output: 2", "num_output: 0", ["Deconvolution", "num_output"]),
    ("deconv", "stride: 2", "stride: 0", ["Deconvolution", "convolution_param.stride"]),
    ("deconv", "num_output: 2", "num_output: 2 group: 3", ["convolution_param.group"]),
    ("deconv", "stride: 2", "stride: 100000", ["top shape", "blob size limit"]),
    # Pooling
    ("pool", "stride: 2", "stride: 0", ["pooling_param.stride", "0"]),
    ("pool", "kernel_size: 3", "kernel_size: 0", ["pooling_param.kernel_size", "0"]),
    ("pool", "kernel_size: 3", "", ["pooling_param.kernel_size", "missing"]),
    ("pool", "kernel_size: 3", "kernel_h: 3", ["pooling_param.kernel_w", "missing"]),
    ("pool", "kernel_size: 3", "kernel_size: 3 kernel_h: 3 kernel_w: 3",
     ["pooling_param.kernel_size", "both"]),
    ("pool", "kernel_size: 3", "kernel_size: 3 global_pooling: true",
     ["pooling_param.kernel_size", "global_pooling"]),
    ("pool", "kernel_size: 3 stride: 2", "global_pooling: true pad: 1",
     ["pooling_param.global_pooling", "pad 0"]),
    ("pool", "kernel_size: 3 stride: 2", "global_pooling: true stride: 2",
     ["pooling_param.global_pooling", "stride 1"]),
    ("pool", "stride: 2", "stride: 2 pad: 1 pad_h: 1 pad_w: 1", ["pooling_param.pad", "both"]),
    ("pool", "stride: 2", "stride: 2 pad_h: 1", ["pooling_param.pad_w", "missing"]),
    ("pool", "stride: 2", "stride_w: 2", ["pooling_param.stride_h", "missing"]),
    ("pool", "stride: 2", "stride: 2 pad: 3", ["pooling_param.pad", "smaller than the kernel"]),
    ("pool", "kernel_size: 3 stride: 2", "kernel_size: 9 stride: 1",
     ["pooling_param.kernel_size", "empty output"]),
    ("pool", "kernel_size: 3", "kernel_size: 2147483648", ["kernel_size", "int range"]),
    ("pool", "pool: MAX", "pool: STOCHASTIC", ["pooling_param.pool", "STOCHASTIC"]),
    ("pool", "kernel_size: 3 stride: 2", "kernel_size: 2 stride: 3",
     ["pooling_param.stride", "past the bottom"]),
    ("pool", "kernel_size: 3 stride: 2", "kernel_size: 2 stride: 3 pad_h: 1 pad_w: 0", None),
    ("pool", 'top: "y"', 'top: "y" top: "mask"', ["top 'mask'", "mask"]),
    ("pool", 'pool: MAX', 'pool: AVE', None),
    ("pool", "pool: MAX kernel_size: 3 stride: 2", "pool: AVE kernel_size: 3", None),
    ("pool", 'top: "y"', 'top: "y" top: "mask" top: "m2"', ["takes 1 to 2 top"]),
    ("pool", 'bottom: "x"', 'bottom: "x2"', ["bottom", "4-D"]),
    ("pool", 'bottom: "x"', 'bottom: "x" bottom: "x2"', ["takes 1 bottom", "gives 2"]),
    # InnerProduct
    ("ip", "num_output: 3", "num_output: 0", ["inner_product_param.num_output", "0"]),
    ("ip", "num_output: 3", "num_output: 4294967295", ["inner_product_param.num_output",
                                                       "int range"]),
    ("ip", "num_output: 3", "num_output: 3 axis: 4", ["inner_product_param.axis", "out of range"]),
    ("ip", "num_output: 3", "num_output: 3 axis: -5", ["inner_product_param.axis", "-5"]),
    ("ip", 'top: "y"', 'top: "y" top: "z"', ["takes 1 top", "gives 2"]),
    # LRN
    ("lrn", "local_size: 3", "local_size: 4", ["lrn_param.local_size", "odd"]),
    ("lrn", "local_size: 3", "local_size: 0", ["lrn_param.local_size", "odd"]),
    ("lrn", "local_size: 3", "local_size: 4294967295", ["lrn_param.local_size", "int range"]),
    ("lrn", 'bottom: "x"', 'bottom: "x2"', ["bottom", "4-D"]),
    ("lrn", "local_size: 3", "local_size: 3 norm_region: WITHIN_CHANNEL", None),
    # BatchNorm
    ("bn", "eps: 0.001", "use_global_stats: false", ["batch_norm_param.use_global_stats"]),
    ("bn", "batch_norm_param", "param { lr_mult: 0 } param { lr_mult: 1 } batch_norm_param",
     ["param[1].lr_mult", "must be 0"]),
    ("bn", "batch_norm_param", "param { lr_mult: 0 decay_mult: 0 } batch_norm_param", None),
    ("bn", 'bottom: "x"', 'bottom: "x2"', ["bottom", "axis 1"]),
    # Eltwise
    ("eltwise", "operation: SUM", "operation: SUM coeff: 1 coeff: 2 coeff: 3",
     ["eltwise_param.coeff", "3 times"]),
    ("eltwise", "operation: SUM", "operation: MAX coeff: 1", ["eltwise_param.coeff", "1 times"]),
    ("eltwise", "operation: SUM", "operation: PROD coeff: 1 coeff: 2",
     ["eltwise_param.coeff", "PROD"]),
    ("eltwise", 'bottom: "x2"', 'bottom: "x3"', ["bottom[1]", "(1, 4)"]),
    ("eltwise", 'bottom: "x2"', "", ["takes at least 2 bottom"]),
    # Scale / Bias
    ("scale", "axis: 1", "axis: 4", ["scale_param.axis", "out of range"]),
    ("scale", "num_axes: 1", "num_axes: -2", ["scale_param.num_axes", "-2"]),
    ("scale", "num_axes: 1", "num_axes: 4", ["scale_param.num_axes", "past"]),
    ("scale", 'bottom: "x" top: "y" scale_param { axis: 1 num_axes: 1 }',
     'bottom: "x" bottom: "x3" top: "y" scale_param { axis: 0 }', ["bottom[1]", "(1, 4)"]),
    ("scale", 'bottom: "x" top: "y" scale_param { axis: 1 num_axes: 1 }',
     'bottom: "x" bottom: "x2" top: "y" scale_param { axis: 0 }', None),
    ("scale", 'bottom: "x" top: "y" scale_param { axis: 1 num_axes: 1 }',
     'bottom: "x" bottom: "x2" top: "y" scale_param { axis: 0 bias_term: true }',
     ["scale_param.bias_term", "two bottoms"]),
    ("scale", 'bottom: "x"', 'bottom: "x" bottom: "x2" bottom: "x3"', ["takes 1 to 2 bottom"]),
    ("bias", "axis: 1", "axis: -5", ["bias_param.axis", "out of range"]),
    ("bias", "axis: 1", "axis: 1 num_axes: 5", ["bias_param.num_axes", "past"]),
    # Softmax
    ("softmax", "axis: 1", "axis: 2", ["softmax_param.axis", "out of range"]),
    ("softmax", 'top: "y"', 'top: "y" top: "z"', ["takes 1 top"]),
    # Concat
    ("concat", "axis: 1", "axis: 3", ["concat_param.axis", "out of range"]),
    ("concat", "axis: 1", "axis: 1 concat_dim: 1", ["concat_param.concat_dim", "both"]),
    ("concat", "axis: 1", "concat_dim: 3", ["concat_param.concat_dim", "out of range"]),
    ("concat", "axis: 1", "concat_dim: 4294967295", ["concat_param.concat_dim", "int range"]),
    ("concat", 'bottom: "x2"', 'bottom: "x3"', ["bottom[1]", "(1, 3, 4)"]),
    ("concat", 'top: "y"', 'top: "y" top: "z"', ["takes 1 top"]),
    # Slice
    ("slice", "slice_point: 4", "slice_point: 1", ["slice_param.slice_point", "strictly"]),
    ("slice", "slice_point: 1 slice_point: 4", "slice_point: 0 slice_point: 4",
     ["slice_param.slice_point", "above 0"]),
    ("slice", "slice_point: 1 slice_point: 4", "slice_point: 4 slice_point: 1",
     ["slice_param.slice_point", "strictly"]),
    ("slice", "slice_point: 1 slice_point: 4", "slice_point: 1", ["slice_param.slice_point",
                                                                  "one fewer"]),
    ("slice", "slice_point: 4", "slice_point: 6", ["slice_param.slice_point", "past"]),
    ("slice", "slice_point: 4", "slice_point: 4294967295", ["slice_param.slice_point",
                                                            "int range"]),
    ("slice", "slice_point: 1 slice_point: 4", "", None),
    ("slice", 'top: "c" slice_param { axis: 1 slice_point: 1 slice_point: 4 }',
     'top: "c" top: "d" slice_param { axis: 1 }', ["top", "count 4", "evenly"]),
    ("slice", 'top: "c" slice_param { axis: 1 slice_point: 1 slice_point: 4 }',
     'top: "c" top: "d" top: "e" top: "f" top: "g" slice_param { axis: 1 '
     + "".join(f"slice_point: {i} " for i in range(1, 7)) + "}", ["top", "count 7 exceeds"]),
    ("slice", "axis: 1", "axis: 1 slice_dim: 1", ["slice_param.slice_dim", "both"]),
    ("slice", "axis: 1", "slice_dim: 3", ["slice_param.slice_dim", "out of range"]),
    ("slice", "axis: 1", "axis: -4", ["slice_param.axis", "out of range"]),
    ("slice", 'bottom: "x"', 'bottom: "x" bottom: "x"', ["takes 1 bottom"]),
    # Crop
    ("crop", "offset: 1", "offset: 4", ["crop_param.offset", "out of bounds"]),
    ("crop", "offset: 1", "offset: 1 offset: 1 offset: 1", ["crop_param.offset", "3 times"]),
    ("crop", "offset: 1", "offset: 4294967295", ["crop_param.offset", "int range"]),
    ("crop", "axis: 2", "axis: 4", ["crop_param.axis", "out of range"]),
    ("crop", "axis: 2", "axis: -1", None),
    ("crop", 'bottom: "x2"', 'bottom: "x3"', ["bottom[1]", "fewer axes"]),
    ("crop", 'bottom: "x2"', "", ["takes 2 bottom"]),
    # Reshape
    ("reshape", "dim: 0 dim: -1", "dim: -1 dim: -1", ["reshape_param.shape", "more than one -1"]),
    ("reshape", "dim: 0 dim: -1 dim: 4", "dim: 0 dim: 0 dim: 0 dim: 0 dim: 0",
     ["reshape_param.shape", "0 at position 4", "past"]),
    ("reshape", "dim: -1 dim: 4", "dim: 5 dim: -1", ["reshape_param.shape", "not divisible"]),
    ("reshape", "dim: -1 dim: 4", "dim: 2 dim: 2", ["reshape_param.shape", "different count"]),
    ("reshape", "dim: -1 dim: 4", "dim: -2 dim: -12", ["reshape_param.shape", "below -1"]),
    ("reshape", "dim: 0 dim: -1 dim: 4 }", "dim: 0 dim: -1 dim: 4 } axis: 5",
     ["reshape_param.axis", "out of range"]),
    ("reshape", "dim: 0 dim: -1 dim: 4 }", "dim: -1 } axis: -6", ["reshape_param.axis", "-6"]),
    ("reshape", "dim: 0 dim: -1 dim: 4 }", "dim: -1 } axis: 1 num_axes: -2",
     ["reshape_param.num_axes", "-2"]),
    ("reshape", "dim: 0 dim: -1 dim: 4 }", "dim: -1 } axis: 1 num_axes: 9",
     ["reshape_param.num_axes", "past"]),
    ("reshape", "dim: 0 dim: -1 dim: 4 }", "dim: -1 } axis: -3 num_axes: 2", None),
    ("reshape", 'top: "y"', 'top: "x"', ["in-place"]),
    # Flatten
    ("flatten", "axis: 1 end_axis: 2", "axis: 2 end_axis: 1", ["flatten_param.end_axis",
                                                                "before"]),
    ("flatten", "axis: 1", "axis: 5", ["flatten_param.axis", "out of range"]),
    ("flatten", "end_axis: 2", "end_axis: -5", ["flatten_param.end_axis", "out of range"]),
    ("flatten", 'top: "y"', 'top: "x"', ["in-place"]),
    # Split, neurons, Input, the net's wiring
    ("split", 'top: "a"', 'top: "x"', ["in-place"]),
    ("split", 'bottom: "x"', 'bottom: "x" bottom: "x2"', ["takes 1 bottom"]),
    ("relu", 'bottom: "x"', 'bottom: "x" bottom: "x2"', ["ReLU", "takes 1 bottom"]),
    ("relu", 'top: "y"', 'top: "y" top: "z"', ["ReLU", "takes 1 top"]),
    ("absval", 'top: "y"', 'top: "x"', ["AbsVal", "in-place"]),
    ("absval", 'type: "AbsVal" bottom: "x" top: "y"', 'type: "Silence" bottom: "x"',
     ["no output blob", "--output"]),
    ("input", "dim: 3", "dim: 0", ["input_param.shape", "empty"]),
    ("input", "dim: 3", "dim: -1", ["input_param.shape", "negative"]),
    ("input", "dim: 3", "dim: 65536 dim: 65536", ["input_param.shape", "blob size limit"]),
    ("input", "dim: 3", "dim: 1 " * 32, ["input_param.shape", "33 axes"]),
    ("input", "} }", "} shape { dim: 1 dim: 3 } shape { dim: 1 dim: 3 } }",
     ["input_param.shape", "3 times for 2 tops"]),
    ("input", "input_param { shape { dim: 1 dim: 3 } }", "", ["input_param.shape", "missing"]),
    ("input", 'top: "a"', 'bottom: "a" top: "a"', ["bottom 'a'"]),
    ("net", 'bottom: "y" top: "z"', 'bottom: "x" top: "y"', ["top 'y'", "already produced"]),
    ("net", 'name: "r1"', 'name: "r1" loss_weight: 1 loss_weight: 1', ["loss_weight", "2 times"]),
    ("net", 'name: "r1"', 'name: "r1" loss_weight: 0', None),
    ("net", 'name: "r1"', 'name: "r1" propagate_down: true propagate_down: false',
     ["propagate_down", "2 times"]),
    ("net", 'name: "r2"', 'name: "r2" include { phase: TEST } exclude { phase: TRAIN }',
     ["layer r2", "include and exclude"]),
    ("net", 'bottom: "y" top: "z"', 'bottom: "y" top: "y"', None),
]


@pytest.fixture(scope="module")
def base_files(tmp_path_factory) -> dict[str, tuple[str, Path | None]]:
    """Each base net's text and its caffemodel of synthetic weights (None without weights)."""
    directory = tmp_path_factory.mktemp("bases")
    files = {}
    for key, text in BASES.items():
        prototxt = directory / f"{key}.prototxt"
        prototxt.write_text(text)
        weights = synthetic_weights(prototxt)
        caffemodel = None
        if weights:
            caffemodel = directory / f"{key}.caffemodel"
            write_caffemodel(caffemodel, weights)
        files[key] = text, caffemodel
    return files


def _check_converted(model: onnx.ModelProto) -> None:
    """The ONNX checker with shape inference accepts the model, and ONNX Runtime runs it."""
    onnx.checker.check_model(model, full_check=True)
    feeds = {i.name: np.zeros([d.dim_value for d in i.type.tensor_type.shape.dim], np.float32)
             for i in model.graph.input}
    run_onnx(model, feeds)


@pytest.mark.parametrize("key", sorted(BASES))
def test_every_base_net_converts(base_files, tmp_path, key):
    text, caffemodel = base_files[key]
    (tmp_path / "net.prototxt").write_text(text)
    _check_converted(caffe_to_onnx(tmp_path / "net.prototxt", caffemodel))


@pytest.mark.parametrize("base,old,new,words", CASES,
                         ids=[f"{c[0]}: {c[2][:60] or 'drop ' + c[1][:50]}" for c in CASES])
def test_each_caffe_setup_check_is_one_caffe_error_line_and_valid_variants_convert(base_files, tmp_path, base, old, new, words):
    """words None: a valid variant, which must convert (so the checks are not too strict)."""
    text, caffemodel = base_files[base]
    assert text.count(old) == 1, f"mutation anchor {old!r} not unique in base {base}"
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(text.replace(old, new))
    if words is None:
        _check_converted(caffe_to_onnx(prototxt, caffemodel))
        return
    with pytest.raises(CaffeError) as error:
        caffe_to_onnx(prototxt, caffemodel)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{prototxt}: "), message
    if "no output blob" not in words:  # the one net-level case names no layer
        named = re.search(r"layer (\S+)", message)
        assert named and named.group(1) in re.findall(r'name: "([^"]+)"', text), message
    for word in words:
        assert word in message, f"{word!r} not in: {message}"


NUMBER = re.compile(r"(?<=: )-?\d+(?:\.\d+)?(?:e-?\d+)?\b")
REPLACEMENTS = ["0", "-1", "2.5", "2147483648", "4294967295", "99999999999999999999"]
SMOKE_NETS = ["demo classifier", "demo generator", "structure net", "V1 net", "V0 net"]
STRUCTURE_NET = (_inputs((1, 4, 6, 6), (1, 2, 3, 3))
                 + _layer("Convolution", "convolution_param { num_output: 4 kernel_size: 3 "
                          "pad: 1 stride: 1 dilation: 1 group: 2 }", name="conv", tops=("c",))
                 + _layer("Pooling", "pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 }",
                          ("c",), ("p",), name="pool")
                 + _layer("Slice", "slice_param { axis: 1 slice_point: 2 }", ("p",), ("s1", "s2"),
                          name="slice")
                 + _layer("Eltwise", "eltwise_param { operation: SUM coeff: 1 coeff: -1 }",
                          ("s1", "s2"), ("e",), name="elt")
                 + _layer("Crop", "crop_param { axis: 2 offset: 1 }", ("e", "x2"), ("cr",),
                          name="crop")
                 + _layer("Concat", "concat_param { axis: 1 }", ("cr", "x2"), ("cat",),
                          name="cat")
                 + _layer("Scale", "scale_param { axis: 1 num_axes: 1 bias_term: true }",
                          ("cat",), ("sc",), name="scale")
                 + _layer("LRN", "lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 k: 2 }",
                          ("sc",), ("n",), name="lrn")
                 + _layer("Reshape", "reshape_param { shape { dim: 0 dim: -1 dim: 3 } }",
                          ("n",), ("r",), name="reshape")
                 + _layer("Flatten", "flatten_param { axis: 1 end_axis: -1 }", ("r",), ("f",),
                          name="flat")
                 + _layer("InnerProduct", "inner_product_param { num_output: 3 axis: 1 }",
                          ("f",), ("ip",), name="ip")
                 + _layer("Softmax", "softmax_param { axis: -1 }", ("ip",), ("prob",),
                          name="prob"))


@pytest.fixture(scope="module")
def smoke_nets(tmp_path_factory) -> dict[str, tuple[str, Path]]:
    demo = REPO_ROOT / "models" / "demo"
    directory = tmp_path_factory.mktemp("smoke")
    structure = directory / "structure.prototxt"
    structure.write_text(STRUCTURE_NET)
    write_caffemodel(directory / "structure.caffemodel", synthetic_weights(structure))
    return {"demo classifier": ((demo / "classifier.prototxt").read_text(),
                                demo / "classifier.caffemodel"),
            "demo generator": ((demo / "generator.prototxt").read_text(),
                               demo / "generator.caffemodel"),
            "structure net": (STRUCTURE_NET, directory / "structure.caffemodel"),
            **{f"{layout.upper()} net": (text, _legacy_caffemodel(directory, layout))
               for layout, text in (("v1", SMALL_NET_V1), ("v0", SMALL_NET_V0))}}


def _legacy_caffemodel(directory: Path, layout: str) -> Path:
    path = directory / f"small_{layout}.caffemodel"
    write_caffemodel(path, SMALL_WEIGHTS, layout=layout, layer_types=SMALL_TYPES)
    return path


@pytest.mark.parametrize("net", SMOKE_NETS)
def test_every_number_mutated_converts_or_gives_one_caffe_error(smoke_nets, tmp_path, net):
    text, caffemodel = smoke_nets[net]
    numbers = list(NUMBER.finditer(text))
    assert len(numbers) > 15
    prototxt = tmp_path / "net.prototxt"
    outcomes = {"converted": 0, "refused": 0}
    for match in numbers:
        for replacement in REPLACEMENTS:
            if replacement == match.group():
                continue
            prototxt.write_text(text[:match.start()] + replacement + text[match.end():])
            where = f"{text[max(match.start() - 40, 0):match.start()]!r} -> {replacement}"
            try:
                model = caffe_to_onnx(prototxt, caffemodel)
            except CaffeError as error:
                assert "\n" not in str(error) and str(error).startswith(str(prototxt)), where
                outcomes["refused"] += 1
                continue
            except Exception as error:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{where}: {type(error).__name__}: {error}")
            try:
                _check_converted(model)
            except Exception as error:  # noqa: BLE001
                pytest.fail(f"{where}: converted to an invalid model: {error}")
            outcomes["converted"] += 1
    assert outcomes["converted"] and outcomes["refused"]


WIRING = re.compile(r'(bottom|top): "([^"]*)"')


@pytest.mark.parametrize("net", ["structure net", "V0 net"])
def test_every_bottom_and_top_rewired_converts_or_gives_one_caffe_error(smoke_nets, tmp_path,
                                                                        net):
    """Each bottom/top entry dropped, doubled, or renamed to every other blob of the net."""
    text, caffemodel = smoke_nets[net]
    blobs = sorted({match.group(2) for match in WIRING.finditer(text)})
    prototxt = tmp_path / "net.prototxt"
    for match in WIRING.finditer(text):
        variants = ["", f"{match.group()} {match.group()}"] + [
            f'{match.group(1)}: "{blob}"' for blob in blobs if blob != match.group(2)]
        for variant in variants:
            prototxt.write_text(text[:match.start()] + variant + text[match.end():])
            where = f"{match.group()!r} -> {variant!r}"
            try:
                _check_converted(caffe_to_onnx(prototxt, caffemodel))
            except CaffeError as error:
                assert "\n" not in str(error) and str(error).startswith(str(prototxt)), where
            except Exception as error:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{where}: {type(error).__name__}: {error}")
