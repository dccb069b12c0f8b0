"""The driver's side of a finished batch: images first (each atomically), then its rows at once.

Order matters for crash safety: a run's JPEG and PNG are complete under their final names
before the transaction that inserts its row, so a row never lacks its images; a run whose
images were written but whose row was not (killed in between) is simply run again and its
images replaced (atomically) by the same bytes. Temporary files a killed writer left behind
are removed by `remove_stale_temporaries` before the next sweep writes (under the lock).
"""
from __future__ import annotations

import datetime
import logging
from pathlib import Path

import PIL

from reproduce.outputs.images import write_result_image
from reproduce.sweep.batch import BatchOutput
from reproduce.sweep.store import Store

log = logging.getLogger(__name__)
TEMPORARY_PATTERNS = (".*.jpg.*.tmp", ".*.png.*.tmp", ".*.html.*.tmp", ".*.csv.*.tmp",
                      ".*.parquet.*.tmp")  # common.atomic's temporary names


def commit_batch(out_dir: str | Path, store: Store, output: BatchOutput) -> None:
    """Writes the batch's JPEG + PNG per run (act_max's writer), then inserts its rows."""
    out_dir = Path(out_dir)
    for row, saved in zip(output.rows, output.saved, strict=True):
        write_result_image(out_dir / str(row["jpeg"]), saved)
    finished_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    store.insert({**row, "pillow": PIL.__version__, "finished_at": finished_at}
                 for row in output.rows)


def remove_stale_temporaries(out_dir: str | Path) -> int:
    """Deletes the temporary files of writes that never finished; returns how many."""
    removed = 0
    for pattern in TEMPORARY_PATTERNS:
        for path in Path(out_dir).rglob(pattern):
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d temporary file(s) of an interrupted sweep", removed)
    return removed
