"""The manifest of official files (models/manifest.json) and where each one lives under data/.

data/ mirrors the layout of the release (Evolving-AI-Lab/synthesizing): nets/..., act_range/...,
misc/..., ilsvrc_2012_mean.mat, images/..., examples/... . The data root can be moved with the
environment variable DGN_AM_DATA, the manifest with DGN_AM_MANIFEST (tests use both).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError
from reproduce.official.locations import default_data_root, project_path

DOWNLOADS_DIR = ".downloads"


class ManifestError(UserError):
    """The manifest is unreadable or an entry is malformed."""


class UnknownNameError(UserError):
    """A requested name is neither a file name nor a group of the manifest."""


@dataclass(frozen=True)
class ArchiveSource:
    """A downloadable archive (zip or tar.gz) holding some official files as members."""

    name: str
    urls: tuple[str, ...]
    size: int | None
    sha1: str | None
    sha256: str | None
    license: str


@dataclass(frozen=True)
class OfficialFile:
    """One official file: where it goes under data/, where it comes from, how to check it."""

    name: str
    group: str
    dest: str
    urls: tuple[str, ...]
    size: int | None
    sha1: str | None
    sha256: str | None
    license: str
    archive: ArchiveSource | None = None
    member: str | None = None
    note: str | None = None

    @property
    def path(self) -> Path:
        """Absolute destination path (under the current data root)."""
        return data_path(self.dest)

    @property
    def sources(self) -> tuple[str, ...]:
        """The URLs to download: the file's own, or its archive's."""
        return self.archive.urls if self.archive else self.urls

    def origin(self) -> str:
        """Where the file comes from, in words, for a hand-placement line."""
        if self.archive:
            return f"member {self.member} of {self.archive.name} from {self.archive.urls[0]}"
        return f"from {self.urls[0]}"

    def placement_hint(self) -> str:
        """The exact place to put this file by hand, and where it comes from (one line)."""
        hint = f"place {Path(self.dest).name} at {self.path} ({self.origin()}; {self.published_checksum()})"
        if self.archive:
            hint += (f", or put {self.archive.name} itself at {downloads_dir() / self.archive.name} "
                     f"and run `python -m reproduce fetch {self.name}`")
        return hint

    def published_checksum(self) -> str:
        """'sha1 ...'/'sha256 ...' or 'no published checksum'."""
        if self.sha256:
            return f"sha256 {self.sha256}"
        if self.sha1:
            return f"sha1 {self.sha1}"
        return "no published checksum"


def data_root() -> Path:
    """The data/ directory: $DGN_AM_DATA when set, else data/ in the checkout (installed: the
    user's data folder; reproduce.official.locations)."""
    override = os.environ.get("DGN_AM_DATA")
    return Path(override).resolve() if override else default_data_root()


def data_path(relative: str) -> Path:
    """Absolute path of a file given relative to the data root (release layout)."""
    return data_root() / relative


def downloads_dir() -> Path:
    """Where partial downloads (.part) and fetched archives wait: data/.downloads."""
    return data_root() / DOWNLOADS_DIR


def manifest_path() -> Path:
    """models/manifest.json (the checkout's or the installed copy's), or $DGN_AM_MANIFEST when set."""
    override = os.environ.get("DGN_AM_MANIFEST")
    return Path(override) if override else project_path("models/manifest.json")


def _checked_relative(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or value.startswith("/") or ".." in value.split("/"):
        raise ManifestError(f"{where}: dest must be a relative path inside data/, got {value!r}")
    return value


def _optional_int(value: object, where: str) -> int | None:
    if value is not None and (not isinstance(value, int) or value < 0):
        raise ManifestError(f"{where}: size must be a non-negative integer or null, got {value!r}")
    return value


def _optional_hex(value: object, length: int, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != length or any(c not in "0123456789abcdef" for c in value):
        raise ManifestError(f"{where}: expected {length} lowercase hex digits or null, got {value!r}")
    return value


def _urls(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(url, str) and url for url in value):
        raise ManifestError(f"{where}: urls must be a list of strings")
    return tuple(value)


def _archive(name: str, raw: dict, where: str) -> ArchiveSource:
    urls = _urls(raw.get("urls"), where)
    if not urls:
        raise ManifestError(f"{where}: an archive needs at least one URL")
    return ArchiveSource(name=name, urls=urls,
                         size=_optional_int(raw.get("size"), where),
                         sha1=_optional_hex(raw.get("sha1"), 40, where),
                         sha256=_optional_hex(raw.get("sha256"), 64, where),
                         license=str(raw.get("license", "")))


def _file(raw: dict, archives: dict[str, ArchiveSource], where: str) -> OfficialFile:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{where}: every file needs a name")
    where = f"{where} ({name})"
    archive = None
    if raw.get("archive") is not None:
        archive = archives.get(raw["archive"])
        if archive is None:
            raise ManifestError(f"{where}: archive {raw['archive']!r} is not listed under 'archives'")
        if not isinstance(raw.get("member"), str) or not raw["member"]:
            raise ManifestError(f"{where}: a file from an archive needs its 'member' path")
    urls = _urls(raw.get("urls", []), where)
    if archive is None and not urls:
        raise ManifestError(f"{where}: needs urls or an archive")
    return OfficialFile(name=name, group=str(raw.get("group", "")),
                        dest=_checked_relative(raw.get("dest"), where), urls=urls,
                        size=_optional_int(raw.get("size"), where),
                        sha1=_optional_hex(raw.get("sha1"), 40, where),
                        sha256=_optional_hex(raw.get("sha256"), 64, where),
                        license=str(raw.get("license", "")), archive=archive,
                        member=raw.get("member"), note=raw.get("note"))


def load_manifest(path: str | Path | None = None) -> list[OfficialFile]:
    """Every official file of the manifest, in manifest order; malformed entries are refused."""
    path = Path(path) if path else manifest_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: manifest not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), list):
        raise ManifestError(f"{path}: expected an object with a 'files' list")
    archives = {name: _archive(name, entry, f"{path}: archive {name}")
                for name, entry in (raw.get("archives") or {}).items()}
    files = [_file(entry, archives, f"{path}: files[{index}]") for index, entry in enumerate(raw["files"])]
    for attribute in ("name", "dest"):
        values = [getattr(official, attribute) for official in files]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ManifestError(f"{path}: repeated {attribute}: {', '.join(repeated)}")
    return files


def select(files: Sequence[OfficialFile], names: Iterable[str] | None) -> list[OfficialFile]:
    """The files named (by file name or group name), in manifest order; all when names is None/empty."""
    names = list(names or ())
    if not names:
        return list(files)
    known_groups = {official.group for official in files}
    known_names = {official.name for official in files}
    unknown = [name for name in names if name not in known_names and name not in known_groups]
    if unknown:
        raise UnknownNameError(
            f"unknown official file {', '.join(repr(name) for name in unknown)}; known groups: "
            f"{', '.join(sorted(known_groups))}; files: see `python -m reproduce models`")
    wanted = set(names)
    return [official for official in files if official.name in wanted or official.group in wanted]
