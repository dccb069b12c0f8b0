"""The driver's input readers refuse bad files with one line (the crashes the fuzz harness
found, pinned): .npy headers checked before np.load allocates, the .mat mean read by a
checked parser (scipy's can segfault), images without pixels or past PIL's bomb limit, bound
and code values that would make a run meaningless."""
from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from common.errors import UserError
from reproduce.inputs.bounds import load_bounds
from reproduce.inputs.mat_file import read_mat_variable
from reproduce.inputs.npy_file import read_npy
from reproduce.inputs.start_code import load_code_file
from reproduce.run.encoder import load_mean_image, preprocess


def _npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


@pytest.mark.parametrize("content, wording", [
    (_npy_bytes(np.zeros(4, np.float32)).replace(b"(4,)", b"(9999999999,)"),
     "declares (9999999999,) float32 (39999999996 bytes), the file holds"),
    (_npy_bytes(np.zeros(4, np.float32))[:-3], "the file holds 13 bytes"),
    (_npy_bytes(np.zeros(4, np.float32))[:20], "not a readable .npy array"),
    (b"PK\x03\x04 an npz", "not a readable .npy array"),
    (_npy_bytes(np.zeros(2)).replace(b"'descr': '<f8'", b"'descr': '|O'  "), "needs pickle"),
    (_npy_bytes(np.zeros(2)).replace(b"False", b"Fa(se"), "not a readable .npy array"),
])
def test_a_malformed_npy_is_one_line_before_any_allocation(tmp_path, content, wording):
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    tracemalloc.start()
    with pytest.raises(UserError) as error:
        read_npy(path, "--init_code")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20 and wording in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith(f"--init_code {path}: ")


@pytest.mark.parametrize("array, wording", [
    (np.array([[1.0, np.nan, 0, 0]]), "not finite"), (np.array([1e39, 0, 0, 0]), "not finite"),
    (np.ones(4, np.complex64), "complex64 values"), (np.ones(4, bool), "bool values"),
    (np.ones(4, "m8[s]"), "timedelta64"), (np.ones(5), "holds 5 float64 values"),
])
def test_a_start_code_that_is_not_k_finite_real_numbers_is_refused(tmp_path, array, wording):
    np.save(tmp_path / "c.npy", array)
    with pytest.raises(UserError, match=wording):
        load_code_file(tmp_path / "c.npy", 4)
    np.save(tmp_path / "c.npy", np.arange(4, dtype=np.int16).reshape(2, 2))
    np.testing.assert_array_equal(load_code_file(tmp_path / "c.npy", 4), [[0, 1, 2, 3]])


@pytest.mark.parametrize("text, wording", [("1 nan 3", "number 2 is nan"),
                                           ("1 2 -0.5", "number 3 is -0.5")])
def test_a_nan_or_negative_upper_bound_is_refused(tmp_path, text, wording):
    (tmp_path / "b.txt").write_text(text)
    with pytest.raises(UserError, match=wording):
        load_bounds(tmp_path / "b.txt", 3)
    (tmp_path / "b.txt").write_text("1 inf -0.0")  # no bound and zero are bounds
    assert load_bounds(tmp_path / "b.txt", 3)[1].tolist() == [[1, np.inf, 0]]


@pytest.mark.parametrize("array", [
    np.arange(5 * 4 * 3, dtype=np.float64).reshape(5, 4, 3) - 7.5,
    np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3),
    np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3),
    np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.ones((1, 1)), np.zeros((0, 3))])
@pytest.mark.parametrize("compress", [False, True])
def test_the_mat_reader_gives_what_scipy_loadmat_gives(tmp_path, array, compress):
    path = tmp_path / "m.mat"
    savemat(path, {"other": np.ones((2, 2)), "image_mean": array, "text": "abc",
                   "cell": np.array([[1, 2]], dtype=object)}, do_compression=compress)
    from scipy.io import loadmat
    expected = loadmat(path)["image_mean"]
    found = read_mat_variable(path, "image_mean", "--mean_file")
    assert found.dtype == expected.dtype and found.shape == expected.shape
    np.testing.assert_array_equal(found, expected)


def test_corrupt_mat_files_are_one_line_never_a_crash(tmp_path):
    path = tmp_path / "m.mat"
    savemat(path, {"image_mean": np.ones((4, 4, 3))})
    data = path.read_bytes()
    corrupt = [data[:100], data[:-8], data[:200] + bytes([127]) + data[201:],  # scipy segfaults
               data[:132] + struct.pack("<I", 2**31) + data[136:], b"\x00" * 200]
    compressed = io.BytesIO()
    savemat(compressed, {"image_mean": np.ones((4, 4, 3))}, do_compression=True)
    packed = compressed.getvalue()
    corrupt += [packed[:140] + b"\xff" * 8 + packed[148:],
                packed[:128] + struct.pack("<II", 15, 12) + zlib.compress(b"\x00" * (1 << 20))[:12]]
    rng = np.random.default_rng(0)
    for _ in range(300):
        mutated = bytearray(data if rng.random() < 0.5 else packed)
        for _ in range(int(rng.integers(1, 4))):
            mutated[int(rng.integers(len(mutated)))] = int(rng.integers(256))
        corrupt.append(bytes(mutated))
    for content in corrupt:
        path.write_bytes(content)
        try:
            read_mat_variable(path, "image_mean", "--mean_file")
        except UserError as error:
            assert str(error).startswith(f"--mean_file {path}: ") and "\n" not in str(error)


def test_the_mean_must_be_finite_real_numbers(tmp_path):
    mean = np.ones((8, 8, 3), np.float64)
    mean[2, 3, 1] = np.nan
    np.save(tmp_path / "m.npy", mean)
    with pytest.raises(UserError, match="not finite as float32"):
        load_mean_image(tmp_path / "m.npy")
    np.save(tmp_path / "m.npy", np.ones((8, 8, 3), np.complex128))
    with pytest.raises(UserError, match="complex128 values, not real numbers"):
        load_mean_image(tmp_path / "m.npy")


def _png_with_size(width: int, height: int) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", (4, 4)).save(stream, "PNG")
    png = stream.getvalue()
    ihdr = png[12:16] + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


@pytest.mark.parametrize("content, wording", [
    (_png_with_size(0, 4), "not a readable image"),
    (_png_with_size(12000, 12000), "decompression bomb"),  # PIL only warns: refused here
    (_png_with_size(2**31 - 1, 2**31 - 1), "decompression bomb"),
    (b"P6\n1\x9a\xf1 2\n255\n", "not a readable image"),  # PIL's ValueError from int()
    (_png_with_size(4, 4)[:40], "not a readable image"),
])
def test_an_image_without_pixels_past_the_bomb_limit_or_corrupt_is_one_line(tmp_path, content,
                                                                              wording):
    (tmp_path / "x.img").write_bytes(content)
    with pytest.raises(UserError) as error:
        preprocess(tmp_path / "x.img", np.zeros((8, 8, 3), np.float32), (4, 4))
    assert wording in str(error.value) and "\n" not in str(error.value)
