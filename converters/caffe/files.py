"""File helpers shared by the Caffe reader, writer and CLI: atomic writes, checked reads."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class CaffeError(Exception):
    """A user-facing problem with an input file or option; str() is the one line to show."""


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary stream to a temporary file beside `path`, renamed over `path` when the block
    ends normally. Nothing is left at `path` (nor beside it) if the block fails part way."""
    target = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                         dir=target.parent)
    try:
        os.chmod(temp_name, 0o666 & ~_current_umask())  # as open() would create it
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.replace(temp_name, target)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """Writes `data` to `path` atomically (temporary file, then rename)."""
    with atomic_output(path) as stream:
        stream.write(data)


def read_bytes(path: str | os.PathLike, what: str) -> bytes:
    """Reads a whole file, turning a missing/unreadable file into one CaffeError line."""
    file_path = Path(path)
    if not file_path.is_file():
        raise CaffeError(f"{path}: {what} file not found")
    try:
        return file_path.read_bytes()
    except OSError as error:
        raise CaffeError(f"{path}: cannot read {what} file ({error.strerror})") from None
