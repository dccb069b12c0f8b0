"""OUT_DIR/atlas/: a static site to browse a sweep, written from OUT_DIR/runs.sqlite.

    atlas/index.html        every run as a `.run` tile (data-unit, data-seed, data-act, data-set;
                            reproduce.sweep.atlas_index), filtered and sorted by atlas.js
    atlas/unit/NNNN.html    one page per unit: every seed large, curves, ranks, command lines
                            (reproduce.sweep.atlas_unit)
    atlas/atlas.css, atlas/atlas.js   the assets (reproduce.sweep.atlas_assets)
    atlas/thumb/...         one thumbnail per run, made once (reproduce.sweep.thumbnails)
    OUT_DIR/atlas.html      a redirect to atlas/index.html (where the atlas used to be)

Plain HTML, CSS and one script, with paths relative to the page: it opens from file:// and
from any web server, and fetches nothing from the network. Every file is written atomically
and only when its bytes change, so rewriting the atlas after a sweep touches only the pages
the new runs (or a new labels file) change; the index is written last. `AtlasReport` says
how much was written and how large the atlas is.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common.atomic import write_if_changed
from common.errors import UserError
from reproduce.outputs.labels import read_labels
from reproduce.sweep.atlas_assets import CSS, JS
from reproduce.sweep.atlas_index import index_html
from reproduce.sweep.atlas_model import UNIT_DIR, atlas_runs, atlas_sets, unit_page_name
from reproduce.sweep.atlas_unit import unit_html
from reproduce.sweep.run_command import act_max_command
from reproduce.sweep.store import Store
from reproduce.sweep.thumbnails import THUMB_DIR, ensure_thumbnail

log = logging.getLogger(__name__)
ATLAS_DIR = "atlas"
INDEX_NAME = "index.html"
REDIRECT_NAME = "atlas.html"
REDIRECT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=atlas/index.html">
<title>atlas</title>
<link rel="icon" href="data:,">
</head>
<body><p>The atlas is <a href="atlas/index.html">atlas/index.html</a>.</p></body>
</html>
"""
UNRECORDED_NETS = ("This store does not record its sweep's net flags (it was written before "
                   "they were recorded): add them to each command line.")


@dataclass
class AtlasReport:
    """What writing the atlas did, and its size."""

    index: Path
    runs: int
    units: int
    files: int = 0  # files the atlas consists of (its folder's and the redirect)
    written: int = 0  # of them, (re)written this time
    removed: int = 0  # stale unit pages and thumbnails deleted
    atlas_bytes: int = 0  # the atlas folder
    image_bytes: int = 0  # the runs' PNGs the unit pages show (in the sets' folders)

    def summary(self) -> str:
        return (f"atlas: {self.index} ({self.runs} runs, {self.units} unit pages; "
                f"{megabytes(self.atlas_bytes)} in {self.index.parent}, plus "
                f"{megabytes(self.image_bytes)} of run images it shows; {self.written} of "
                f"{self.files} files written, the others unchanged)")


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@dataclass
class Writer:
    """Writes files under the atlas folder when their bytes change, counting both."""

    root: Path
    report: AtlasReport
    kept: set[Path] = field(default_factory=set)

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.report.written += write_if_changed(path, text.encode("utf-8"))
        self.track(path)

    def track(self, path: Path) -> None:
        self.kept.add(path)
        self.report.files += 1

    def remove_others(self, folder: str, pattern: str) -> None:
        """Deletes files under `folder` matching `pattern` that this writing did not produce."""
        for path in (self.root / folder).rglob(pattern):
            if path not in self.kept:
                path.unlink()
                self.report.removed += 1


def write_atlas(out_dir: str | Path, rows: Sequence[Mapping[str, object]], *,
                labels: Mapping[int, str], title: str, net_flags: Sequence[str] | None,
                bound_files: Mapping[str, str]) -> AtlasReport:
    """Writes OUT_DIR/atlas/ for these store rows; `net_flags` are the sweep's act_max net
    flags (None: not recorded), `bound_files` each bound file's path by content hash."""
    out_dir = Path(out_dir)
    root = out_dir / ATLAS_DIR
    runs = atlas_runs(rows, labels)
    sets = atlas_sets(rows)
    by_unit = defaultdict(list)
    for run in runs:
        by_unit[run.unit].append(run)
    units = sorted(by_unit)
    report = AtlasReport(root / INDEX_NAME, len(runs), len(units))
    writer = Writer(root, report)
    for run in runs:
        target = root / run.thumbnail
        report.written += ensure_thumbnail(out_dir / str(run.row["image"]), target)
        writer.track(target)
    writer.write("atlas.css", CSS)
    writer.write("atlas.js", JS)
    commands = {id(run): act_max_command(run.row, net_flags or (), bound_files) for run in runs}
    for place, unit in enumerate(units):
        previous = units[place - 1] if place > 0 else None
        following = units[place + 1] if place + 1 < len(units) else None
        page = unit_html(unit, by_unit[unit][0].label, by_unit[unit], sets, commands, title,
                         previous, following, note="" if net_flags is not None else UNRECORDED_NETS)
        writer.write(unit_page_name(unit), page)
    writer.write(INDEX_NAME, index_html(runs, sets, title))
    writer.remove_others(UNIT_DIR, "*.html")
    writer.remove_others(THUMB_DIR, "*.jpg")
    report.written += write_if_changed(out_dir / REDIRECT_NAME, REDIRECT.encode("utf-8"))
    report.files += 1
    report.atlas_bytes = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())
    report.image_bytes = sum(path.stat().st_size for path in
                             (out_dir / str(run.row["image"]) for run in runs) if path.is_file())
    return report


def default_title(out_dir: str | Path) -> str:
    return f"DGN-AM sweep atlas: {Path(out_dir).resolve().name}"


def write_store_atlas(out_dir: str | Path, store: Store, labels_file: str | None = None,
                      title: str | None = None) -> AtlasReport:
    """The atlas of the store's rows, with the labels file given, else the one the sweep
    recorded (a given file that is missing is a UserError naming --labels)."""
    if labels_file is not None and not Path(labels_file).is_file():
        raise UserError(f"--labels {labels_file}: file not found")
    labels = read_labels(labels_file if labels_file is not None else store.meta("labels"))
    return write_atlas(out_dir, store.rows(), labels=labels, title=title or default_title(out_dir),
                       net_flags=store.meta("act_max_flags"),
                       bound_files=store.meta("bound_files") or {})
