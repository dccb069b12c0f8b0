"""Every benchmark still imports what it uses: `--help` of each script in benchmarks/ exits 0.

Benchmarks are not run by the suite (they measure, they do not assert), so a helper they import
could be renamed or removed without any test noticing; this catches that in seconds.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from support.paths import REPO_ROOT

BENCHMARKS = sorted(path.name for path in (REPO_ROOT / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks():
    assert "bench_web.py" in BENCHMARKS and "bench_runtimes.py" in BENCHMARKS


@pytest.mark.parametrize("script", BENCHMARKS)
def test_a_benchmark_answers_help(script):
    done = subprocess.run([sys.executable, f"benchmarks/{script}", "--help"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script} --help: {done.stderr.strip().splitlines()[-1:]}"
    assert "usage" in done.stdout.lower()
