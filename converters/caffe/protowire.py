"""The protobuf wire format, read and written directly (for files too big to copy).

Reading walks a message's fields over a memoryview without copying values; writing frames
already-serialised sub-messages, so a large message can be streamed one field at a time.
Reading accepts what protobuf's own parser accepts at the wire level: varints of up to ten
bytes (truncated to 64 bits), field numbers 1 … 2**29 − 1, groups (skipped as unknown
fields, nested at most 100 deep: protobuf's default recursion limit); every length is
checked against the bytes left in its message before anything is sliced.
"""
from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = 2**29 - 1
MAX_GROUP_DEPTH = 100
_MASK64 = 2**64 - 1


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buffer: memoryview, position: int, end: int) -> tuple[int, int]:
    """(value, position after it); protobuf keeps the low 64 bits of a 10-byte varint."""
    value, shift = 0, 0
    while True:
        if position >= end:
            raise WireError(f"truncated varint at byte {position}")
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {position}")
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & _MASK64, position
        shift += 7


def read_field(buffer: memoryview, position: int, end: int,
               depth: int = 0) -> tuple[int, int, object, int]:
    """(field number, wire type, value, position after the field) of the field at `position`.

    VARINT values are ints; LENGTH, FIXED32/64 and group values are (start, stop) offsets of
    their bytes in `buffer` (a group's: its fields, without the end-group key).
    """
    key_at = position
    key, position = read_varint(buffer, position, end)
    number, wire_type = key >> 3, key & 7
    if not 1 <= number <= MAX_FIELD_NUMBER:
        raise WireError(f"invalid field number {number} at byte {key_at}")
    if wire_type == VARINT:
        value, position = read_varint(buffer, position, end)
        return number, wire_type, value, position
    if wire_type == LENGTH:
        length, position = read_varint(buffer, position, end)
        if length > end - position:
            raise WireError(f"field {number} at byte {key_at} declares {length} bytes, "
                            f"{end - position} are left in its message")
        return number, wire_type, (position, position + length), position + length
    if wire_type in (FIXED32, FIXED64):
        width = 4 if wire_type == FIXED32 else 8
        if width > end - position:
            raise WireError(f"fixed-width field {number} at byte {key_at} runs past the end "
                            "of its message")
        return number, wire_type, (position, position + width), position + width
    if wire_type == START_GROUP:
        if depth >= MAX_GROUP_DEPTH:
            raise WireError(f"groups nested more than {MAX_GROUP_DEPTH} deep at byte {key_at}")
        start = position
        while True:
            if position >= end:
                raise WireError(f"group {number} at byte {key_at} is not closed")
            inner_at = position
            inner_number, inner_type, _, position = read_field(buffer, position, end, depth + 1)
            if inner_type == END_GROUP:
                if inner_number != number:
                    raise WireError(f"group {number} at byte {key_at} closed as group "
                                    f"{inner_number}")
                return number, wire_type, (start, inner_at), position
    if wire_type == END_GROUP:
        if depth == 0:
            raise WireError(f"end of group {number} at byte {key_at} without its start")
        return number, wire_type, None, position
    raise WireError(f"invalid wire type {wire_type} at byte {key_at}")


def fields(buffer: memoryview, start: int, end: int) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of each field of one message (see read_field)."""
    position = start
    while position < end:
        number, wire_type, value, position = read_field(buffer, position, end)
        yield number, wire_type, value


def packed_varints(buffer: memoryview, span: tuple[int, int], limit: int) -> list[int]:
    """The varints of a packed field's bytes; more than `limit` of them is a WireError
    (so a long packed field never becomes a long Python list)."""
    values, position = [], span[0]
    while position < span[1]:
        if len(values) == limit:
            raise WireError(f"more than {limit} values in the packed field at byte {span[0]}")
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
