"""Checked reads of Caffe's input files and the converters' error type."""
from __future__ import annotations

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
