"""Code bounds from an activation-range file (--bound), as the release loads them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.errors import UserError


def load_bounds(path: str | Path, code_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper), float64 (1, code_size): upper from the file's one line, lower zeros.

    The release reads `np.loadtxt(path, delimiter=' ', usecols=range(K))` (float64) and uses
    zeros as the lower bound (the code is a ReLU output). Unlike the release, a file with a
    number count other than K, more than one line of numbers, or a NaN or negative upper
    bound (below the lower bound 0: it would pin the code to a constant) is refused.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise UserError(f"--bound {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"--bound {path}: cannot be read ({error})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise UserError(f"--bound {path}: expected one line of {code_size} numbers, "
                        f"found {len(lines)} non-empty lines")
    try:
        upper = np.array([float(token) for token in lines[0].split()], dtype=np.float64)
    except ValueError as error:
        raise UserError(f"--bound {path}: {error}") from None
    if upper.size != code_size:
        raise UserError(f"--bound {path}: holds {upper.size} numbers, the code has {code_size}")
    bad = np.flatnonzero(~(upper >= 0))
    if bad.size:
        raise UserError(f"--bound {path}: number {bad[0] + 1} is {lines[0].split()[bad[0]]}: "
                        "an upper bound must be a number ≥ 0 (the lower bound is 0)")
    upper = upper.reshape(1, code_size)
    return np.zeros_like(upper), upper
