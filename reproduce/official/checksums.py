"""Checksums of official files: hashing, expected values, and the ones recorded on first download.

Files whose checksum is not published (the Places205 and DeePSiM archives and their members,
the sha256 of the BVLC weights) get theirs recorded in data/.recorded_checksums.json by the
first successful `fetch`; later checks compare against that record.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


from common.atomic import atomic_write_bytes
from common.hashing import file_digests
from reproduce.official.manifest import ManifestError

RECORD_NAME = ".recorded_checksums.json"


@dataclass(frozen=True)
class Expected:
    """What a file must match; every field None means nothing can be checked."""

    size: int | None = None
    sha1: str | None = None
    sha256: str | None = None

    def checkable(self) -> bool:
        return any(value is not None for value in (self.size, self.sha1, self.sha256))


class Digests(NamedTuple):
    """What a file actually is."""

    size: int
    sha1: str
    sha256: str


def digests(path: Path) -> Digests:
    """Size, sha1 and sha256 of a file in one pass; a progress bar for large files."""
    found = file_digests(path, ("sha1", "sha256"), label=f"checking {path.name}")
    return Digests(path.stat().st_size, found["sha1"], found["sha256"])


def mismatch(actual: Digests, expected: Expected) -> str | None:
    """None when the digests match every known value, else what differs (in words)."""
    for label, want, got in (("size", expected.size, actual.size), ("sha1", expected.sha1, actual.sha1),
                             ("sha256", expected.sha256, actual.sha256)):
        if want is not None and want != got:
            return f"{label} mismatch: expected {want}, got {got}"
    return None


class RecordedChecksums:
    """data/.recorded_checksums.json: key (dest, or 'archives/NAME') -> size, sha1, sha256, url."""

    def __init__(self, root: Path):
        self.path = root / RECORD_NAME
        if root.exists() and not root.is_dir():
            raise ManifestError(f"data root {root} ($DGN_AM_DATA or data/) is not a directory")
        try:
            self.entries: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.entries = {}
        except (OSError, ValueError) as error:
            raise ManifestError(f"{self.path}: cannot be read ({error}); delete it to record "
                                f"checksums afresh") from None

    def expected(self, key: str, size: int | None, sha1: str | None, sha256: str | None) -> Expected:
        """Published values, completed by recorded ones where a value was not published."""
        recorded = self.entries.get(key, {})
        return Expected(size=size if size is not None else recorded.get("size"),
                        sha1=sha1 or recorded.get("sha1"),
                        sha256=sha256 or recorded.get("sha256"))

    def record(self, key: str, actual: Digests, url: str) -> None:
        """Stores a file's size and digests under key (atomically rewrites the record file)."""
        self.entries[key] = {**actual._asdict(), "url": url,
                             "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.entries, indent=1, sort_keys=True) + "\n"
        atomic_write_bytes(self.path, text.encode("utf-8"))
