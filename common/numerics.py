"""The one relative error every comparison in the project reports (fixtures, conformance,
regression checks, the browser page's tests, benchmarks)."""
from __future__ import annotations

import numpy as np


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual − expected| / max |expected| (the infinity-norm relative error, in float64).

    An `expected` of zeros gives the absolute error; shapes that differ give infinity (a
    comparison that can only fail); two empty arrays agree (0)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    if not expected.size:
        return 0.0
    diff = float(np.max(np.abs(actual - expected)))
    scale = float(np.max(np.abs(expected)))
    return diff / scale if scale > 0 else diff
