"""The helpers every part of the project shares, defined once (issue 20 item 3): the relative
error (one argument order), the file hashes, the numeric stack, unique names."""
from __future__ import annotations

import hashlib

import numpy as np

from common.hashing import file_digests, file_sha256
from common.onnx_graph import UniqueNames
from common.numerics import relative_error
from reproduce.run.stack import versions


def test_relative_error_divides_by_the_expected_values_scale():
    expected = np.array([1.0, -4.0, 2.0])
    actual = np.array([1.0, -3.5, 2.25])
    assert relative_error(actual, expected) == 0.5 / 4.0
    assert relative_error(expected, actual) == 0.5 / 3.5  # the order matters: expected second


def test_relative_error_edge_cases():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([0.0, 1e-3]), np.zeros(2)) == 1e-3  # absolute when expected is 0
    assert relative_error(np.zeros(2), np.zeros(3)) == float("inf")
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0


def test_file_hashes_are_hashlibs(tmp_path):
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_digests(path, ("sha1", "sha256")) == {"sha1": hashlib.sha1(data).hexdigest(),
                                                      "sha256": hashlib.sha256(data).hexdigest()}


def test_the_numeric_stack_names_the_libraries_a_runs_bits_depend_on():
    import onnxruntime
    stack = versions()
    assert set(stack) == {"python", "numpy", "onnx", "onnxruntime"}
    assert stack["onnxruntime"] == onnxruntime.__version__ and stack["numpy"] == np.__version__


def test_unique_names_skip_taken_names_and_resume_per_stem():
    """`stem`, then `stem_2`, `stem_3`, ... skipping names taken before or meanwhile, each
    stem counted on its own (the search resumes where the stem's last name ended)."""
    names = UniqueNames({"a", "a_3"})
    assert [names.fresh("a") for _ in range(3)] == ["a_2", "a_4", "a_5"]
    assert names.fresh("b") == "b"
    assert names.fresh("a_6") == "a_6" and names.fresh("a") == "a_7"
