"""Shared test set-up: the repository root is importable; OpenMP's thread count follows
DGN_AM_THREADS (support/paths.py); built step graphs are cached in a folder of this test session
(not the user's ~/.cache/dgn-am); the `ort_threads` and `print_measured_errors` fixtures."""
import os
import sys
import tempfile

import pytest

from support.paths import REPO_ROOT, THREADS

sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("DGN_AM_CACHE", tempfile.mkdtemp(prefix="dgn-am-test-cache-"))


@pytest.fixture(scope="session")
def ort_threads() -> int:
    """ONNX Runtime intra-op thread count for the tests that run a step graph (DGN_AM_THREADS)."""
    return THREADS


@pytest.fixture(scope="module")
def print_measured_errors():
    """After a gradient-rule test module (`pytestmark = pytest.mark.usefixtures(...)`), the
    largest error measured per rule and form (support/vjp_check; shown with pytest -s)."""
    yield
    from support.vjp_check import report_measured
    print("\nlargest errors per rule (relative to max(1, |grad|max)):\n" + report_measured())
