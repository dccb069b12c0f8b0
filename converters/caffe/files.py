"""Checked reads of Caffe's input files and the converters' error type."""
from __future__ import annotations

import mmap
import os
from pathlib import Path

from common.errors import UserError


class CaffeError(UserError):
    """A user-facing problem with an input file or option; str() is the one line to show."""


def read_bytes(path: str | os.PathLike, what: str) -> bytes:
    """Reads a whole file, turning a missing/unreadable file into one CaffeError line."""
    file_path = Path(path)
    if not file_path.is_file():
        raise CaffeError(f"{path}: {what} file not found")
    try:
        return file_path.read_bytes()
    except OSError as error:
        raise CaffeError(f"{path}: cannot read {what} file ({error.strerror})") from None


MAP_MIN_BYTES = 1 << 24  # files this large are mapped, not read (weights stay in the page cache)


def mapped_bytes(path: str | os.PathLike, what: str) -> bytes | memoryview:
    """The file's bytes: a read-only memory map for large files (arrays decoded from it are
    views into the page cache: no copy of the weights), else read_bytes. The map lives as long
    as any view of it."""
    file_path = Path(path)
    if not file_path.is_file() or file_path.stat().st_size < MAP_MIN_BYTES:
        return read_bytes(path, what)
    try:
        with open(file_path, "rb") as stream:
            return memoryview(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ))
    except OSError as error:
        raise CaffeError(f"{path}: cannot read {what} file ({error.strerror})") from None
