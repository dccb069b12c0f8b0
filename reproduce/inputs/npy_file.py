"""A checked read of one .npy array (--init_code, --mean_file): np.load's result, or one
UserError line; the header is read first, so a declared shape larger than the file is
refused before anything is allocated (np.load would allocate it, then fail)."""
from __future__ import annotations

import tokenize
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

_HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0,
                   (2, 0): npy_format.read_array_header_2_0}
# What NumPy's header parser raises on a malformed header (the literal is parsed by ast).
_MALFORMED = (ValueError, EOFError, SyntaxError, tokenize.TokenError, OSError, TypeError)


def read_npy(path: str | Path, flag: str) -> np.ndarray:
    """The array in the .npy file at `path`; `flag` (e.g. "--init_code") starts each error.
    Refused: a missing file, no .npy header (an .npz, a pickle, ...), an object array (it
    needs pickle), data bytes other than the header's shape × itemsize."""
    from common.errors import UserError, first_line
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{flag} {path}: file not found")
    try:
        with open(path, "rb") as stream:
            version = npy_format.read_magic(stream)
            if version not in _HEADER_READERS:
                raise ValueError(f".npy format version {version[0]}.{version[1]} is not read")
            shape, fortran_order, dtype = _HEADER_READERS[version](stream)
            if dtype.hasobject:
                raise ValueError(f"an object array ({dtype}) needs pickle, which is not read")
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            held = path.stat().st_size - stream.tell()
            if declared != held:
                raise ValueError(f"the header declares {shape} {dtype} ({declared} bytes), "
                                 f"the file holds {held} bytes of data")
            stream.seek(0)
            return np.load(stream, allow_pickle=False)
    except _MALFORMED as error:
        raise UserError(f"{flag} {path}: not a readable .npy array ({first_line(error)})") from None
