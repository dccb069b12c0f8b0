"""Shared by the conformance tests: the demo pair's job, a conformance run, and a runtime or the
skip that says why it is unavailable."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

from reproduce.conformance.run import Setup, run_conformance, setup_from_job
from reproduce.conformance.runtimes import RUNTIMES, Runtime
from reproduce.experiments.table import demo_job
from reproduce.inputs.demo import DEMO_DIR, demo_settings

# Two states of the demo's published 200-iteration run: the start and late in the run.
ITERATIONS = (0, 150)


@functools.lru_cache(maxsize=None)
def demo_setup(iterations: tuple[int, ...] = ITERATIONS) -> Setup:
    return setup_from_job(demo_job(demo_settings(DEMO_DIR)), iterations)


def results_for(runtime_names: tuple[str, ...], batches: tuple[int, ...] = (1, 4)):
    """run_conformance on the demo pair for these runtimes, in a temporary directory."""
    runtimes: list[Runtime] = [RUNTIMES[name]() for name in runtime_names]
    with tempfile.TemporaryDirectory() as workdir:
        return run_conformance(demo_setup(), batches, runtimes, Path(workdir))


def by_model(results, runtime: Runtime) -> dict[str, object]:
    return {result.model: result for result in results if result.runtime == runtime.name}


def available_runtime(name: str) -> Runtime:
    """RUNTIMES[name], or the test skips with the runtime's reason for being unavailable."""
    runtime = RUNTIMES[name]()
    reason = runtime.unavailable()
    if reason:
        pytest.skip(reason)
    return runtime
