"""The atlas's thumbnails: one small JPEG per run, made once, shown lazily by the index.

A run's thumbnail is `OUT_DIR/atlas/thumb/<the run's JPEG path>` (the store's relative path,
so no second naming rule), made from the run's lossless PNG: at most THUMB_SIDE pixels a side
(Lanczos; smaller images keep their size), JPEG quality THUMB_QUALITY. It is made only when
missing or older than its PNG, and written only when its bytes differ (a sweep that rewrote
the same image changes nothing), so a rerun of the atlas costs one stat per run.
"""
from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from PIL import Image

from common.atomic import write_if_changed

log = logging.getLogger(__name__)
THUMB_DIR = "thumb"
THUMB_SIDE = 112  # the index's tile size in CSS pixels (reproduce.sweep.atlas_assets)
THUMB_QUALITY = 85


def thumbnail_name(jpeg: str) -> str:
    """The thumbnail's path relative to the atlas folder, for a run's JPEG path."""
    return f"{THUMB_DIR}/{jpeg}"


def thumbnail_bytes(source: Path) -> bytes:
    """The JPEG thumbnail of an image file."""
    with Image.open(source) as image:
        small = image.convert("RGB")
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=THUMB_QUALITY)
    return buffer.getvalue()


def ensure_thumbnail(source: Path, target: Path) -> bool:
    """Makes `target` from `source` unless it is there and not older; True if written.

    A missing source is logged and skipped (its tile shows no image)."""
    try:
        source_time = source.stat().st_mtime_ns
    except FileNotFoundError:
        log.warning("%s: missing; its atlas tile has no thumbnail", source)
        return False
    try:
        if target.stat().st_mtime_ns >= source_time:
            return False
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
    written = write_if_changed(target, thumbnail_bytes(source))
    if not written:
        os.utime(target)  # the same bytes: current again, not remade on the next rerun
    return written
