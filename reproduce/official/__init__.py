"""Official models and data files: manifest, status, fetch (the API other modules use).

`load_manifest()` lists every official file (models/manifest.json); `status()` says which are
verified / present / missing / corrupt under data/ ($DGN_AM_DATA); `missing_files()` the ones
to get; `data_path()` maps a release-layout path into data/; `require()` returns that path or
raises a UserError saying exactly where to place the file; `fetch()` downloads, verifies,
extracts and places them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from common.errors import UserError
from reproduce.official.checksums import RecordedChecksums, digests, mismatch
from reproduce.official.fetch import FetchOutcome, fetch_files
from reproduce.official.manifest import (ArchiveSource, ManifestError, OfficialFile,
                                               UnknownNameError, data_path, data_root,
                                               downloads_dir, load_manifest, select)

__all__ = ["ArchiveSource", "FetchOutcome", "ManifestError", "OfficialFile", "OfficialFileMissing",
           "UnknownNameError", "data_path", "data_root", "downloads_dir", "fetch", "load_manifest",
           "missing_files", "mirrors_from_environment", "require", "status", "UserError"]

STATES = ("verified", "present", "missing", "corrupt")


class OfficialFileMissing(UserError):
    """An official file the run needs is not in data/ (the message says where to place it)."""


def _state(official: OfficialFile, recorded: RecordedChecksums) -> str:
    if not official.path.is_file():
        return "missing"
    expected = recorded.expected(official.dest, official.size, official.sha1, official.sha256)
    if not expected.checkable():
        return "present"
    return "corrupt" if mismatch(digests(official.path), expected) else "verified"


def status(names: Iterable[str] | None = None) -> list[tuple[OfficialFile, str]]:
    """(file, 'verified'|'present'|'missing'|'corrupt') for the named files (all when None).

    verified: matches its published (or first-download recorded) size/checksums; present: there,
    but nothing known to check it against; corrupt: there, but a checksum differs.
    """
    recorded = RecordedChecksums(data_root())
    return [(official, _state(official, recorded)) for official in select(load_manifest(), names)]


def missing_files(names: Iterable[str] | None = None) -> list[OfficialFile]:
    """The named files (all when None) that are missing or corrupt."""
    return [official for official, state in status(names) if state in ("missing", "corrupt")]


def require(relative: str) -> Path:
    """data_path(relative) when that file exists; else OfficialFileMissing naming where to put it."""
    path = data_path(relative)
    if path.is_file():
        return path
    by_dest = {official.dest: official for official in load_manifest()}
    official = by_dest.get(relative)
    if official is None:
        raise OfficialFileMissing(f"{path}: not found (not an official file of the manifest)")
    raise OfficialFileMissing(f"{path}: missing official file {official.name}; run "
                              f"`python -m reproduce fetch {official.name}` or {official.placement_hint()}")


def mirrors_from_environment() -> list[str]:
    """Base URLs from $DGN_AM_MIRROR (separated by spaces or commas); empty when unset."""
    return [url for url in re.split(r"[\s,]+", os.environ.get("DGN_AM_MIRROR", "")) if url]


def fetch(names: Iterable[str] | None = None, *, base_urls: Sequence[str] | None = None,
          timeout: float = 30.0, keep_archives: bool = False) -> list[FetchOutcome]:
    """Fetches the named files (all when None) that are missing or corrupt; one outcome per file.

    base_urls (or $DGN_AM_MIRROR) replace the manifest URLs: a file is looked for at
    BASE/<dest> (its release-layout path), an archive member's archive at BASE/<archive name>.
    Files already verified or present are left alone (ok outcome). Never raises for a failed
    download: the outcome says what failed and where to place the file by hand.
    """
    if base_urls is None:
        base_urls = mirrors_from_environment() or None
    outcomes: dict[str, FetchOutcome] = {}
    wanted = []
    states = status(names)
    for official, state in states:
        if state in ("verified", "present"):
            outcomes[official.name] = FetchOutcome(official, True, f"already {state}")
        else:
            wanted.append(official)
    for outcome in fetch_files(wanted, base_urls=base_urls, timeout=timeout, keep_archives=keep_archives):
        outcomes[outcome.file.name] = outcome
    return [outcomes[official.name] for official, _ in states]
