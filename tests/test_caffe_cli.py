"""`python -m converters caffe2onnx`: the contract scripts rely on, and bad input handled as
one clear line, a non-zero exit, no traceback and no output file left behind."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from converters.caffe.writer import write_caffemodel
from support.paths import REPO_ROOT

NET = """name: "tiny"
input: "data"
input_shape { dim: 1 dim: 2 dim: 6 dim: 6 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "fc" type: "InnerProduct" bottom: "conv" top: "fc"
  inner_product_param { num_output: 4 } }
"""
WEIGHTS = {"conv": [np.ones((3, 2, 3, 3), np.float32), np.zeros(3, np.float32)],
           "fc": [np.ones((4, 48), np.float32), np.zeros(4, np.float32)]}


def caffe2onnx(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "converters", "caffe2onnx", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "net.prototxt").write_text(NET)
    write_caffemodel(tmp_path / "net.caffemodel", WEIGHTS)
    return tmp_path


def test_converts_with_output_end_and_batch(files):
    result = caffe2onnx("net.prototxt", "net.caffemodel", "-o", "net.onnx", "--output", "conv",
                        "--output", "fc", "--batch", "dynamic", cwd=files)
    assert result.returncode == 0, result.stderr
    model = onnx.load(files / "net.onnx")
    assert [o.name for o in model.graph.output] == ["conv", "fc"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    result = caffe2onnx("net.prototxt", "net.caffemodel", "-o", "cut.onnx", "--end", "conv",
                        "--batch", "4", cwd=files)
    assert result.returncode == 0, result.stderr
    model = onnx.load(files / "cut.onnx")
    assert [o.name for o in model.graph.output] == ["conv"]
    assert {n.op_type for n in model.graph.node} == {"Conv"}
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


def test_help_explains_the_naming(files):
    result = caffe2onnx("--help", cwd=files)
    assert result.returncode == 0
    assert "net.blobs" in result.stdout and "forward(end=" in result.stdout


def _corrupt(files: Path, case: str) -> tuple[list[str], str]:
    """Prepares one bad input; returns the CLI arguments and a word the error must contain."""
    proto, weights = files / "net.prototxt", files / "net.caffemodel"
    if case == "malformed prototxt":
        proto.write_text(NET.replace('top: "fc"', 'top: "fc" }}'))
        return [proto, weights], "net.prototxt:7:"
    if case == "unknown field":
        proto.write_text(NET.replace("num_output: 4", "num_outputs: 4"))
        return [proto, weights], "num_outputs"
    if case == "truncated caffemodel":
        weights.write_bytes(weights.read_bytes()[:-37])
        return [proto, weights], "caffemodel"
    if case == "empty caffemodel":
        weights.write_bytes(b"")
        return [proto, weights], "empty"
    if case == "random bytes caffemodel":
        weights.write_bytes(np.random.default_rng(3).bytes(5000))
        return [proto, weights], "caffemodel"
    if case == "missing prototxt":
        return [files / "absent.prototxt", weights], "not found"
    if case == "missing caffemodel":
        return [proto, files / "absent.caffemodel"], "not found"
    if case == "unknown layer":
        proto.write_text(NET + 'layer { name: "odd" type: "Frobnicate" bottom: "fc" top: "o" '
                               'frob_param { level: 3 } }\n')
        return [proto, weights], "Frobnicate"
    if case == "unsupported known type":
        proto.write_text(NET + 'layer { name: "pr" type: "PReLU" bottom: "fc" top: "fc" }\n')
        return [proto, weights], "PReLU"
    if case == "weight shape mismatch":
        write_caffemodel(weights, dict(WEIGHTS, fc=[np.ones((4, 47), np.float32),
                                                    np.zeros(4, np.float32)]))
        return [proto, weights], "(4, 47)"
    if case == "layer missing from caffemodel":
        write_caffemodel(weights, {"conv": WEIGHTS["conv"]})
        return [proto, weights], "layer fc"
    if case == "bottom not produced":
        proto.write_text(NET.replace('bottom: "conv" top: "fc"', 'bottom: "convv" top: "fc"'))
        return [proto, weights], "convv"
    if case == "binary file as prototxt":
        return [weights, weights], "binary"
    if case == "bad batch":
        return [proto, weights, "--batch", "0"], "--batch"
    if case == "bad end":
        return [proto, weights, "--end", "nope"], "nope"
    if case == "bad output":
        return [proto, weights, "--output", "nope"], "nope"
    raise AssertionError(case)


BAD_INPUTS = ["malformed prototxt", "unknown field", "truncated caffemodel", "empty caffemodel",
              "random bytes caffemodel", "missing prototxt", "missing caffemodel",
              "unknown layer", "unsupported known type", "weight shape mismatch",
              "layer missing from caffemodel",
              "bottom not produced", "binary file as prototxt", "bad batch", "bad end",
              "bad output"]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_nonzero_no_traceback_no_output(files, case):
    args, word = _corrupt(files, case)
    before = set(os.listdir(files))
    result = caffe2onnx(*args[:2], "-o", files / "out.onnx", *args[2:], cwd=files)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert word in lines[0], lines[0]
    assert set(os.listdir(files)) == before  # no output, no temporary file


def test_bad_input_does_not_replace_an_existing_output(files):
    (files / "out.onnx").write_bytes(b"previous")
    args, _ = _corrupt(files, "weight shape mismatch")
    assert caffe2onnx(*args, "-o", "out.onnx", cwd=files).returncode == 2
    assert (files / "out.onnx").read_bytes() == b"previous"


def test_written_file_is_the_api_model(files):
    from converters import caffe_to_onnx
    result = caffe2onnx("net.prototxt", "net.caffemodel", "-o", "net.onnx", "--output", "conv",
                        cwd=files)
    assert result.returncode == 0, result.stderr
    expected = caffe_to_onnx(files / "net.prototxt", files / "net.caffemodel", outputs=["conv"])
    assert onnx.load(files / "net.onnx") == expected


def test_output_file_has_the_usual_permissions(files):
    assert caffe2onnx("net.prototxt", "net.caffemodel", "-o", "net.onnx", cwd=files).returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert (files / "net.onnx").stat().st_mode & 0o777 == 0o666 & ~mask
