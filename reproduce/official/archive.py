"""Extracting single members of a zip or tar(.gz) archive to a chosen file, nothing else.

Only the requested members are read; each is streamed to a temporary file beside its
destination, so a failure never leaves a half-written destination.
"""
from __future__ import annotations

import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class ArchiveError(Exception):
    """The archive is unreadable or lacks a member."""


def _matches(name: str, member: str) -> bool:
    """A member path matches exactly, after a leading './', or as the tail of a longer path."""
    name = name.removeprefix("./")
    return name == member or name.endswith("/" + member)


@contextmanager
def _open_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                names = [info.filename for info in bundle.infolist() if not info.is_dir()]
                found = _unique(archive, member, names)
                with bundle.open(found) as stream:
                    yield stream
            return
        with tarfile.open(archive, "r:*") as bundle:
            members = {info.name: info for info in bundle.getmembers() if info.isfile()}
            found = _unique(archive, member, list(members))
            stream = bundle.extractfile(members[found])
            with stream:
                yield stream
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError) as error:
        raise ArchiveError(f"{archive.name}: cannot be read ({error})") from None


def _unique(archive: Path, member: str, names: list[str]) -> str:
    found = [name for name in names if _matches(name, member)]
    if len(found) != 1:
        what = "has no member" if not found else f"has {len(found)} members matching"
        raise ArchiveError(f"{archive.name} {what} {member}")
    return found[0]


def extract_member(archive: Path, member: str, temp_dir: Path) -> Path:
    """Copies one member (matched as by _matches) to a new temporary file in temp_dir."""
    with _open_member(archive, member) as stream:
        temp_dir.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=temp_dir, prefix=".extract-", suffix=".tmp",
                                             delete=False)
        try:
            with handle:
                shutil.copyfileobj(stream, handle, 1 << 20)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    return Path(handle.name)
