"""Shared test set-up: the repository root is importable; OpenMP's thread count follows
DGN_AM_THREADS (support/paths.py); the `ort_threads` fixture."""
import os
import sys

import pytest

from support.paths import REPO_ROOT, THREADS

sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))


@pytest.fixture(scope="session")
def ort_threads() -> int:
    """ONNX Runtime intra-op thread count for the tests that run a step graph (DGN_AM_THREADS)."""
    return THREADS
