"""Atomic file output: write to a temporary file beside the target, rename when complete.

Every file the project writes (ONNX models, caffemodels, images, traces, records, checksums)
goes through here, so an interrupted or failed write never leaves a half-written file.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


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


def write_if_changed(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> bool:
    """Writes `data` to `path` atomically unless the file already holds exactly these bytes
    (so a rerun leaves unchanged files, and their modification times, alone); True if written."""
    target = Path(path)
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == bytes(data):
            return False
    except FileNotFoundError:
        pass
    atomic_write_bytes(target, data)
    return True
