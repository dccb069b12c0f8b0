"""Reads the learned blobs of a binary .caffemodel without copying them.

A caffemodel is a serialised NetParameter. Only the layer names and blobs are needed, so
this walks the protobuf wire format directly over the file's bytes: each blob's packed
float array becomes a NumPy view of the file buffer (no Python float per value, no second
copy of 60 M weights). Field numbers are Caffe's (see schema.py):
NetParameter.layer = 100 (V2: name 1, blobs 7) and .layers = 2 (V1: name 4, blobs 6,
or V0 inside field 1: name 1, blobs 50); BlobProto: num/channels/height/width 1-4 (int32),
data 5 (packed float), diff 6, shape 7 (BlobShape.dim 1, packed int64), double_data 8,
double_diff 9.

Total: any byte string gives the layers' blobs or one CaffeError line naming the file and,
where known, the layer and blob. Every declared length is checked against the bytes left
before anything is sliced, and no array is sized from a declared shape, so nothing larger
than the file is allocated. As protobuf does, repeated floats/doubles are read packed or
unpacked (mixed, in file order), a field with an unexpected wire type is skipped as unknown,
a repeated BlobShape is merged (dims appended) and a repeated scalar keeps its last value.
As Caffe's Blob::FromProto does, a blob with any of num/channels/height/width set has the
4-D legacy shape (unset ones 0), otherwise its BlobShape's dims (none: a scalar, 1 value);
double_data, when present, is the data (data is then ignored); the value count, and a
present diff's count, must equal the shape's count; a negative dim, more than 32 axes or
more than INT_MAX values are refused (Blob::Reshape). Unlike Caffe, which checks a blob only
when the prototxt has its layer, every blob is checked here, and a BlobShape dim beyond
int32 (which Caffe silently truncates to int) is refused. The fields besides the blobs
(names, *_param messages) are parsed by protobuf itself, as Caffe parses the whole file, so
what Caffe's parser refuses is refused too.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from google.protobuf.message import DecodeError

from converters.caffe import schema
from converters.caffe.files import CaffeError, mapped_bytes
from converters.caffe.protowire import (FIXED32, FIXED64, LENGTH, VARINT, WireError, fields,
                                        packed_varints, read_field)

_LEGACY_DIMS = (1, 2, 3, 4)  # num, channels, height, width
_DATA, _DIFF, _SHAPE, _DOUBLE_DATA, _DOUBLE_DIFF = 5, 6, 7, 8, 9
_FLOAT_FIELDS = {_DATA: "<f4", _DIFF: "<f4", _DOUBLE_DATA: "<f8", _DOUBLE_DIFF: "<f8"}
_FIELD_NAMES = {_DATA: "data", _DIFF: "diff", _DOUBLE_DATA: "double_data",
                _DOUBLE_DIFF: "double_diff"}
MAX_BLOB_AXES = 32  # Caffe's kMaxBlobAxes
INT_MAX = 2**31 - 1  # Caffe's blob count limit (Blob::Reshape: "blob size exceeds INT_MAX")


class _BlobError(Exception):
    """A problem inside one blob; the caller adds the file, layer and blob to the message."""


@dataclass
class DecodedBlob:
    """One BlobProto as protobuf parses it (wire level): the value count and number of
    chunks (packed fields and runs of unpacked ones) of each repeated float field, the
    first chunk of each, the merged BlobShape dims and the legacy dims that were set."""
    span: tuple[int, int]
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(_FLOAT_FIELDS, 0))
    chunks: dict[int, int] = field(default_factory=lambda: dict.fromkeys(_FLOAT_FIELDS, 0))
    first: dict[int, np.ndarray] = field(default_factory=dict)
    dims: list[int] = field(default_factory=list)
    legacy: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    has_legacy: bool = False


def _signed(value: int, bits: int) -> int:
    """protobuf's int32/int64 reading of a varint: the low `bits` bits, two's complement."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _unpacked_run(buffer: memoryview, key_at: int, value_at: int, end: int,
                  dtype: str) -> tuple[np.ndarray, int]:
    """The values of consecutive unpacked fields with the same key bytes as the one at
    `key_at` (one NumPy pass instead of a Python loop per value; a view, strided over the
    keys), and the position after them."""
    key = bytes(buffer[key_at:value_at])
    record = len(key) + np.dtype(dtype).itemsize
    rows = np.frombuffer(buffer, np.uint8, count=(end - key_at) // record * record,
                         offset=key_at).reshape(-1, record)
    same_key = (rows[:, :len(key)] == np.frombuffer(key, np.uint8)).all(axis=1)
    run = len(same_key) if same_key.all() else int(np.argmin(same_key))
    values = rows[:run, len(key):].view(dtype)[:, 0]
    return values, key_at + run * record


def _shape_dims(buffer: memoryview, span: tuple[int, int], dims: list[int]) -> None:
    """Appends a BlobShape's dims (packed or not; int64) to `dims`."""
    for number, wire_type, value in fields(buffer, *span):
        if number != 1 or wire_type not in (VARINT, LENGTH):
            continue
        if wire_type == VARINT:
            dims.append(_signed(value, 64))
        else:
            dims += [_signed(dim, 64) for dim in
                     packed_varints(buffer, value, MAX_BLOB_AXES + 1 - len(dims))]
        if len(dims) > MAX_BLOB_AXES:
            raise _BlobError(f"its shape has more than {MAX_BLOB_AXES} axes (Caffe's limit)")


def _float_chunks(buffer: memoryview, span: tuple[int, int],
                  ) -> Iterator[tuple[int, int, object, np.ndarray | None]]:
    """(field number, wire type, value, chunk) of each field of a BlobProto, in file order;
    `chunk` is the values view of a packed repeated float/double field or of a run of
    unpacked ones (else None)."""
    position, end = span
    while position < end:
        key_at = position
        number, wire_type, value, position = read_field(buffer, position, end)
        if number in _FLOAT_FIELDS:
            dtype = _FLOAT_FIELDS[number]
            width = np.dtype(dtype).itemsize
            if wire_type == LENGTH:
                length = value[1] - value[0]
                if length % width:
                    raise _BlobError(f"its packed {_FIELD_NAMES[number]} field has {length} "
                                     f"bytes, not a whole number of {width}-byte values")
                if length:
                    yield number, wire_type, value, np.frombuffer(
                        buffer, dtype, count=length // width, offset=value[0])
                continue
            if wire_type == (FIXED32 if width == 4 else FIXED64):
                values, position = _unpacked_run(buffer, key_at, value[0], end, dtype)
                yield number, wire_type, value, values
                continue
        yield number, wire_type, value, None


def decode_blob(buffer: memoryview, span: tuple[int, int]) -> DecodedBlob:
    """One BlobProto's fields, as protobuf would parse them (wire level only)."""
    blob = DecodedBlob(span)
    for number, wire_type, value, chunk in _float_chunks(buffer, span):
        if chunk is not None:
            blob.counts[number] += chunk.size
            blob.chunks[number] += 1
            blob.first.setdefault(number, chunk)
        elif number in _LEGACY_DIMS and wire_type == VARINT:
            blob.legacy[number - 1], blob.has_legacy = _signed(value, 32), True
        elif number == _SHAPE and wire_type == LENGTH:
            _shape_dims(buffer, value, blob.dims)
    return blob


def _values(buffer: memoryview, blob: DecodedBlob, number: int) -> np.ndarray:
    """The field's values as one float32 array: a view of the file for one packed float
    chunk, else one array of exactly the values' size (gathered in a second pass)."""
    if blob.chunks[number] == 1 and blob.first[number].flags.c_contiguous:
        values = blob.first[number]
    else:
        values = np.empty(blob.counts[number], _FLOAT_FIELDS[number])
        filled = 0
        for chunk_number, _, _, chunk in _float_chunks(buffer, blob.span):
            if chunk_number == number and chunk is not None:
                values[filled:filled + chunk.size] = chunk
                filled += chunk.size
    with np.errstate(over="ignore"):  # a double beyond float32 becomes ±inf, as in C++
        return values.astype(np.float32, copy=False)


def blob_array(buffer: memoryview, blob: DecodedBlob) -> np.ndarray:
    """The blob as Caffe's Blob::FromProto makes it: float32, shaped (legacy 4-D dims when
    any is set, else the BlobShape), values from double_data when present, else data."""
    shape = tuple(blob.legacy) if blob.has_legacy else tuple(blob.dims)
    count = 1
    for dim in shape:
        if dim < 0:
            raise _BlobError(f"its shape {shape} has a negative dimension")
        if dim > INT_MAX:
            raise _BlobError(f"its shape {shape} has a dimension beyond INT_MAX (Caffe reads "
                             "dims as int)")
        if count and dim > INT_MAX // count:
            raise _BlobError(f"its shape {shape} holds more than INT_MAX values (Caffe's limit)")
        count *= dim
    source = _DOUBLE_DATA if blob.counts[_DOUBLE_DATA] else _DATA
    if blob.counts[source] != count:
        raise _BlobError(f"holds {blob.counts[source]} {_FIELD_NAMES[source]} values but its "
                         f"shape {shape} needs {count} (truncated or corrupt file)")
    diff = _DOUBLE_DIFF if blob.counts[_DOUBLE_DIFF] else _DIFF
    if blob.counts[diff] not in (0, count):
        raise _BlobError(f"holds {blob.counts[diff]} {_FIELD_NAMES[diff]} values but its shape "
                         f"{shape} needs {count}")
    return _values(buffer, blob, source).reshape(shape)


@dataclass(slots=True)
class _LayerEntry:
    name: str = ""
    blob_spans: list[tuple[int, int]] = field(default_factory=list)
    v0: _LayerEntry | None = None  # a V1 `layers` entry's V0 `layer`


class _ParamError(Exception):
    """Fields besides the blobs that protobuf's parser refuses (Caffe's load fails)."""


def _check_params(buffer: memoryview, spans: list[tuple[int, int]], message) -> None:
    """Parses the raw fields at `spans` (every field but the blobs) as `message`, as Caffe's
    ReadProtoFromBinaryFile parses the whole file: a malformed *_param is refused."""
    if not spans:
        return
    try:
        message.FromString(b"".join(bytes(buffer[start:stop]) for start, stop in spans))
    except DecodeError as error:
        raise _ParamError(f"its fields besides the blobs are not a valid "
                          f"{message.DESCRIPTOR.name} ({error})") from None


def _layer_entry(buffer: memoryview, span: tuple[int, int], name_field: int, blob_field: int,
                 v0_field: int | None, message) -> _LayerEntry:
    entry, other_fields = _LayerEntry(), []
    position, end = span
    while position < end:
        field_at = position
        number, wire_type, value, position = read_field(buffer, position, end)
        if wire_type == LENGTH and number == blob_field:
            entry.blob_spans.append(value)
            continue
        if wire_type == LENGTH and number == v0_field:  # merged, as protobuf merges it
            inner = _layer_entry(buffer, value, 1, 50, None, schema.V0LayerParameter)
            entry.v0 = entry.v0 or _LayerEntry()
            entry.v0.name = inner.name or entry.v0.name
            entry.v0.blob_spans += inner.blob_spans
            continue
        if wire_type == LENGTH and number == name_field:
            entry.name = bytes(buffer[value[0]:value[1]]).decode("utf-8", "replace")
        other_fields.append((field_at, position))
    try:
        _check_params(buffer, other_fields, message)
    except _ParamError as error:
        raise CaffeError(f"layer {entry.name!r}: {error}") from None
    return entry


def _entries(buffer: memoryview, source: str | os.PathLike) -> list[_LayerEntry]:
    """The layer entries in file order, after Caffe's UpgradeNetAsNeeded: a file with any
    V0 `layers { layer {...} }` takes every entry's name and blobs from its V0 layer."""
    v2, v1, other_fields = [], [], []
    position, end = 0, len(buffer)
    try:
        while position < end:
            field_at = position
            number, wire_type, value, position = read_field(buffer, position, end)
            if wire_type == LENGTH and number == 100:
                v2.append(_layer_entry(buffer, value, 1, 7, None, schema.LayerParameter))
            elif wire_type == LENGTH and number == 2:
                v1.append(_layer_entry(buffer, value, 4, 6, 1, schema.V1LayerParameter))
            else:
                other_fields.append((field_at, position))
        _check_params(buffer, other_fields, schema.NetParameter)
    except WireError as error:
        raise CaffeError(f"{source}: not a Caffe binary caffemodel ({error}: truncated or not "
                         "a caffemodel)") from None
    except (CaffeError, _ParamError) as error:
        raise CaffeError(f"{source}: {error}") from None
    if v2 and v1:
        raise CaffeError(f"{source}: the caffemodel has both 'layer' and 'layers' entries "
                         "(Caffe refuses to upgrade such a NetParameter)")
    if any(entry.v0 is not None for entry in v1):
        return [entry.v0 or _LayerEntry() for entry in v1]
    return v2 or v1


def read_caffemodel(path: str | os.PathLike) -> dict[str, tuple[list[np.ndarray], bool]]:
    """Layer name → (its blobs as float32 arrays shaped as stored, legacy dims?), for every
    layer of a caffemodel in any generation (V2 `layer`, V1 `layers`, V0 `layers { layer }`)."""
    return parse_caffemodel(mapped_bytes(path, "caffemodel"), path)


def parse_caffemodel(data: bytes, source: str | os.PathLike = "<caffemodel>",
                     ) -> dict[str, tuple[list[np.ndarray], bool]]:
    """read_caffemodel on bytes already in memory; packed arrays are views into `data`.
    A layer name given twice keeps its last entry (Caffe copies both, the last wins)."""
    if not data:
        raise CaffeError(f"{source}: caffemodel file is empty")
    buffer = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    weights: dict[str, tuple[list[np.ndarray], bool]] = {}
    for entry in _entries(buffer, source):
        arrays, any_legacy = [], False
        for index, span in enumerate(entry.blob_spans):
            try:
                blob = decode_blob(buffer, span)
                arrays.append(blob_array(buffer, blob))
            except WireError as error:
                raise CaffeError(f"{source}: layer {entry.name!r} blob {index}: malformed "
                                 f"({error}: truncated or corrupt file)") from None
            except _BlobError as error:
                raise CaffeError(f"{source}: layer {entry.name!r} blob {index}: {error}") from None
            any_legacy |= blob.has_legacy
        weights[entry.name] = arrays, any_legacy
    if not weights:
        raise CaffeError(f"{source}: not a Caffe binary caffemodel (no layers found)")
    return weights
