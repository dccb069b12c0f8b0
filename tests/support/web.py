"""Shared by the browser page's tests: node scripts of web/tests/, the demo site (built once per
test session), the Python driver's run of the same settings, NumPy's start-code draws."""
from __future__ import annotations

import functools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from support.paths import REPO_ROOT

WEB_TESTS = REPO_ROOT / "web" / "tests"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found (install Node.js 18+; tools/setup_conformance.sh does)")
    return node


def run_node(script: str, directory: Path) -> dict:
    """`node web/tests/SCRIPT DIRECTORY`; its DIRECTORY/answer.json."""
    done = subprocess.run([node_or_skip(), str(WEB_TESTS / script), str(directory)],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads((directory / "answer.json").read_text())


# ------------------------------------------------------------------ NumPy's start-code draws

def polar_arguments(seed: int, size: int) -> np.ndarray:
    """The r2 values NumPy's legacy polar Gaussian takes the log of, in order, for
    RandomState(seed).normal(0, 1, size) (size even): pairs of its uniform doubles u1, u2 with
    x = 2u − 1, kept while 0 < x1² + x2² < 1."""
    doubles = np.random.RandomState(seed).random_sample(2 * size + 2000)
    x1, x2 = 2.0 * doubles[0::2] - 1.0, 2.0 * doubles[1::2] - 1.0
    r2 = x1 * x1 + x2 * x2
    kept = r2[(r2 < 1.0) & (r2 != 0.0)]
    assert kept.size >= size // 2
    return kept[:size // 2]


def correctly_rounded_log(x: float) -> float:
    """log(x) rounded once to the nearest double (decimal at 60 digits, then one rounding)."""
    import decimal
    with decimal.localcontext() as context:
        context.prec = 60
        return float(decimal.Decimal(x).ln())


def libm_log(values: np.ndarray) -> np.ndarray:
    """The C library's log of each value (math.log calls it, as NumPy's legacy_gauss does;
    np.log of an array may take NumPy's own SIMD loop instead)."""
    return np.array([math.log(value) for value in values])


# ------------------------------------------------------------------ the demo site and driver

@functools.lru_cache(maxsize=None)
def demo_site() -> Path:
    """`python -m reproduce web SITE --demo`, built once per session (its npm download cached)."""
    from reproduce.web.browser import browser_unavailable
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("npm") is None and not _runtime_cached():
        pytest.skip("npm not found and onnxruntime-web not cached (install Node.js and npm)")
    site = Path(tempfile.mkdtemp(prefix="dgn-am-web-")) / "site"
    done = web_command(str(site), "--demo")
    assert done.returncode == 0, done.stderr
    return site


def web_in_process(*flags: str) -> int:
    """`python -m reproduce web FLAGS...` in this process (for the quick bad-input cases): the
    exit status; its messages go to stderr (capsys)."""
    from common.cli import run_subcommands
    return run_subcommands("python -m reproduce", None, ("reproduce.cli.web",), ["web", *flags])


def web_command(*flags: str, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m reproduce web FLAGS...` from the checkout (env: replaces os.environ's entries)."""
    return subprocess.run([sys.executable, "-m", "reproduce", "web", *flags], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _runtime_cached() -> bool:
    from reproduce.web.runtime_files import COMPLETE, cache_entry, pinned_package
    return (cache_entry(pinned_package()) / COMPLETE).is_file()


def driver_run(unit: int, seed: int, n_iters: int, start_lr: float, end_lr: float,
               threads: int):
    """The Python driver (the Job API) on the demo pair with demo.json's L2 and bound: the
    sample's result, with every code recorded."""
    from reproduce.inputs.demo import demo_settings
    from reproduce.run.job import Job, NetFiles, run_job
    from reproduce.step.rules import Schedule
    demo = demo_settings()
    job = Job.product(NetFiles(**demo.net_files), demo.act_layer, [unit], [seed],
                      Schedule.from_flags(n_iters, start_lr, end_lr, demo.L2), xy=demo.xy,
                      bound=demo.bound, threads=threads, record_codes=True, progress=False)
    return run_job(job)[0]


def first_divergence(page_acts, page_codes_final, result, rtol: float) -> int | None:
    """The first iteration whose activation (or, after the last, the code) is beyond rtol of the
    driver's (relative to the largest driver value, as reproduce.conformance.compare), or None."""
    from common.numerics import relative_error
    expected = np.asarray(result.acts)
    for iteration in range(len(expected)):
        if relative_error(np.asarray(page_acts[:iteration + 1]), expected[:iteration + 1]) > rtol:
            return iteration
    if relative_error(np.asarray(page_codes_final), result.codes[-1]) > rtol:
        return len(expected) - 1
    return None


def explain_divergence(site: Path, result, iteration: int, unit: int, schedule, workdir: Path):
    """Where the browser's step graph parts from ONNX Runtime in Python on the driver's state
    before `iteration` (reproduce.conformance.diagnose, in Chromium through web/index.html): the
    origins; all of them decisions (a ReLU mask, a max-pool choice) makes it a flip."""
    from reproduce.conformance.cases import Case
    from reproduce.conformance.compare import RTOL
    from reproduce.conformance.diagnose import diagnose
    from reproduce.conformance.runtimes import OnnxRuntimePython, OnnxRuntimeWebChromium
    from reproduce.inputs.bounds import load_bounds
    from reproduce.inputs.demo import demo_settings
    settings = json.loads((site / "settings.json").read_text())
    code = result.start_code if iteration == 0 else result.codes[iteration - 1][None]
    lower, upper = load_bounds(demo_settings().bound, settings["code_size"])
    case = Case(f"iteration {iteration}", {
        "code": np.asarray(code, np.float32), "step": np.array(schedule.step_size(iteration)),
        "unit": np.array([unit], np.int64), "l2": np.array(schedule.l2_factor),
        "active": np.ones(1, np.bool_), "best": np.zeros([1, *settings["image_shape"]], np.float32),
        "lower": lower, "upper": upper}, ("new_code", "act", "image"))
    browser = OnnxRuntimeWebChromium()
    reason = browser.unavailable()
    assert reason is None, f"cannot diagnose the divergence: {reason}"
    return diagnose(site / "model" / "step.onnx", case,
                    lambda path, probe: OnnxRuntimePython().run(path, [probe], workdir / "ref")[0],
                    lambda path, probe: browser.run(path, [probe], workdir / "web")[0],
                    workdir, RTOL)
