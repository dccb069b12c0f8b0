"""Resumable HTTP(S)/file downloads into a .part file (urllib, Range requests, tqdm progress).

A cut connection is resumed from the bytes already in the .part file (`Range: bytes=N-`), both
within one call (a few attempts) and across calls (the .part file is kept on failure).
"""
from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.request
from pathlib import Path

from common.progress import progress

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
USER_AGENT = "dgn-am-reproduction/1 (python urllib)"


class DownloadError(Exception):
    """A download failed; `unreachable` when no connection to the host could be made."""

    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


class _CutConnection(Exception):
    """The transfer stopped before the announced end; resumable."""


def _reason(error: object) -> str:
    """'Name or service not known' rather than '[Errno -2] Name or service not known'."""
    return getattr(error, "strerror", None) or str(error)


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return None  # Nothing left past offset: the .part file already holds everything.
        raise DownloadError(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, FileNotFoundError):
            raise DownloadError("not found") from None
        raise DownloadError(f"unreachable ({_reason(error.reason)})", unreachable=True) from None
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"unreachable ({_reason(error)})", unreachable=True) from None


def _resume_start(response, offset: int) -> int:
    """Byte offset the response body starts at: offset for a 206 answer, 0 for a full answer."""
    if offset and getattr(response, "status", None) == 206:
        content_range = response.headers.get("Content-Range", "")
        if not content_range.startswith(f"bytes {offset}-"):
            raise DownloadError(f"server answered the resume request with range {content_range!r}")
        return offset
    return 0


def _announced_total(response, start: int) -> int | None:
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def _read(response, written: int) -> bytes:
    try:
        return response.read(_CHUNK)
    except (OSError, http.client.HTTPException) as error:
        raise _CutConnection(f"connection cut after {written} bytes ({error})") from None


def _transfer(response, part: Path, start: int, label: str) -> None:
    total = _announced_total(response, start)
    written = start
    part.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "r+b" if start else "wb") as out, \
            progress(total=total, initial=start, unit="B", unit_scale=True, desc=label,
                     leave=False) as bar:
        out.seek(start)
        out.truncate()
        while chunk := _read(response, written):
            out.write(chunk)  # A local write error (disk full) propagates as OSError.
            written += len(chunk)
            bar.update(len(chunk))
    if total is not None and written < total:
        raise _CutConnection(f"connection cut after {written} of {total} bytes")


def download(url: str, part: Path, *, timeout: float = 30.0, attempts: int = 4, label: str = "") -> None:
    """Downloads url into part, resuming from part's current size; raises DownloadError.

    On failure the .part file keeps what arrived, so a later call resumes it.
    """
    last_cut = ""
    for attempt in range(attempts):
        offset = part.stat().st_size if part.exists() else 0
        if offset:
            log.info("%s: resuming at byte %d", label or url, offset)
        response = _open(url, offset, timeout)
        if response is None:
            return
        with response:
            try:
                _transfer(response, part, _resume_start(response, offset), label or part.name)
                return
            except _CutConnection as cut:
                last_cut = str(cut)
                log.info("%s: %s; retrying (%d/%d)", label or url, cut, attempt + 1, attempts)
    raise DownloadError(f"{last_cut}; gave up after {attempts} attempts (rerun fetch to resume)")
