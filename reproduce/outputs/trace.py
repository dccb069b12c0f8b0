"""The run trace (--trace FILE.npz): what a run computed, for tests and regression checks.

acts: float64 (n,), the activation before each iteration's update; codes: float32 (n, K), the
code after each iteration's update as stored for the next; code_init: float32 (1, K), the
start code as used; best: float32 (1, 3, H, W) BGR, the returned image; saved: uint8 H×W×3
RGB, exactly the array the writer encodes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.atomic import atomic_output
from common.errors import UserError

TRACE_KEYS = ("acts", "codes", "code_init", "best", "saved")


def write_trace(path: str | Path, *, acts, codes, code_init, best, saved) -> None:
    """Writes the trace atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"acts": np.asarray(acts, np.float64),
              "codes": np.asarray(codes, np.float32).reshape(len(acts), -1),
              "code_init": np.asarray(code_init, np.float32).reshape(1, -1),
              "best": np.asarray(best, np.float32).reshape((1,) + np.shape(best)[-3:]),
              "saved": np.asarray(saved, np.uint8)}
    with atomic_output(path) as stream:
        np.savez(stream, **arrays)


def read_trace(path: str | Path) -> dict[str, np.ndarray]:
    """The trace's arrays; a UserError when the file is missing or lacks a key."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise UserError(f"{path}: trace file not found") from None
    except (ValueError, OSError) as error:
        raise UserError(f"{path}: not a readable trace ({error})") from None
    missing = [key for key in TRACE_KEYS if key not in arrays]
    if missing:
        raise UserError(f"{path}: trace lacks {', '.join(missing)}")
    return arrays
