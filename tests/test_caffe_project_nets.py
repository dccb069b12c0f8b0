"""The nets DGN-AM uses (the project-written prototxts under models/nets and the release's
own prototxts in ../shared) convert, pass onnx.checker, and under --batch dynamic give each
sample of a batch exactly what a batch-1 graph gives it (the driver optimises batches)."""
from __future__ import annotations

import numpy as np
import pytest

import onnx
import onnxruntime as ort

from converters.caffe.reader import load_caffe_net
from converters.caffe.to_onnx import net_to_onnx
from converters.caffe.weights import fill_missing_blobs
from support.paths import REPO_ROOT, SHARED

RNG = np.random.default_rng(5)

# (prototxt, layer to cut after (the DGN-AM objective), expected output shape per sample)
NETS = [
    ("models/nets/caffenet.prototxt", "fc8", (1000,)),
    ("models/nets/places205_alexnet_v0.prototxt", "fc8", (205,)),
    ("models/nets/googlenet.prototxt", "loss3/classifier", (1000,)),
    ("models/nets/upconv/fc6/generator.prototxt", None, (3, 256, 256)),
    ("models/nets/upconv/pool5/generator.prototxt", None, (3, 256, 256)),
]
RELEASE_NETS = [  # the release's own files, where they differ in form from the project's
    ("originals/nets/placesCNN/places205CNN_deploy_updated.prototxt", "fc8", (205,)),  # V0
    ("originals/nets/googlenet/bvlc_googlenet_updated.prototxt", "prob", (1000,)),
]


def _check(prototxt, end, per_sample_shape):
    """One --batch dynamic graph: each sample of a batch of 2 equals that sample run alone."""
    make = lambda layer, shapes, roles: [  # noqa: E731 - synthetic blobs of the right shapes
        RNG.standard_normal(shape).astype(np.float32) / np.sqrt(max(np.prod(shape[1:]), 1))
        if role == "weights" else np.full(shape, 0.5 if role == "variance" else 0.1, np.float32)
        for shape, role in zip(shapes, roles)]
    with fill_missing_blobs(make):
        model = net_to_onnx(load_caffe_net(prototxt), end=end, batch="dynamic")
    onnx.checker.check_model(model, full_check=len(model.graph.node) > 100)  # GoogLeNet
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    name = model.graph.input[0].name
    sample_shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    batch = RNG.standard_normal((2, *sample_shape)).astype(np.float32)
    batched = session.run(None, {name: batch})[0]
    assert batched.shape == (2, *per_sample_shape)
    for index in range(2):
        alone = session.run(None, {name: batch[index:index + 1]})[0]
        np.testing.assert_allclose(batched[index:index + 1], alone, rtol=1e-5,
                                   atol=1e-5 * np.abs(alone).max())


@pytest.mark.parametrize("relative,end,shape", NETS, ids=[n[0].split("/", 2)[2] for n in NETS])
def test_project_nets_convert_with_dynamic_batch(relative, end, shape):
    prototxt = REPO_ROOT / relative
    if not prototxt.exists():
        pytest.skip(f"{relative} not written yet (models/nets is another part of the project)")
    _check(prototxt, end, shape)


@pytest.mark.parametrize("relative,end,shape", RELEASE_NETS,
                         ids=[n[0].split("/")[2] for n in RELEASE_NETS])
def test_release_prototxts_convert_with_dynamic_batch(relative, end, shape):
    prototxt = SHARED / relative
    if not prototxt.exists():
        pytest.skip(f"{prototxt} absent (../shared not checked out)")
    _check(prototxt, end, shape)


def test_learned_blob_shapes_are_caffenets_published_ones():
    """conv1 96x3x11x11, grouped conv2 256x48x5x5, fc6 4096x(256*6*6) after Caffe's ceil pools."""
    from converters.caffe.synthetic import learned_blob_shapes

    shapes = learned_blob_shapes(REPO_ROOT / "models" / "nets" / "caffenet.prototxt")
    assert list(shapes) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert shapes["conv1"] == [(96, 3, 11, 11), (96,)]
    assert shapes["conv2"] == [(256, 48, 5, 5), (256,)]
    assert shapes["fc6"] == [(4096, 9216), (4096,)]
    assert shapes["fc8"] == [(1000, 4096), (1000,)]
