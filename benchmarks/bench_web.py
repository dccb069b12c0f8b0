"""Benchmark (not a test): the browser page (`python -m reproduce web`) against the Python driver,
measured in one run: ms per DGN-AM iteration and model load time, on the demo pair (models/demo)
and at full size (the fc6 generator + CaffeNet with bench_loop.py's seeded synthetic weights,
tools/synthetic_weights.py; never the official ones), act layer fc8, bound mode (the demo's
bound file; a synthetic bound of 3.0 at full size), batch 1.

Page: headless Chromium (Debian's, reproduce.web.browser) on the site served with COOP/COEP,
wasm backend at 1 thread and at all threads (navigator.hardwareConcurrency), one autorun of
--iterations from seed 0, after a warm-up run in the same browser (V8 first runs WebAssembly
from its baseline compiler, then its optimised code); ms/iteration is the median time of the step graph's session.run (the
page's own measurement, `ms_per_iteration` in #result), "wall" adds the page's redraw per
iteration; load is the page's download + session creation + backend choice (`load_ms`); memory
is what Chromium's performance.measureUserAgentSpecificMemory() reports after loading, beside the
page's stated estimate (settings.json "memory"). Python driver: ONNX Runtime's CPU provider at 1
and all threads (StepRunner on the weight-free step graph with its weights, as the driver runs it), the median of
--iterations steps after a warm-up step; load is its session creation. Ratios: each row against
the Python driver at one thread of the same size.
Usage: python benchmarks/bench_web.py [--sizes demo full] [--iterations 20] [--table FILE]
(--table: also write the results as a Markdown table: tools/regenerate_tables.py)
"""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_runtimes import net_files  # noqa: E402
from common.atomic import atomic_write_bytes  # noqa: E402
from reproduce.inputs.bounds import load_bounds  # noqa: E402
from reproduce.inputs.start_code import as_stored_code, random_start_code  # noqa: E402
from reproduce.run.runner import StepRunner  # noqa: E402
from reproduce.step.rules import Schedule  # noqa: E402
from reproduce.web.browser import PageDriver, browser_unavailable  # noqa: E402
from reproduce.web.settings import PageDefaults, SiteSpec  # noqa: E402
from reproduce.web.site import build_site  # noqa: E402

UNIT = 1
SCHEDULE = (8.0, 1e-10, 0.99)  # start_lr, end_lr, L2: the published loop


def build(size: str, workdir: Path, n_iters: int):
    """The site of a size (its step model comes with it)."""
    files, bound = net_files(size, workdir)
    if bound is None:
        bound = workdir / "bound_3.0.txt"
        bound.write_text(" ".join(["3.0"] * 4096) + "\n")
    start_lr, end_lr, l2 = SCHEDULE
    spec = SiteSpec(files, "fc8", 0, l2, str(bound), False, None, False,
                    PageDefaults(UNIT, 0, n_iters, start_lr, end_lr))
    return build_site(spec, workdir / f"site_{size}"), bound


def python_driver(site, bound: Path, threads: int, n_iters: int) -> tuple[float, float]:
    """(median ms per step, session creation ms) of ONNX Runtime in Python."""
    shapes = site.step_model.shapes
    started = time.perf_counter()
    runner = StepRunner(site.step_model.model, weights=site.step_model.weights, threads=threads)
    load_ms = 1e3 * (time.perf_counter() - started)
    code = as_stored_code(random_start_code(0, shapes.code_size))
    runner.start(code, np.array([UNIT], np.int64), np.zeros((1, *shapes.net_input), np.float32),
                 load_bounds(bound, shapes.code_size))
    start_lr, end_lr, l2 = SCHEDULE
    schedule = Schedule.from_flags(n_iters + 1, start_lr, end_lr, l2)
    times = []
    for iteration in range(n_iters + 1):
        begin = time.perf_counter()
        runner.step(schedule.step_size(iteration), schedule.l2_factor)
        times.append(1e3 * (time.perf_counter() - begin))
    return statistics.median(times[1:]), load_ms


def page_run(driver: PageDriver, threads: int, n_iters: int, measure_memory: bool = True) -> dict:
    """The page's autorun at `threads` wasm threads: its #result, plus the measured memory."""
    start_lr, end_lr, _ = SCHEDULE
    page = driver.open(f"unit={UNIT}&seed=0&n_iters={n_iters}&start_lr={start_lr}&end_lr={end_lr}"
                       f"&autorun=1&threads={threads}", wait_ready=False)
    try:
        result = driver.outcome(page).result
        result["memory_bytes"] = None
        if not measure_memory:
            return result
        try:
            page.wait_for_function("window.dgnAm.measuredMemoryBytes !== undefined", timeout=60_000)
            result["memory_bytes"] = page.evaluate("window.dgnAm.measuredMemoryBytes")
        except Exception:  # noqa: BLE001 - not offered by this browser: reported as such
            result["memory_bytes"] = None
        return result
    finally:
        page.close()


def bench_size(size: str, n_iters: int, workdir: Path) -> list[str]:
    site, bound = build(size, workdir, n_iters)
    threads_all = os.cpu_count() or 1
    rows = []
    baseline = None
    for threads in dict.fromkeys((1, threads_all)):
        ms, load_ms = python_driver(site, bound, threads, n_iters)
        baseline = baseline or ms
        rows.append(f"| {size} | Python driver (ONNX Runtime CPU) | {threads} | {ms:.1f} | – | "
                    f"{ms / baseline:.2f}x | {load_ms / 1e3:.2f} s (session) | – |")
    memory = site.settings["memory"]
    with PageDriver(site.folder) as driver:
        page_run(driver, 1, min(n_iters, 5), measure_memory=False)  # warm-up: wasm tier-up
        for threads in dict.fromkeys((1, threads_all)):
            result = page_run(driver, threads, n_iters)
            measured = (f"{result['memory_bytes'] / 1e6:.0f} MB measured, "
                        if result["memory_bytes"] else "not measured, ")
            rows.append(f"| {size} | page, onnxruntime-web {result['backend']} | {result['threads']} | "
                        f"{result['ms_per_iteration']:.1f} | {result['ms_per_iteration_wall']:.1f} | "
                        f"{result['ms_per_iteration'] / baseline:.2f}x | "
                        f"{result['load_ms'] / 1e3:.2f} s (download + sessions) | {measured}"
                        f"{memory['estimate_bytes'] / 1e6:.0f} MB stated |")
    print(f"{size}: step graph {memory['model_bytes'] / 1e6:.1f} MB, {n_iters} iterations", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=("demo", "full"), default=["demo", "full"])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--table", type=Path, help="also write the results as a Markdown table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reason = browser_unavailable()
    if reason:
        sys.exit(f"bench_web: {reason}")
    workdir = REPO / "build" / "bench_web"
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as scratch:
            rows += bench_size(size, args.iterations, Path(scratch) if size == "demo" else workdir)
    print(f"\n{datetime.date.today()}, `python benchmarks/bench_web.py --sizes {' '.join(args.sizes)} "
          f"--iterations {args.iterations}`, {os.cpu_count()} CPU cores")
    table = markdown_table(rows)
    print(table)
    if args.table:
        atomic_write_bytes(args.table, table.encode())


def markdown_table(rows: list[str]) -> str:
    """The results as the README's table."""
    header = ["| size | runtime | threads | ms/iteration | wall ms/iteration | vs Python, 1 thread | "
              "load | tab memory |", "|---|---|---|---|---|---|---|---|"]
    return "\n".join(header + rows) + "\n"


if __name__ == "__main__":
    main()
