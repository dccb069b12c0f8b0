"""Shared test set-up: the repository root is importable; ../shared is optional."""
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# Reference material beside the checkout (read-only; present in CI, never copied in).
SHARED = REPO_ROOT.parent / "shared"
os.environ.setdefault("OMP_NUM_THREADS", "2")
