"""The protobuf wire format, read and written directly (for files too big to copy).

Reading walks a message's fields over a memoryview without copying values; writing frames
already-serialised sub-messages, so a large message can be streamed one field at a time.
"""
from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buffer: memoryview, position: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= end or shift > 63:
            raise WireError("truncated varint")
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def fields(buffer: memoryview, start: int, end: int) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of one message; length-delimited values are
    (start, end) offsets into `buffer`, fixed-width values their raw bytes' offsets too."""
    position = start
    while position < end:
        key, position = read_varint(buffer, position, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire_type == VARINT:
            value, position = read_varint(buffer, position, end)
        elif wire_type == LENGTH:
            length, position = read_varint(buffer, position, end)
            value, position = (position, position + length), position + length
        elif wire_type in (FIXED32, FIXED64):
            width = 4 if wire_type == FIXED32 else 8
            value, position = (position, position + width), position + width
        else:
            raise WireError(f"unsupported wire type {wire_type}")
        if position > end:
            raise WireError("field runs past the end of its message")
        yield number, wire_type, value


def packed_varints(buffer: memoryview, span: tuple[int, int]) -> list[int]:
    values, position = [], span[0]
    while position < span[1]:
        value, position = read_varint(buffer, position, span[1])
        values.append(value)
    return values


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_delimited_header(field_number: int, length: int) -> bytes:
    """The key and length that precede a length-delimited field of `length` bytes."""
    return encode_varint(field_number << 3 | LENGTH) + encode_varint(length)
