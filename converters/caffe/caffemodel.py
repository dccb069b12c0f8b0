"""Reads the learned blobs of a binary .caffemodel without copying them.

A caffemodel is a serialised NetParameter. Only the layer names and blobs are needed, so
this walks the protobuf wire format directly over the file's bytes: each blob's packed
float array becomes a NumPy view of the file buffer (no Python float per value, no second
copy of 60 M weights). Field numbers are Caffe's (see schema.py):
NetParameter.layer = 100 (V2: name 1, blobs 7) and .layers = 2 (V1: name 4, blobs 6,
or V0 inside field 1: name 1, blobs 50); BlobProto: num/channels/height/width 1-4,
data 5, shape 7 (BlobShape.dim 1), double_data 8.
"""
from __future__ import annotations

import os
import numpy as np

from converters.caffe.files import CaffeError, read_bytes
from converters.caffe.protowire import (FIXED32, FIXED64, LENGTH, VARINT, WireError, fields,
                                        packed_varints)

_LEGACY_DIMS = (1, 2, 3, 4)  # num, channels, height, width


def _blob(buffer: memoryview,
          span: tuple[int, int]) -> tuple[np.ndarray, list[int] | None, list[int]]:
    """One BlobProto: its float32 values, its BlobShape dims (None if absent) and its
    legacy num/channels/height/width."""
    legacy = [0, 0, 0, 0]
    shape: list[int] | None = None
    chunks: list[np.ndarray] = []
    for number, wire_type, value in fields(buffer, *span):
        if number in _LEGACY_DIMS and wire_type == VARINT:
            legacy[number - 1] = value
        elif number == 7 and wire_type == LENGTH:
            shape = []
            for dim_number, dim_type, dim in fields(buffer, *value):
                if dim_number == 1:
                    shape += packed_varints(buffer, dim) if dim_type == LENGTH else [dim]
        elif number in (5, 8) and wire_type in (LENGTH, FIXED32, FIXED64):
            dtype = "<f4" if number == 5 else "<f8"
            chunk = np.frombuffer(buffer[value[0]:value[1]], dtype=dtype)
            chunks.append(chunk if number == 5 else chunk.astype(np.float32))
    values = (chunks[0] if len(chunks) == 1 else
              np.concatenate(chunks) if chunks else np.zeros(0, np.float32))
    return values, shape, legacy


def _layer(buffer: memoryview, span: tuple[int, int], name_field: int,
           blob_field: int) -> tuple[str, list[tuple[np.ndarray, list[int] | None, list[int]]]]:
    name, blobs = "", []
    for number, wire_type, value in fields(buffer, *span):
        if wire_type != LENGTH:
            continue
        if number == name_field:
            name = bytes(buffer[value[0]:value[1]]).decode("utf-8", "replace")
        elif number == blob_field:
            blobs.append(_blob(buffer, value))
        elif number == 1 and name_field == 4:  # V1 entry wrapping a V0 layer
            v0_name, v0_blobs = _layer(buffer, value, 1, 50)
            name, blobs = name or v0_name, blobs or v0_blobs
    return name, blobs


def read_caffemodel(path: str | os.PathLike) -> dict[str, tuple[list[np.ndarray], bool]]:
    """Layer name → (its blobs as float32 arrays shaped as stored, legacy dims?), for every
    layer of a caffemodel in any generation (V2 `layer`, V1 `layers`, V0 `layers { layer }`)."""
    return parse_caffemodel(read_bytes(path, "caffemodel"), path)


def parse_caffemodel(data: bytes, source: str | os.PathLike = "<caffemodel>",
                     ) -> dict[str, tuple[list[np.ndarray], bool]]:
    """read_caffemodel on bytes already in memory; the arrays are views into `data`."""
    if not data:
        raise CaffeError(f"{source}: caffemodel file is empty")
    buffer = memoryview(data)
    weights: dict[str, tuple[list[np.ndarray], bool]] = {}
    try:
        for number, wire_type, value in fields(buffer, 0, len(buffer)):
            if wire_type == LENGTH and number in (100, 2):
                name, blobs = _layer(buffer, value, *((1, 7) if number == 100 else (4, 6)))
                weights[name] = _shaped(source, name, blobs)
    except WireError as error:
        raise CaffeError(f"{source}: not a Caffe binary caffemodel ({error}: truncated or not "
                         "a caffemodel)") from None
    if not weights:
        raise CaffeError(f"{source}: not a Caffe binary caffemodel (no layers found)")
    return weights


def _shaped(path, layer: str, blobs) -> tuple[list[np.ndarray], bool]:
    arrays, any_legacy = [], False
    for index, (values, shape, legacy) in enumerate(blobs):
        dims = tuple(legacy) if shape is None else tuple(shape)
        any_legacy |= shape is None
        expected = int(np.prod(dims, dtype=np.int64))
        if values.size != expected:
            raise CaffeError(f"{path}: layer {layer} blob {index} holds {values.size} values "
                             f"but its shape {dims} needs {expected} (truncated or corrupt file)")
        arrays.append(values.reshape(dims))
    return arrays, any_legacy
