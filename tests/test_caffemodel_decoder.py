"""The caffemodel decoder is total and reads blobs as Caffe's protobuf and Blob::FromProto do
(issue 11 item 2): every byte string gives blobs or one CaffeError line; no allocation
larger than the file; packed and unpacked float fields, double_data, data length against
the shape, lengths past the end of the file or of their parent message."""
from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings, strategies as st

from converters.caffe import schema
from converters.caffe.caffemodel import INT_MAX, parse_caffemodel
from converters.caffe.files import CaffeError
from converters.caffe.protowire import encode_varint
from converters.caffe.writer import write_caffemodel

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MASK64 = 2**64 - 1


def key(number: int, wire_type: int) -> bytes:
    return encode_varint(number << 3 | wire_type)


def length_field(number: int, payload: bytes) -> bytes:
    return key(number, LENGTH) + encode_varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return key(number, VARINT) + encode_varint(value & MASK64)


def packed(number: int, values, fmt: str) -> bytes:
    return length_field(number, b"".join(struct.pack(fmt, v) for v in values))


def unpacked(number: int, values, fmt: str) -> bytes:
    wire = FIXED32 if fmt == "<f" else FIXED64
    return b"".join(key(number, wire) + struct.pack(fmt, v) for v in values)


def shape(*dims: int, packed_dims: bool = True) -> bytes:
    if packed_dims:
        return length_field(7, length_field(1, b"".join(encode_varint(d & MASK64) for d in dims)))
    return length_field(7, b"".join(varint_field(1, d) for d in dims))


def legacy(num=None, channels=None, height=None, width=None) -> bytes:
    return b"".join(varint_field(n, v) for n, v in
                    zip((1, 2, 3, 4), (num, channels, height, width)) if v is not None)


def v2_layer(name: str, *blobs: bytes) -> bytes:
    return length_field(100, length_field(1, name.encode()) +
                        b"".join(length_field(7, blob) for blob in blobs))


def v1_layer(name: str, *blobs: bytes) -> bytes:
    return length_field(2, length_field(4, name.encode()) +
                        b"".join(length_field(6, blob) for blob in blobs))


def caffe_blob(blob: schema.BlobProto) -> np.ndarray:
    """Caffe's Blob::FromProto on a protobuf-parsed BlobProto (the test's oracle)."""
    if any(blob.HasField(name) for name in ("num", "channels", "height", "width")):
        dims = (blob.num, blob.channels, blob.height, blob.width)
    else:
        dims = tuple(blob.shape.dim)
    if (len(dims) > 32 or any(not 0 <= d <= INT_MAX for d in dims)  # refused, not truncated
            or np.prod(dims, dtype=object) > INT_MAX):
        raise CaffeError("bad shape")
    data = blob.double_data if len(blob.double_data) else blob.data
    diff = blob.double_diff if len(blob.double_diff) else blob.diff
    count = int(np.prod(dims, dtype=object))
    if len(data) != count or len(diff) not in (0, count):
        raise CaffeError("count")
    with np.errstate(over="ignore"):
        return np.array(data, dtype=np.float64).astype(np.float32).reshape(dims)


def caffe_weights(data: bytes) -> dict[str, list[np.ndarray]]:
    """protobuf's parse of a V2 NetParameter, then Caffe's FromProto per blob."""
    try:
        net = schema.NetParameter.FromString(data)
    except DecodeError:
        raise CaffeError("protobuf refuses it") from None
    return {layer.name: [caffe_blob(blob) for blob in layer.blobs] for layer in net.layer}


def assert_same_weights(ours, expected) -> None:
    assert list(ours) == list(expected)
    for name, arrays in expected.items():
        assert len(ours[name][0]) == len(arrays)
        for mine, theirs in zip(ours[name][0], arrays):
            assert mine.dtype == np.float32 and mine.shape == theirs.shape
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("layout", ["v2", "v1", "v0"])
def test_writer_files_read_back_in_every_layout(tmp_path, layout):
    rng = np.random.default_rng(0)
    weights = {"conv": [rng.standard_normal((4, 3, 2, 2)).astype(np.float32),
                        rng.standard_normal(4).astype(np.float32)],
               "fc": [rng.standard_normal((5, 16)).astype(np.float32)]}
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, weights, layout=layout,
                     layer_types={"conv": "Convolution", "fc": "InnerProduct"})
    decoded = parse_caffemodel(path.read_bytes())
    for name, arrays in weights.items():
        blobs, is_legacy = decoded[name]
        assert is_legacy == (layout != "v2")
        for blob, array in zip(blobs, arrays):
            np.testing.assert_array_equal(blob.reshape(array.shape), array)
            assert blob.shape == (array.shape if layout == "v2"
                                  else (1,) * (4 - array.ndim) + array.shape)


def test_packed_and_unpacked_floats_are_read_in_file_order_as_protobuf_does():
    values = np.arange(10, dtype=np.float32) - 3.5
    blob = (shape(2, 5) + unpacked(5, values[:3], "<f") + packed(5, values[3:6], "<f") +
            unpacked(5, values[6:8], "<f") + varint_field(1000, 7) + unpacked(5, values[8:], "<f"))
    data = v2_layer("ip", blob)
    decoded = parse_caffemodel(data)
    np.testing.assert_array_equal(decoded["ip"][0][0], values.reshape(2, 5))
    assert_same_weights(decoded, caffe_weights(data))


def test_unpacked_floats_with_an_overlong_key_are_still_floats():
    overlong_key = bytes([0x2D | 0x80, 0x00])  # field 5, wire type 5, in two bytes
    values = [1.5, -2.0, 3.25]
    data = v2_layer("ip", shape(3) + b"".join(overlong_key + struct.pack("<f", v)
                                              for v in values))
    np.testing.assert_array_equal(parse_caffemodel(data)["ip"][0][0], values)
    assert_same_weights(parse_caffemodel(data), caffe_weights(data))


@pytest.mark.parametrize("encode", [packed, unpacked])
def test_double_data_is_the_data_when_present_and_data_is_then_ignored(encode):
    doubles = [0.1, 1e39, -2.5, 1 / 3]  # 1e39 is beyond float32: +inf, as C++ converts it
    data = v2_layer("ip", shape(4) + packed(5, [9.0], "<f") + encode(8, doubles, "<d"))
    blob = parse_caffemodel(data)["ip"][0][0]
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(blob, np.array(doubles).astype(np.float32))
    assert blob.dtype == np.float32 and np.isinf(blob[1])
    assert_same_weights(parse_caffemodel(data), caffe_weights(data))


@pytest.mark.parametrize("blob, wording", [
    (shape(2, 3) + packed(5, [1.0] * 5, "<f"), "holds 5 data values but its shape (2, 3) needs 6"),
    (shape(2) + packed(5, [1.0] * 3, "<f"), "holds 3 data values"),
    (shape(2) + packed(5, [1.0] * 3, "<f") + packed(8, [1.0, 2.0], "<d"), None),
    (shape(2) + packed(8, [1.0], "<d") + packed(5, [1.0] * 2, "<f"), "holds 1 double_data"),
    (shape(2) + packed(5, [1.0] * 2, "<f") + packed(6, [1.0], "<f"), "holds 1 diff values"),
    (shape(2) + packed(5, [1.0] * 2, "<f") + unpacked(9, [1.0] * 3, "<d"), "3 double_diff"),
    (b"", "holds 0 data values but its shape () needs 1"),  # no shape: a scalar, as Caffe
    (packed(5, [4.0], "<f"), None),
    (legacy(num=2) + packed(5, [1.0] * 2, "<f"), "shape (2, 0, 0, 0) needs 0"),
    (legacy(1, 1, 1, 2) + shape(7) + packed(5, [1.0] * 2, "<f"), None),  # legacy dims win
    (shape(3, -1) + packed(5, [], "<f"), "negative dimension"),
    (legacy(channels=-4), "negative dimension"),
    (shape(65536, 65536), "more than INT_MAX"),
    (shape(0, 2**40), "dimension beyond INT_MAX"),  # Caffe would truncate it to an int
    (shape(*[1] * 33), "more than 32 axes"),
    (shape(*[1] * 20) + shape(*[1] * 13, packed_dims=False), "more than 32 axes"),
    (key(5, LENGTH) + encode_varint(6) + b"\x00" * 6, "6 bytes, not a whole number of 4-byte"),
    (key(8, LENGTH) + encode_varint(12) + b"\x00" * 12, "not a whole number of 8-byte"),
])
def test_blob_checks_name_the_file_layer_and_blob(blob, wording):
    data = v2_layer("conv1", shape(1) + packed(5, [0.0], "<f"), blob)
    try:
        expected = caffe_weights(data)
    except CaffeError:
        expected = None
    if wording is None:
        assert_same_weights(parse_caffemodel(data, "w.caffemodel"), expected)
        return
    assert expected is None  # Caffe (protobuf + FromProto) refuses it too
    with pytest.raises(CaffeError) as error:
        parse_caffemodel(data, "w.caffemodel")
    message = str(error.value)
    assert message.startswith("w.caffemodel: layer 'conv1' blob 1: ") and "\n" not in message
    assert wording in message


def test_a_repeated_shape_is_merged_and_a_repeated_dim_keeps_the_last():
    data = v2_layer("ip", shape(2) + shape(3) + legacy(width=9) + legacy(width=3, num=1,
                                                                        channels=1, height=2)
                    + packed(5, [1.0] * 6, "<f"))
    assert parse_caffemodel(data)["ip"][0][0].shape == (1, 1, 2, 3)
    data = v2_layer("ip", shape(2) + shape(3) + packed(5, [1.0] * 6, "<f"))
    assert parse_caffemodel(data)["ip"][0][0].shape == (2, 3)
    assert_same_weights(parse_caffemodel(data), caffe_weights(data))


def test_fields_with_an_unexpected_wire_type_or_in_groups_are_skipped_as_protobuf_does():
    blob = (shape(2) + key(5, FIXED64) + b"\x00" * 8 + varint_field(5, 3) +
            key(7, FIXED32) + b"\x00" * 4 + key(40, START_GROUP) + varint_field(1, 5) +
            key(41, START_GROUP) + key(41, END_GROUP) + key(40, END_GROUP) +
            packed(5, [1.0, 2.0], "<f"))
    data = v2_layer("ip", blob) + varint_field(100, 1)
    assert_same_weights(parse_caffemodel(data), caffe_weights(data))


@pytest.mark.parametrize("data, wording", [
    (key(100, LENGTH) + encode_varint(50) + b"\x00" * 10, "declares 50 bytes, 10 are left"),
    (key(100, LENGTH) + encode_varint(2**62), "declares 4611686018427387904 bytes"),
    (key(100, LENGTH) + b"\xff" * 11, "varint longer than 10 bytes"),
    (v2_layer("a", b"")[:-1], "left in its message"),
    (key(100, FIXED64) + b"\x00" * 3, "runs past the end"),
    (key(40, START_GROUP) + varint_field(1, 1), "is not closed"),
    (key(40, START_GROUP) + key(41, END_GROUP), "closed as group 41"),
    (key(40, END_GROUP), "without its start"),
    (key(40, 6) + b"\x00", "invalid wire type 6"),
    (b"\x00\x00", "invalid field number 0"),
    (key(40, START_GROUP) * 101, "nested more than 100 deep"),
    (varint_field(1, 3), "no layers found"),
    (v2_layer("a", b"") + v1_layer("b", b""), "both 'layer' and 'layers'"),
])
def test_malformed_files_are_one_caffe_error_line(data, wording):
    with pytest.raises(CaffeError) as error:
        parse_caffemodel(data, "w.caffemodel")
    assert str(error.value).startswith("w.caffemodel: ") and "\n" not in str(error.value)
    assert wording in str(error.value)


@pytest.mark.parametrize("inner, wording", [
    # a blob longer than its layer (but not than the file); a shape, a packed data field
    # and a name longer than their blob/layer
    (length_field(1, b"a") + key(7, LENGTH) + encode_varint(20), "declares 20 bytes, 0 are"),
    (length_field(1, b"a") + length_field(7, key(7, LENGTH) + encode_varint(9) + b"\x08\x01"),
     "declares 9 bytes, 2 are left"),
    (length_field(1, b"a") + length_field(7, key(5, LENGTH) + encode_varint(8) + b"\x00" * 4),
     "declares 8 bytes, 4 are left"),
    (key(1, LENGTH) + encode_varint(5) + b"ab", "declares 5 bytes, 2 are left"),
])
def test_nested_lengths_past_their_parent_are_refused(inner, wording):
    data = length_field(100, inner) + length_field(1000, bytes(32))  # bytes after the layer
    with pytest.raises(CaffeError, match=wording):
        parse_caffemodel(data, "w.caffemodel")
    with pytest.raises(CaffeError):
        caffe_weights(data)


def test_v0_layers_take_name_and_blobs_from_their_v0_layer_as_caffes_upgrade_does():
    v0 = length_field(1, b"conv") + length_field(50, shape(2) + packed(5, [1.0, 2.0], "<f"))
    entry = length_field(4, b"outer") + length_field(6, shape(1) + packed(5, [5.0], "<f"))
    data = length_field(2, entry + length_field(1, v0)) + v1_layer("plain", shape(1) +
                                                                   packed(5, [3.0], "<f"))
    decoded = parse_caffemodel(data)
    np.testing.assert_array_equal(decoded["conv"][0][0], [1.0, 2.0])
    assert "outer" not in decoded and "plain" not in decoded  # no V0 layer: no name, no blobs


def _peak_allocation(data: bytes) -> int:
    tracemalloc.start()
    try:
        parse_caffemodel(data)
    except CaffeError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("data", [
    v2_layer("a", shape(INT_MAX)),
    v2_layer("a", legacy(2**30, 2, 1, 1) + packed(5, [1.0], "<f")),
    key(100, LENGTH) + encode_varint(2**40) + b"\x00" * 64,
    v2_layer("a", shape(2**20) + unpacked(5, np.ones(2**15), "<f")),
    v2_layer("a", shape(2**16) + unpacked(5, np.ones(2**15), "<f") * 2),
    v2_layer("a", shape(2**15) + (unpacked(5, [1.0], "<f") + unpacked(6, [1.0], "<f")) * 2**15),
    v2_layer("a", shape(2**15) + packed(5, np.ones(2**15), "<f") + packed(8, [1.0], "<d")),
])
def test_no_allocation_larger_than_the_file(data):
    assert _peak_allocation(data) <= 2 * len(data) + 64 * 1024


def test_a_packed_blob_is_a_view_of_the_file():
    data = bytearray(v2_layer("a", shape(4) + packed(5, [1.0, 2.0, 3.0, 4.0], "<f")))
    blob = parse_caffemodel(data)["a"][0][0]
    assert np.shares_memory(blob, np.frombuffer(data, np.uint8))


# --- property tests: structured blobs against protobuf + FromProto, random bytes, mutations

FLOATS = st.lists(st.floats(width=32, allow_nan=False), max_size=6)
DOUBLES = st.lists(st.floats(allow_nan=False), max_size=4)
PIECE = st.one_of(
    FLOATS.map(lambda v: packed(5, v, "<f")), FLOATS.map(lambda v: unpacked(5, v, "<f")),
    DOUBLES.map(lambda v: packed(8, v, "<d")), DOUBLES.map(lambda v: unpacked(8, v, "<d")),
    FLOATS.map(lambda v: packed(6, v, "<f")), DOUBLES.map(lambda v: unpacked(9, v, "<d")),
    st.lists(st.integers(-2, 7), max_size=4).map(lambda d: shape(*d)),
    st.lists(st.integers(-1, 7), max_size=3).map(lambda d: shape(*d, packed_dims=False)),
    st.tuples(st.integers(1, 4), st.integers(-2, 7)).map(lambda nv: varint_field(*nv)),
    st.integers(10, 30).map(lambda n: varint_field(n, n)))
BLOB = st.lists(PIECE, max_size=6).map(b"".join)
LAYER = st.tuples(st.sampled_from(["a", "b", "conv1", ""]), st.lists(BLOB, max_size=3))
NET = st.lists(LAYER, min_size=1, max_size=3).map(
    lambda layers: b"".join(v2_layer(name, *blobs) for name, blobs in layers))


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(NET)
def test_structured_blobs_decode_as_protobuf_and_blob_from_proto_do(data):
    try:
        expected = caffe_weights(data)
    except CaffeError:
        with pytest.raises(CaffeError):
            parse_caffemodel(data)
        return
    assert_same_weights(parse_caffemodel(data), expected)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=300))
def test_any_byte_string_gives_blobs_or_one_caffe_error(data):
    try:
        parse_caffemodel(data)
    except CaffeError as error:
        assert "\n" not in str(error)


def _mutations(data: bytes, rng: np.random.Generator, count: int):
    for _ in range(count):
        kind = rng.integers(3)
        at = int(rng.integers(len(data)))
        if kind == 0:
            mutated = bytearray(data)
            mutated[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            mutated = data[:at] + data[at + int(rng.integers(1, 64)):]
        else:
            mutated = data[:at] + rng.bytes(int(rng.integers(1, 16))) + data[at:]
        yield bytes(mutated)


@pytest.mark.parametrize("layout", ["v2", "v1", "v0"])
def test_mutated_writer_caffemodels_give_blobs_or_one_caffe_error(tmp_path, layout):
    rng = np.random.default_rng(["v2", "v1", "v0"].index(layout))
    weights = {"conv": [rng.standard_normal((3, 2, 2, 2)).astype(np.float32),
                        rng.standard_normal(3).astype(np.float32)],
               "fc": [rng.standard_normal((4, 12)).astype(np.float32)]}
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, weights, layout=layout,
                     layer_types={"conv": "Convolution", "fc": "InnerProduct"})
    outcomes = {"ok": 0, "error": 0}
    for mutated in _mutations(path.read_bytes(), rng, 1000):
        try:
            parse_caffemodel(mutated, "w.caffemodel")
            outcomes["ok"] += 1
        except CaffeError as error:
            assert str(error).startswith("w.caffemodel: ") and "\n" not in str(error)
            outcomes["error"] += 1
    assert outcomes["ok"] and outcomes["error"]  # both kinds of outcome are exercised


def test_fields_besides_the_blobs_are_parsed_by_protobuf_as_caffe_parses_the_whole_file():
    convolution_param = 106
    good = v2_layer("conv1", shape(1) + packed(5, [1.0], "<f"))
    valid_param = length_field(100, length_field(1, b"conv1") + length_field(
        convolution_param, varint_field(1, 4)) + length_field(7, shape(1) + packed(5, [1.0], "<f")))
    assert_same_weights(parse_caffemodel(valid_param), caffe_weights(valid_param))
    broken = length_field(100, length_field(1, b"conv1") + length_field(
        convolution_param, key(1, LENGTH) + encode_varint(3)) + length_field(7, b""))
    with pytest.raises(CaffeError, match="w.caffemodel: layer 'conv1': its fields besides the "
                                         "blobs are not a valid LayerParameter"):
        parse_caffemodel(broken + good, "w.caffemodel")
    with pytest.raises(CaffeError):
        caffe_weights(broken)
    net_level = good + length_field(6, key(1, LENGTH) + encode_varint(9))  # NetParameter.state
    with pytest.raises(CaffeError, match="not a valid NetParameter"):
        parse_caffemodel(net_level, "w.caffemodel")
