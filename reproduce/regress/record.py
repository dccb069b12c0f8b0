"""Regression references for users: record a run, later compare a new run against it.

A reference folder holds the run's trace, its images and reference.json (the act_max flags and
the numeric stack: library versions, provider, threads, machine). A comparison reruns the same
flags. On the same stack the run must be bit-identical (trace arrays and image bytes). On another
stack (the loop is chaotic, so whole runs drift apart) each recorded iteration is rerun from the
reference's own state and must agree within a relative tolerance: the activation before the step,
and the code after it.
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_bytes
from common.hashing import file_sha256
from common.errors import UserError
from reproduce.run.stack import versions

REFERENCE_FILE = "reference.json"
TRACE_FILE = "trace.npz"
ONE_STEP_RTOL = 1e-4


def numeric_stack(providers: list[str], threads: int | None) -> dict:
    """What a bit-identical rerun needs to share: the versions (reproduce.run.stack), the CPU,
    the providers and thread count."""
    return {**versions(), "machine": platform.machine(), "processor": platform.processor(),
            "providers": providers, "threads": threads or 0}


def write_reference(directory: Path, argv: list[str], stack: dict, images: list[Path]) -> Path:
    """Writes reference.json (flags, stack, image digests)."""
    record = {"argv": argv, "stack": stack,
              "images": {image.name: file_sha256(image) for image in images}}
    path = directory / REFERENCE_FILE
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode("utf-8"))
    return path


def read_reference(directory: Path) -> dict:
    path = directory / REFERENCE_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no reference here (record one with `regress record`)") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
    for key in ("argv", "stack", "images"):
        if key not in record:
            raise UserError(f"{path}: lacks '{key}'")
    return record


@dataclass
class Difference:
    """One line of a comparison report."""

    what: str
    same: bool
    detail: str

    def line(self) -> str:
        return f"{'same  ' if self.same else 'DIFFER'} {self.what}: {self.detail}"


def compare_arrays(name: str, reference: np.ndarray, new: np.ndarray) -> Difference:
    """Bit-level comparison of one trace array."""
    if reference.shape != new.shape or reference.dtype != new.dtype:
        return Difference(name, False, f"shape/dtype {reference.shape} {reference.dtype} → "
                                       f"{new.shape} {new.dtype}")
    unequal = reference.view(np.uint8) != new.view(np.uint8)
    if not unequal.any():
        return Difference(name, True, "bit-identical")
    differing = np.flatnonzero((reference != new) | (np.isnan(reference) != np.isnan(new))
                               if reference.dtype.kind == "f" else reference != new)
    first = np.unravel_index(differing[0], reference.shape) if differing.size else ()
    gap = np.abs(reference.astype(np.float64) - new.astype(np.float64))
    return Difference(name, False, f"{differing.size} of {reference.size} values differ, first at "
                                   f"index {tuple(int(i) for i in first)}, max |Δ| {np.nanmax(gap):.3g}")


