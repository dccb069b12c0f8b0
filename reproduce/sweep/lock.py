"""One writer per OUT_DIR: an exclusive `fcntl.flock` on OUT_DIR/.lock, held for the sweep.

The kernel drops the lock when its holder dies (even by SIGKILL), so a crashed sweep never
leaves OUT_DIR locked. A second sweep is refused at once with one line naming the holder.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.errors import UserError

LOCK_NAME = ".lock"


@contextmanager
def exclusive(out_dir: str | Path) -> Iterator[Path]:
    """Holds OUT_DIR's lock for the block; a UserError when another process holds it."""
    path = Path(out_dir) / LOCK_NAME
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserError(f"{out_dir}: another sweep is writing here ({holder}); "
                            "wait for it to finish or use another OUT_DIR") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing releases the lock
