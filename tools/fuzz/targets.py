"""The fuzz targets: for each, how a case's file is made from the seeds, and which of the
project's real readers reads it (in-process, as the CLIs call them)."""
from __future__ import annotations

import io
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.fuzz.mutate import choice, mutate_bytes, mutate_text
from tools.fuzz.seeds import CODE_SIZE, IMAGE_SIZE, MEAN_SIZE, Seeds, mat_file, npy_bytes

MAX_WEIGHT_VALUES = 1_000_000  # a mutated prototxt's weights beyond this are not materialised


class WeightsTooLarge(Exception):
    """A mutated net accepted up to its weights, whose size the harness will not allocate."""


@dataclass(frozen=True)
class Target:
    name: str
    make: Callable[[Seeds, np.random.Generator], tuple[bytes, str]]  # (file bytes, suffix)
    read: Callable[[Seeds, Path], None]


def _zero_weights(layer, shapes, roles) -> list[np.ndarray]:
    if sum(int(np.prod(shape, dtype=object)) for shape in shapes) > MAX_WEIGHT_VALUES:
        raise WeightsTooLarge(layer.name)
    return [np.zeros(shape, np.float32) for shape in shapes]


def make_prototxt(seeds: Seeds, rng: np.random.Generator) -> tuple[bytes, str]:
    return mutate_text(choice(rng, seeds.prototxts), rng), ".prototxt"


def read_prototxt(seeds: Seeds, path: Path) -> None:
    """The converter on the prototxt alone (zero weights of the implied shapes)."""
    from converters.caffe.to_onnx import caffe_to_onnx
    from converters.caffe.weights import fill_missing_blobs
    with fill_missing_blobs(_zero_weights):
        caffe_to_onnx(path, None)


def make_caffemodel(seeds: Seeds, rng: np.random.Generator) -> tuple[bytes, str]:
    return mutate_bytes(choice(rng, seeds.caffemodels), rng), ".caffemodel"


def read_caffemodel(seeds: Seeds, path: Path) -> None:
    """The decoder, then (when it decodes) the full conversion with the seed prototxt."""
    from converters.caffe.caffemodel import parse_caffemodel
    from converters.caffe.to_onnx import caffe_to_onnx
    parse_caffemodel(path.read_bytes(), path)
    caffe_to_onnx(seeds.classifier_prototxt, path)


_BOUND_TOKENS = (b"nan", b"NaN", b"inf", b"-inf", b"-1", b"-0.0", b"0", b"abc", b"1e400",
                 b"0x10", b"1_0", b"1,5", b"--1", b"1e", b".", b"+3", b"\x00", b"\xc3\xa9")


def make_bound(seeds: Seeds, rng: np.random.Generator) -> tuple[bytes, str]:
    """Counts off by some, NaN/text/negative tokens, extra or blank lines, other separators."""
    tokens = seeds.bound.split()
    for _ in range(int(rng.integers(1, 4))):
        operation = int(rng.integers(8))
        at = int(rng.integers(len(tokens) + 1))
        if operation == 0:
            tokens[at % len(tokens)] = choice(rng, _BOUND_TOKENS)
        elif operation == 1 and tokens:
            del tokens[at % len(tokens)]
        elif operation == 2:
            tokens.insert(at, tokens[at % len(tokens)])
        elif operation == 3:
            tokens.insert(at, b"\n")
    separator = choice(rng, (b" ", b" ", b"  ", b"\t", b","))
    text = separator.join(tokens) + choice(rng, (b"\n", b"", b"\r\n", b"\n\n", b"\n \n"))
    if rng.random() < 0.1:
        text = text + text  # two lines
    if rng.random() < 0.05:
        text = b"\xef\xbb\xbf" + text
    if rng.random() < 0.25:
        text = mutate_bytes(text, rng)
    return text, ".txt"


def read_bound(seeds: Seeds, path: Path) -> None:
    from reproduce.inputs.bounds import load_bounds
    load_bounds(path, CODE_SIZE)


_DTYPES = ("<f4", "<f8", ">f4", "<f2", "<i8", "<u1", "?", "<c8", "<U4", "S3", "O",
           [("a", "<f4")], "<M8[s]", "<m8[s]")


def random_array(rng: np.random.Generator, base_shape: tuple[int, ...]) -> np.ndarray:
    """An array near a valid one: its shape permuted, cut or grown, another dtype, NaN/inf
    or huge values."""
    shapes = (base_shape, base_shape[::-1], (int(np.prod(base_shape)),), (0,), (),
              (2, *base_shape), tuple(max(0, d - 1) for d in base_shape),
              tuple(d + 1 for d in base_shape), (*base_shape, 1))
    shape = choice(rng, shapes)
    values = rng.standard_normal(shape) * 50
    special = choice(rng, (None, None, np.nan, np.inf, -np.inf, 1e39, -1e300))
    if special is not None and values.size:
        values.flat[int(rng.integers(values.size))] = special
    dtype = choice(rng, _DTYPES)
    if dtype == "O":
        return np.array(values.tolist() if values.ndim else float(values), dtype=object)
    with np.errstate(all="ignore"):
        try:
            return values.astype(dtype)
        except (TypeError, ValueError):
            return np.zeros(shape, dtype)


def _array_file(rng: np.random.Generator, seeds: tuple[bytes, ...],
                base_shape: tuple[int, ...]) -> bytes:
    """A mutated .npy: an array variant, bytes mutated (header or data), an .npz, a pickle."""
    kind = int(rng.integers(10))
    if kind < 4:
        return npy_bytes(random_array(rng, base_shape), allow_pickle=True)
    if kind < 8:
        return mutate_bytes(choice(rng, seeds), rng)
    if kind == 8:
        stream = io.BytesIO()
        np.savez(stream, code=random_array(rng, base_shape))
        return stream.getvalue()
    return pickle.dumps(random_array(rng, base_shape))


def make_init_code(seeds: Seeds, rng: np.random.Generator) -> tuple[bytes, str]:
    return _array_file(rng, seeds.codes, (1, CODE_SIZE)), ".npy"


def read_init_code(seeds: Seeds, path: Path) -> None:
    from reproduce.inputs.start_code import load_code_file
    load_code_file(path, CODE_SIZE)


def _png_with_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR width/height replaced (CRC recomputed, so only the size lies)."""
    ihdr = bytearray(png[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]


def _bmp_with_size(bmp: bytes, width: int, height: int) -> bytes:
    return bmp[:18] + struct.pack("<ii", width, height) + bmp[26:]


_ODD_SIZES = (0, 1, 2, 65535, 65536, 100000, 2**31 - 1, 2**32 - 1)


def make_image(seeds: Seeds, rng: np.random.Generator) -> tuple[bytes, str]:
    """Truncated, flipped or padded image files; PNG/BMP headers declaring zero or huge sizes."""
    kind = int(rng.integers(6))
    if kind == 0:
        width, height = choice(rng, _ODD_SIZES), choice(rng, _ODD_SIZES)
        return _png_with_size(seeds.images[0], width, height), ".png"
    if kind == 1:
        width, height = choice(rng, _ODD_SIZES), choice(rng, _ODD_SIZES)
        height = -(height % 2**31) if rng.random() < 0.3 else height % 2**31  # < 0: top-down
        return _bmp_with_size(seeds.images[2], width % 2**31, height), ".bmp"
    return mutate_bytes(choice(rng, seeds.images), rng), ".img"


def read_image(seeds: Seeds, path: Path) -> None:
    from reproduce.run.encoder import preprocess
    preprocess(path, seeds.mean_hwc, IMAGE_SIZE)


def make_mean(seeds: Seeds, rng: np.random.Generator) -> tuple[bytes, str]:
    if rng.random() < 0.25:  # a .mat: mutated bytes, or another variable name
        if rng.random() < 0.2:
            array = random_array(rng, (*MEAN_SIZE, 3))
            if array.dtype.kind not in "fiucb":
                array = np.zeros((2, 2))
            return mat_file({choice(rng, ("image_mean", "image_mean", "x")): array}), ".mat"
        return mutate_bytes(seeds.means[2], rng), ".mat"
    return _array_file(rng, seeds.means[:2], (*MEAN_SIZE, 3)), ".npy"


def read_mean(seeds: Seeds, path: Path) -> None:
    from reproduce.run.encoder import load_mean_image, preprocess
    preprocess(seeds.image_path, load_mean_image(path), IMAGE_SIZE)


TARGETS = (Target("prototxt", make_prototxt, read_prototxt),
           Target("caffemodel", make_caffemodel, read_caffemodel),
           Target("bound", make_bound, read_bound),
           Target("init_code", make_init_code, read_init_code),
           Target("init_file", make_image, read_image),
           Target("mean_file", make_mean, read_mean))
TARGET_NAMES = tuple(target.name for target in TARGETS)
