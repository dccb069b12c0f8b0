"""Content hashes of files, read once in blocks (a progress bar for large files)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from common.progress import progress

BLOCK = 1 << 20
PROGRESS_FROM_BYTES = 64 << 20  # smaller files are hashed without a bar


def file_digests(path: str | os.PathLike, algorithms: tuple[str, ...] = ("sha256",),
                 label: str | None = None) -> dict[str, str]:
    """Hex digests of the file's bytes by algorithm name (hashlib's), in one pass; raises
    OSError (FileNotFoundError, ...) for the caller to report."""
    hashes = [hashlib.new(name) for name in algorithms]
    size = Path(path).stat().st_size
    with open(path, "rb") as stream, progress(total=size, desc=label or f"hashing {Path(path).name}",
                                              leave=False, unit="B", unit_scale=True,
                                              enabled=size >= PROGRESS_FROM_BYTES) as bar:
        while block := stream.read(BLOCK):
            for digest in hashes:
                digest.update(block)
            bar.update(len(block))
    return {name: digest.hexdigest() for name, digest in zip(algorithms, hashes, strict=True)}


def file_sha256(path: str | os.PathLike) -> str:
    """The file's SHA-256 (hex)."""
    return file_digests(path)["sha256"]
