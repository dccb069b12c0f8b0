"""A whole CaffeNet-architecture net (61 M parameters, synthetic weights written as a real V1
caffemodel, as BVLC's reference CaffeNet is stored) converts to ONNX and equals a NumPy
float64 forward pass of Caffe's arithmetic, layer by layer.

`pytest -s tests/test_caffe_net.py` prints the largest relative error per blob.
"""
from __future__ import annotations

import numpy as np
import pytest

from converters import caffe_to_onnx
from converters.caffe.writer import write_caffemodel
from support.caffe_reference import (ref_conv, ref_inner_product, ref_lrn_across, ref_pool,
                                     ref_softmax, rel_err, run_onnx)

# (name, kind, settings): the BVLC reference CaffeNet deploy architecture.
CAFFENET = [
    ("conv1", "conv", dict(num_output=96, kernel=11, stride=4, pad=0, group=1)),
    ("pool1", "pool", dict(kernel=3, stride=2)), ("norm1", "lrn", {}),
    ("conv2", "conv", dict(num_output=256, kernel=5, stride=1, pad=2, group=2)),
    ("pool2", "pool", dict(kernel=3, stride=2)), ("norm2", "lrn", {}),
    ("conv3", "conv", dict(num_output=384, kernel=3, stride=1, pad=1, group=1)),
    ("conv4", "conv", dict(num_output=384, kernel=3, stride=1, pad=1, group=2)),
    ("conv5", "conv", dict(num_output=256, kernel=3, stride=1, pad=1, group=2)),
    ("pool5", "pool", dict(kernel=3, stride=2)),
    ("fc6", "fc", dict(num_output=4096)), ("fc7", "fc", dict(num_output=4096)),
    ("fc8", "fc", dict(num_output=1000, relu=False)), ("prob", "softmax", {}),
]
CHECKED_BLOBS = ["conv1", "norm1", "conv2", "conv5", "pool5", "fc6", "fc7", "fc8", "prob"]


def _prototxt() -> str:
    lines = ['name: "CaffeNet"', 'input: "data"', "input_shape { dim: 1 dim: 3 dim: 227 dim: 227 }"]
    bottom = "data"
    for name, kind, s in CAFFENET:
        if kind == "conv":
            lines.append(f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" '
                         f'top: "{name}" convolution_param {{ num_output: {s["num_output"]} '
                         f'kernel_size: {s["kernel"]} stride: {s["stride"]} pad: {s["pad"]} '
                         f'group: {s["group"]} }} }}')
        elif kind == "pool":
            lines.append(f'layer {{ name: "{name}" type: "Pooling" bottom: "{bottom}" '
                         f'top: "{name}" pooling_param {{ pool: MAX kernel_size: {s["kernel"]} '
                         f'stride: {s["stride"]} }} }}')
        elif kind == "lrn":
            lines.append(f'layer {{ name: "{name}" type: "LRN" bottom: "{bottom}" top: "{name}" '
                         "lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }")
        elif kind == "fc":
            lines.append(f'layer {{ name: "{name}" type: "InnerProduct" bottom: "{bottom}" '
                         f'top: "{name}" inner_product_param {{ num_output: {s["num_output"]} }} }}')
        else:
            lines.append(f'layer {{ name: "{name}" type: "Softmax" bottom: "{bottom}" '
                         f'top: "{name}" }}')
        if kind in ("conv", "fc") and s.get("relu", True):
            relu = name.replace("conv", "relu").replace("fc", "relu")
            lines.append(f'layer {{ name: "{relu}" type: "ReLU" bottom: "{name}" top: "{name}" }}')
            if kind == "fc":
                lines.append(f'layer {{ name: "drop{name[2:]}" type: "Dropout" bottom: "{name}" '
                             f'top: "{name}" dropout_param {{ dropout_ratio: 0.5 }} }}')
        bottom = name
    return "\n".join(lines) + "\n"


def _weights(rng) -> dict[str, list[np.ndarray]]:
    """He-scaled Gaussian weights so activations stay O(1) through the net."""
    weights, channels, size = {}, 3, 227
    for name, kind, s in CAFFENET:
        if kind == "conv":
            fan_in = channels // s["group"] * s["kernel"] ** 2
            shape = (s["num_output"], channels // s["group"], s["kernel"], s["kernel"])
            channels = s["num_output"]
            size = (size + 2 * s["pad"] - s["kernel"]) // s["stride"] + 1
        elif kind == "pool":
            size = -(-(size - s["kernel"]) // s["stride"]) + 1
            continue
        elif kind == "fc":
            fan_in = channels * size * size
            shape, channels, size = (s["num_output"], fan_in), s["num_output"], 1
        else:
            continue
        gain = 2.0 if s.get("relu", True) else 1e-3  # fc8: logits of a few units, no saturation
        weights[name] = [(rng.standard_normal(shape, dtype=np.float32)
                          * np.float32(np.sqrt(gain / fan_in))),
                         rng.standard_normal(shape[0], dtype=np.float32) * np.float32(0.1)]
    return weights


def _reference_forward(x, weights) -> dict[str, np.ndarray]:
    """Caffe's forward in float64, blob values after in-place layers (net.blobs after forward)."""
    blobs, value = {}, x.astype(np.float64)
    for name, kind, s in CAFFENET:
        if kind == "conv":
            value = ref_conv(value, *(w.astype(np.float64) for w in weights[name]),
                             pad=(s["pad"],) * 2, stride=(s["stride"],) * 2, group=s["group"])
        elif kind == "pool":
            value = ref_pool(value, "MAX", (s["kernel"],) * 2, (0, 0), (s["stride"],) * 2)
        elif kind == "lrn":
            value = ref_lrn_across(value, 5, 1e-4, 0.75, 1.0)
        elif kind == "fc":
            value = ref_inner_product(value, *weights[name])
        else:
            value = ref_softmax(value)
        if kind in ("conv", "fc") and s.get("relu", True):
            value = np.maximum(value, 0)
        blobs[name] = value
    return blobs


@pytest.fixture(scope="module")
def caffenet(tmp_path_factory):
    directory = tmp_path_factory.mktemp("caffenet")
    rng = np.random.default_rng(2012)
    weights = _weights(rng)
    prototxt, caffemodel = directory / "caffenet.prototxt", directory / "caffenet.caffemodel"
    prototxt.write_text(_prototxt())
    write_caffemodel(caffemodel, weights, layout="v1")
    image = rng.standard_normal((1, 3, 227, 227), dtype=np.float32) * np.float32(50)
    return prototxt, caffemodel, weights, image


def test_whole_caffenet_matches_the_numpy_reference(caffenet):
    prototxt, caffemodel, weights, image = caffenet
    assert sum(w.size for blobs in weights.values() for w in blobs) > 60_000_000
    model = caffe_to_onnx(prototxt, caffemodel, outputs=CHECKED_BLOBS)
    actual = run_onnx(model, {"data": image})
    expected = _reference_forward(image, weights)
    print("\nCaffeNet architecture, largest relative error per blob (after in-place layers):")
    worst = 0.0
    for blob in CHECKED_BLOBS:
        error = rel_err(actual[blob], expected[blob])
        worst = max(worst, error)
        print(f"  {blob:6s} {error:.2e}")
        assert actual[blob].shape == expected[blob].shape
    print(f"  whole net (worst blob) {worst:.2e}; fc8 std {actual['fc8'].std():.2f}, "
          f"max prob {actual['prob'].max():.3f}")
    assert worst < 1e-5
    assert (actual["fc6"] >= 0).all()  # fc6 is read after relu6, as Caffe's net.blobs['fc6']


def test_caffenet_end_conv5_is_before_relu5(caffenet):
    prototxt, caffemodel, weights, image = caffenet
    model = caffe_to_onnx(prototxt, caffemodel, end="conv5")
    assert [o.name for o in model.graph.output] == ["conv5"]
    conv5 = run_onnx(model, {"data": image})["conv5"]
    expected = _reference_forward(image, weights)["conv5"]  # after relu5
    assert (conv5 < 0).any()
    assert rel_err(np.maximum(conv5, 0), expected) < 1e-5
