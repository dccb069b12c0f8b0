"""The start code: the release's `np.random.seed(s); np.random.normal(0, 1, shape)`, or a stored one."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common.errors import UserError
from reproduce.inputs.npy_file import read_npy


def random_start_code(seed: int, code_size: int) -> np.ndarray:
    """NumPy's legacy global generator (MT19937 + its polar Gaussian), float64 (1, code_size).

    `RandomState(seed)` draws the same stream as `np.random.seed(seed)` followed by
    `np.random.normal`, without touching the global state. The release stores this into the
    float32 input blob; callers cast with `as_stored_code`.
    """
    if not 0 <= seed < 2**32:
        raise UserError(f"--seed {seed}: must be in [0, 2**32) (NumPy's legacy seed range)")
    return np.random.RandomState(seed).normal(0, 1, (1, code_size))


def as_stored_code(code: np.ndarray) -> np.ndarray:
    """The value Caffe's float32 input blob holds after `blob.data[:] = code`."""
    return np.ascontiguousarray(code, dtype=np.float32)


def load_code_file(path: str | Path, code_size: int) -> np.ndarray:
    """A stored start code (--init_code FILE.npy): code_size real numbers in any shape,
    returned float32 (1, K). Refused, as one line: an unreadable file, another count, a
    dtype that is not a real number (bool, complex, strings, dates), values that are not
    finite as float32 (NaN, inf, beyond float32's range: the run would be meaningless)."""
    path = Path(path)
    code = read_npy(path, "--init_code")
    if code.size != code_size or code.dtype.kind not in "fiu":
        raise UserError(f"--init_code {path}: holds {code.size} {code.dtype} values, "
                        f"the generator's code has {code_size} real numbers")
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        stored = as_stored_code(code.reshape(1, code_size))
    if not np.isfinite(stored).all():
        raise UserError(f"--init_code {path}: holds values that are not finite as float32")
    return stored
