"""The project's user-visible cache folder: built step graphs, the browser page's npm packages.

`DGN_AM_CACHE` names it; otherwise `$XDG_CACHE_HOME/dgn-am`, else `~/.cache/dgn-am`. Each user of
the cache keeps its entries in its own subfolder (`cache_folder("step_graphs")`), named by the
content hash of what the entry was built from, and writes them atomically (common.atomic), so
concurrent runs never see a half-written entry and deleting the folder only costs a rebuild.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The cache folder (not created)."""
    if os.environ.get("DGN_AM_CACHE"):
        return Path(os.environ["DGN_AM_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dgn-am"


def cache_folder(kind: str) -> Path:
    """The subfolder for one kind of entry, created if missing."""
    folder = cache_root() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder
