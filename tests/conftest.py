"""Shared test set-up: the repository root is importable; ../shared is optional."""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# Reference material beside the checkout (read-only; present in CI, never copied in).
SHARED = REPO_ROOT.parent / "shared"
# Thread counts (tests/TOLERANCES.md): DGN_AM_THREADS sets ONNX Runtime's intra-op threads in the
# driver tests and is OpenMP's (NumPy's BLAS) default; the suite passes at 1 and 2.
THREADS = int(os.environ.get("DGN_AM_THREADS", "2"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))


@pytest.fixture(scope="session")
def ort_threads() -> int:
    """ONNX Runtime intra-op thread count for the tests that run a step graph (DGN_AM_THREADS)."""
    return THREADS
