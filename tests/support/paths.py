"""Where the tests find the project and its reference material, and how many threads they use.

REPO_ROOT: the checkout. SHARED: the read-only reference material beside it (../shared;
optional: tests that need it skip, saying so, when it is absent; never copied in). THREADS:
DGN_AM_THREADS, ONNX Runtime's intra-op thread count in the driver tests and OpenMP's (NumPy's
BLAS) default (tests/conftest.py sets OMP_NUM_THREADS from it); the suite passes at 1 and 2
(tests/TOLERANCES.md).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SHARED = REPO_ROOT.parent / "shared"
THREADS = int(os.environ.get("DGN_AM_THREADS", "2"))
