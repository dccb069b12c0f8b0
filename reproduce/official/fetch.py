"""Fetching official files: download (resumable), verify, extract archive members, place atomically.

Every file is verified against its published checksum (or the one recorded on its first
download) before it is moved into place with os.replace; a file that fails verification is
deleted, never kept. A download that breaks off stays in data/.downloads/*.part for resuming.
"""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from common.errors import UserError
from reproduce.official.archive import ArchiveError, extract_member
from reproduce.official.checksums import RecordedChecksums, digests, mismatch
from reproduce.official.download import DownloadError, download
from reproduce.official.manifest import (ArchiveSource, OfficialFile, data_root,
                                               downloads_dir)

log = logging.getLogger(__name__)


class FetchWriteError(UserError):
    """The data directory cannot be written (permissions, disk full)."""


@dataclass(frozen=True)
class FetchOutcome:
    """What happened to one requested file: ok, and a one-line message."""

    file: OfficialFile
    ok: bool
    message: str


def _place(source: Path, dest: Path) -> None:
    """Moves a verified file into place atomically (copy beside dest first across filesystems)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, dest)
    except OSError:
        beside = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            shutil.copyfile(source, beside)
            os.replace(beside, dest)
        finally:
            beside.unlink(missing_ok=True)
        source.unlink()


class Fetcher:
    """One fetch run: shared record of checksums, mirrors, and hosts found unreachable."""

    def __init__(self, *, base_urls: Sequence[str] | None = None, timeout: float = 30.0,
                 keep_archives: bool = False):
        self.root = data_root()
        self.recorded = RecordedChecksums(self.root)
        self.base_urls = [url.rstrip("/") for url in base_urls or ()]
        self.timeout = timeout
        self.keep_archives = keep_archives
        self.unreachable: dict[str, str] = {}

    def _urls(self, mirror_path: str, official_urls: Sequence[str]) -> list[str]:
        if self.base_urls:
            return [f"{base}/{mirror_path}" for base in self.base_urls]
        return list(official_urls)

    def _download_verified(self, urls: Sequence[str], part: Path, key: str,
                           published: tuple[int | None, str | None, str | None], label: str
                           ) -> tuple[str | None, list[str]]:
        """Tries each URL into part until one verifies; (that URL or None, failure reasons)."""
        reasons = []
        for url in urls:
            host = urlsplit(url).netloc
            if host in self.unreachable:
                reasons.append(f"{host} {self.unreachable[host]}")
                continue
            try:
                download(url, part, timeout=self.timeout, label=label)
            except DownloadError as error:
                if error.unreachable and host:
                    self.unreachable[host] = str(error)
                reasons.append(f"{host} {error}" if error.unreachable and host else f"{url}: {error}")
                continue
            problem = self._verify_or_record(part, key, published, url)
            if problem:
                part.unlink()
                reasons.append(f"{url}: {problem}; download discarded")
                continue
            return url, reasons
        return None, reasons

    def _verify_or_record(self, path: Path, key: str,
                          published: tuple[int | None, str | None, str | None], source: str) -> str | None:
        """None when path matches what is known about key; records sha256/size when unpublished."""
        actual = digests(path)
        problem = mismatch(actual, self.recorded.expected(key, *published))
        if problem:
            if key in self.recorded.entries:
                problem += f" (recorded on first download in {self.recorded.path})"
            return problem
        if published[2] is None and key not in self.recorded.entries:
            self.recorded.record(key, actual, source)
            log.info("%s: no published sha256; recorded %s", key, actual.sha256)
        return None

    def _failure(self, official: OfficialFile, reasons: Sequence[str]) -> FetchOutcome:
        unique = list(dict.fromkeys(reasons))
        return FetchOutcome(official, False,
                            f"not fetched: {'; '.join(unique) or 'no URL to try'}; {official.placement_hint()}")

    def fetch_direct(self, official: OfficialFile) -> FetchOutcome:
        """Downloads a plain file, verifies it, moves it into place."""
        part = downloads_dir() / (official.dest.replace("/", "__") + ".part")
        url, reasons = self._download_verified(
            self._urls(official.dest, official.urls), part, official.dest,
            (official.size, official.sha1, official.sha256), official.name)
        if url is None:
            return self._failure(official, reasons)
        _place(part, official.path)
        return FetchOutcome(official, True, f"fetched from {url}")

    def _archive_file(self, archive: ArchiveSource) -> tuple[Path | None, list[str], bool]:
        """(verified archive in data/.downloads or None, failure reasons, downloaded by this run)."""
        complete = downloads_dir() / archive.name
        key = f"archives/{archive.name}"
        published = (archive.size, archive.sha1, archive.sha256)
        if complete.exists():
            problem = self._verify_or_record(complete, key, published, str(complete))
            if not problem:
                return complete, [], False
            log.warning("%s: %s; downloading it again", complete, problem)
            complete.unlink()
        part = complete.with_name(complete.name + ".part")
        url, reasons = self._download_verified(self._urls(archive.name, archive.urls), part, key,
                                               published, archive.name)
        if url is None:
            return None, reasons, False
        os.replace(part, complete)
        return complete, reasons, True

    def _extract(self, archive_file: Path, official: OfficialFile) -> FetchOutcome:
        try:
            temp = extract_member(archive_file, official.member, official.path.parent)
        except ArchiveError as error:
            return self._failure(official, [str(error)])
        try:
            problem = self._verify_or_record(temp, official.dest, (official.size, official.sha1, official.sha256),
                                             f"{archive_file.name}:{official.member}")
            if problem:
                return self._failure(official, [f"{official.member} in {archive_file.name}: {problem}; not kept"])
            os.replace(temp, official.path)
        finally:
            temp.unlink(missing_ok=True)
        return FetchOutcome(official, True, f"extracted from {archive_file.name}")

    def fetch_from_archive(self, archive: ArchiveSource, members: Sequence[OfficialFile]) -> list[FetchOutcome]:
        """Gets the archive once, extracts just the members asked for, then drops the archive.

        An archive placed by hand in data/.downloads is kept; one downloaded now is deleted once
        every member asked for is in place (unless keep_archives).
        """
        archive_file, reasons, downloaded = self._archive_file(archive)
        if archive_file is None:
            return [self._failure(official, reasons) for official in members]
        outcomes = [self._extract(archive_file, official) for official in members]
        if downloaded and all(outcome.ok for outcome in outcomes) and not self.keep_archives:
            archive_file.unlink()
        return outcomes


def fetch_files(files: Sequence[OfficialFile], *, base_urls: Sequence[str] | None = None,
                timeout: float = 30.0, keep_archives: bool = False) -> list[FetchOutcome]:
    """Fetches the given files (the caller leaves out those already in place); manifest order.

    With base_urls (mirrors), a file is looked for at BASE/<dest>, so a directory in the data/
    layout (or a copy of the release with its weights downloaded) serves as a mirror; an archive
    member not found there is taken from BASE/<archive name>.
    """
    fetcher = Fetcher(base_urls=base_urls, timeout=timeout, keep_archives=keep_archives)
    try:
        return _fetch_all(fetcher, files)
    except OSError as error:  # Local disk trouble (permissions, disk full): one line, no traceback.
        raise FetchWriteError(f"cannot write under {fetcher.root}: {error}") from None


def _fetch_all(fetcher: Fetcher, files: Sequence[OfficialFile]) -> list[FetchOutcome]:
    outcomes: dict[str, FetchOutcome] = {}
    by_archive: dict[str, list[OfficialFile]] = {}
    for official in files:
        if official.archive:
            by_archive.setdefault(official.archive.name, []).append(official)
        else:
            outcomes[official.name] = fetcher.fetch_direct(official)
    for members in by_archive.values():
        if fetcher.base_urls:  # A mirror may hold the members already extracted, at BASE/<dest>.
            for official in members:
                outcome = fetcher.fetch_direct(official)
                if outcome.ok:
                    outcomes[official.name] = outcome
                else:
                    log.debug("%s: not at the mirror as a plain file; trying %s", official.name,
                             official.archive.name)
            members = [official for official in members if official.name not in outcomes]
        if members:
            for outcome in fetcher.fetch_from_archive(members[0].archive, members):
                outcomes[outcome.file.name] = outcome
    return [outcomes[official.name] for official in files]
