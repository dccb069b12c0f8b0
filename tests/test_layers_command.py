"""`python -m reproduce layers NET [WEIGHTS]`: one line `NAME  SHAPE  UNITS  UNIT  ACCEPTS  [in-place after LAYER]`
per name `--act_layer` accepts, with the shape the activation really has and the in-place writers.
"""
from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from support.onnx_classifiers import write_classifier
from support.paths import REPO_ROOT
from support.tiny_nets import CLASSIFIER_PROTOTXT, write_tiny_nets

DEMO = REPO_ROOT / "models" / "demo"


def layers(capsys, *argv: str) -> tuple[int, list[list[str]], str]:
    """Runs the command in this process; its status, its lines split into columns, stderr."""
    from common.cli import run_subcommands
    try:
        status = run_subcommands("python -m reproduce", None, ["reproduce.cli.layers"],
                                 ["layers", *argv])
    except SystemExit as exit_:
        status = int(exit_.code)
    captured = capsys.readouterr()
    rows = [re.split(r"\s{2,}", line.strip()) for line in captured.out.splitlines()]
    return status, rows, captured.err.strip()


def shape_of(text: str) -> tuple[int, ...]:
    return tuple(int(side) for side in text.split("x"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_nets(tmp_path_factory.mktemp("tiny"))


def test_caffe_lists_each_act_layer_with_the_shape_act_max_sees(tiny, capsys):
    """Every layer named after its top, in order; SHAPE is the blob of forward(end=LAYER)."""
    from converters.caffe.to_onnx import caffe_to_onnx
    status, rows, _ = layers(capsys, str(tiny.classifier_prototxt), str(tiny.classifier_caffemodel))
    assert status == 0
    layer_names = re.findall(r'name: "(\w+)"', CLASSIFIER_PROTOTXT)
    tops = dict(re.findall(r'name: "(\w+)" type: "\w+" bottom: "\w+" top: "(\w+)"', CLASSIFIER_PROTOTXT))
    assert [row[0] for row in rows] == [name for name in layer_names if tops.get(name) == name]
    image = np.random.default_rng(0).standard_normal((1, 3, 9, 9)).astype(np.float32)
    for row in rows:
        model = caffe_to_onnx(str(tiny.classifier_prototxt), str(tiny.classifier_caffemodel),
                              outputs=(row[0],), end=row[0])
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (value,) = session.run(None, {"data": image})
        assert shape_of(row[1]) == value.shape
        assert int(row[2]) == (value.shape[1] if value.ndim == 4 else value[0].size)


def test_caffe_marks_blobs_later_layers_overwrite_in_place(tiny, capsys):
    """conv1 and fc6 are overwritten by relu1 and relu6 (bottom = top); fc8 by nothing."""
    _, rows, _ = layers(capsys, str(tiny.classifier_prototxt))
    notes = {row[0]: row[5] if len(row) > 5 else "" for row in rows}
    assert notes == {"conv1": "in-place after relu1", "fc6": "in-place after relu6", "fc8": ""}


def test_caffe_without_weights_lists_the_same_as_with_them(capsys):
    _, with_weights, _ = layers(capsys, str(DEMO / "classifier.prototxt"), str(DEMO / "classifier.caffemodel"))
    _, without, _ = layers(capsys, str(DEMO / "classifier.prototxt"))
    assert with_weights == without and len(without) > 5
    assert ["fc6", "1x256", "256", "flat index", "yes", "in-place after relu6,drop6"] in without


def test_onnx_lists_every_float_tensor_that_depends_on_the_image(tmp_path, capsys):
    """All node outputs of the classifier, each with the shape ONNX Runtime computes for it."""
    path = write_classifier(tmp_path / "resnet.onnx", "resnet", side=32)
    status, rows, _ = layers(capsys, str(path))
    assert status == 0
    model = onnx.load(str(path))
    assert [row[0] for row in rows] == [node.output[0] for node in model.graph.node]
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    del exposed.graph.output[:]
    exposed.graph.output.extend(onnx.ValueInfoProto(name=row[0]) for row in rows)
    session = ort.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"])
    values = session.run(None, {"image": np.zeros((1, 3, 32, 32), np.float32)})
    for row, value in zip(rows, values):
        assert shape_of(row[1]) == value.shape and len(row) == 5 and row[4] == "yes"
        assert int(row[2]) == (value.shape[1] if value.ndim == 4 else value[0].size)


def test_onnx_with_a_symbolic_size_needs_and_takes_net_input_size(tmp_path, capsys):
    path = write_classifier(tmp_path / "squeeze.onnx", "squeezenet", symbolic_size=True)
    status, _, err = layers(capsys, str(path))
    assert status == 2 and "--net_input_size" in err and "\n" not in err
    status, rows, _ = layers(capsys, str(path), "--net_input_size", "48", "48")
    assert status == 0 and rows[0] == ["conv1", "1x16x23x23", "16", "channel at --xy (23x23)",
                                       "yes"]  # (48 − 3) // 2 + 1


@pytest.mark.parametrize("make,words", [
    (lambda d: d / "missing.prototxt", ("missing.prototxt", "not found")),
    (lambda d: (d / "bad.onnx").write_bytes(b"\x00garbage\xff") and d / "bad.onnx", ("bad.onnx", "not")),
])
def test_bad_input_is_one_line_exit_2(make, words, tmp_path, capsys):
    status, rows, err = layers(capsys, str(make(tmp_path)))
    assert status == 2 and not rows and "\n" not in err and "Traceback" not in err
    for word in words:
        assert word in err
