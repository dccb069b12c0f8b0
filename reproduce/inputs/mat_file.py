"""One numeric variable of a MATLAB .mat file (level 5 / v7, as ilsvrc_2012_mean.mat is),
read by a checked parser: scipy.io.loadmat can crash the process (a segmentation fault) on
some corrupt files, so the mean file is read here instead, with every length checked
against the bytes left before anything is sliced, and nothing sized from a declared count.

Format (MathWorks, "MAT-File Format", level 5): a 128-byte header (text, subsystem offset,
version 0x0100, endian indicator "IM"/"MI"), then data elements: an 8-byte tag (type,
byte count; the "small element" form packs both in 4 bytes with ≤ 4 data bytes), the data,
padding to 8 bytes. miCOMPRESSED (15) holds one zlib-compressed element; miMATRIX (14) holds
the array flags (class), dimensions, name and real part (its stored type may be narrower
than the class, as MATLAB writes it). The values are column-major. Returned as loadmat
returns it: the class's dtype, shaped by the dimensions.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from common.errors import UserError

MI_MATRIX, MI_COMPRESSED = 14, 15
_ELEMENT_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
                   12: "i8", 13: "u8"}
_CLASS_DTYPES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
                 14: "i8", 15: "u8"}
_COMPLEX_FLAG = 0x0800
MAX_DECOMPRESSED = 1 << 30  # bytes of one compressed variable (the 256×256×3 mean: 1.5 MiB)


class _MatError(Exception):
    """A malformed file; the caller adds the file name."""


def _elements(data: bytes, start: int, end: int, order: str, padded: bool):
    """(type, data start, data end) of each data element in data[start:end]."""
    position = start
    while position < end:
        if end - position < 8:
            raise _MatError(f"a data element tag at byte {position} is cut short")
        kind, size = np.frombuffer(data, f"{order}u4", 2, position)
        kind, size = int(kind), int(size)
        if kind >> 16:  # small data element: size in the upper half, data in the tag
            kind, size = kind & 0xFFFF, kind >> 16
            if size > 4:
                raise _MatError(f"a small data element at byte {position} declares {size} bytes")
            yield kind, position + 4, position + 4 + size
            position += 8
            continue
        if size > end - position - 8:
            raise _MatError(f"the data element at byte {position} declares {size} bytes, "
                            f"{end - position - 8} are left")
        yield kind, position + 8, position + 8 + size
        position += 8 + (size + 7) // 8 * 8 if padded else 8 + size
        position = min(position, end)


def _matrix(data: bytes, start: int, end: int, order: str) -> tuple[str, np.ndarray]:
    """(name, array) of one miMATRIX element's contents."""
    parts = list(_elements(data, start, end, order, padded=True))
    if len(parts) < 3:
        raise _MatError("an array element lacks its flags, dimensions or name")
    (flag_kind, flag_at, flag_end), (dim_kind, dim_at, dim_end), (_, name_at, name_end) = parts[:3]
    if flag_kind != 6 or flag_end - flag_at < 4 or dim_kind != 5 or (dim_end - dim_at) % 4:
        raise _MatError("an array element's flags or dimensions are malformed")
    flags = int(np.frombuffer(data, f"{order}u4", 1, flag_at)[0])
    name = data[name_at:name_end].decode("latin-1")
    class_id = flags & 0xFF
    if class_id not in _CLASS_DTYPES:
        return name, None  # a cell, struct, char or sparse array: not a numeric variable
    if flags & _COMPLEX_FLAG:
        raise _MatError(f"variable {name!r} is complex")
    dims = tuple(int(d) for d in np.frombuffer(data, f"{order}i4", (dim_end - dim_at) // 4, dim_at))
    if len(dims) < 2 or min(dims) < 0:
        raise _MatError(f"variable {name!r} has dimensions {dims}")
    if len(parts) < 4:
        raise _MatError(f"variable {name!r} has no data")
    kind, value_at, value_end = parts[3]
    if kind not in _ELEMENT_DTYPES:
        raise _MatError(f"variable {name!r} stores its values as unknown type {kind}")
    element = np.dtype(f"{order}{_ELEMENT_DTYPES[kind]}")
    count = int(np.prod(dims, dtype=object))
    if (value_end - value_at) != count * element.itemsize:
        raise _MatError(f"variable {name!r}: dimensions {dims} need {count} values, the file "
                        f"holds {(value_end - value_at) / element.itemsize:g}")
    values = np.frombuffer(data, element, count, value_at)
    with np.errstate(invalid="ignore", over="ignore"):  # C casts, as MATLAB's readers do
        return name, values.astype(_CLASS_DTYPES[class_id]).reshape(dims, order="F")


def _decompress(data: bytes, start: int, end: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        inner = inflater.decompress(data[start:end], MAX_DECOMPRESSED)
    except zlib.error as error:
        raise _MatError(f"a compressed element does not decompress ({error})") from None
    if inflater.unconsumed_tail:
        raise _MatError(f"a compressed element decompresses to more than {MAX_DECOMPRESSED} bytes")
    return inner


def read_mat_variable(path: str | Path, variable: str, flag: str) -> np.ndarray:
    """The numeric array `variable` of the .mat file at `path` (the last one of that name, as
    loadmat keeps it); anything else is one UserError line starting with `flag` and the path."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: file not found") from None
    except OSError as error:
        raise UserError(f"{flag} {path}: cannot be read ({error.strerror})") from None
    try:
        if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
            raise _MatError("not a MATLAB level 5 (v5/v7) .mat file")
        order = "<" if data[126:128] == b"IM" else ">"
        found = None
        for kind, start, end in _elements(data, 128, len(data), order, padded=False):
            if kind == MI_COMPRESSED:
                inner = _decompress(data, start, end)
                elements = [(k, s, e, inner) for k, s, e in
                            _elements(inner, 0, len(inner), order, padded=True)][:1]
            else:
                elements = [(kind, start, end, data)]
            for inner_kind, inner_start, inner_end, buffer in elements:
                if inner_kind == MI_MATRIX:
                    name, array = _matrix(buffer, inner_start, inner_end, order)
                    if name == variable and array is not None:
                        found = array
    except _MatError as error:
        raise UserError(f"{flag} {path}: not a readable .mat file ({error})") from None
    if found is None:
        raise UserError(f"{flag} {path}: no numeric variable '{variable}' in the .mat file")
    return found
