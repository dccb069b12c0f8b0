"""Benchmark (not a test): the atlas of a 10,000-run sweep, without running 10,000 optimisations.

Fills a store with synthetic rows (--units × --seeds, default 1,000 × 10; one hyperparameter
set, --n_iters per-iteration activations each) and writes each run's JPEG and PNG with the
sweep's own writer (reproduce.outputs.images; smooth synthetic --side × --side images, 227 as
the fc6 generator's crop), then writes the atlas (reproduce.sweep.atlas) twice: cold
(thumbnails and every page) and warm (nothing changed: nothing rewritten). Then opens the
index in headless Chromium (tools/headless_chromium) from file:// and prints when it is
interactive: the page's script has read every tile and wired the controls (`atlasReadyMs`,
milliseconds since navigation start), DOMContentLoaded and the load event, and how long a
label filter and a re-sort take to apply and paint. The baseline, measured in the same run,
is the same atlas for a tenth of the units (--baseline_units, default 100 × the same seeds);
the ratios say how the page scales. Needs Playwright and Debian's chromium.

    python benchmarks/bench_atlas.py [--units 1000] [--seeds 10] [--side 227] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reproduce.outputs.images import write_result_image  # noqa: E402
from reproduce.sweep.atlas import write_atlas  # noqa: E402
from reproduce.sweep.plan import Fixed, HyperSet, RunKey  # noqa: E402
from reproduce.sweep.store import Store  # noqa: E402
from tools.headless_chromium import chromium_page, unavailable  # noqa: E402

FIXED = Fixed("fc8", 0, "clip")
MEASURE = """async () => {
  const time = async change => {
    const started = performance.now();
    change();
    await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
    return performance.now() - started;
  };
  const label = document.getElementById("label"), sort = document.getElementById("sort");
  const filter_ms = await time(() => { label.value = "class 7"; label.dispatchEvent(new Event("input")); });
  const clear_ms = await time(() => { label.value = ""; label.dispatchEvent(new Event("input")); });
  const sort_ms = await time(() => { sort.value = "unit"; sort.dispatchEvent(new Event("input")); });
  const navigation = performance.getEntriesByType("navigation")[0];
  return {ready_ms: window.atlasReadyMs, dom_content_loaded_ms: navigation.domContentLoadedEventEnd,
          load_ms: navigation.loadEventEnd, filter_ms, clear_ms, sort_ms,
          tiles: document.querySelectorAll(".run").length};
}"""


def synthetic_image(unit: int, seed: int, side: int) -> np.ndarray:
    """A side×side×3 uint8 pattern that differs per run: waves plus pixel noise, so that its PNG
    is about as large as a real result's (~100 kB at 227×227)."""
    y, x = np.mgrid[0:side, 0:side] / side
    phase = (unit * 0.37 + seed * 1.3) % (2 * math.pi)
    channels = [np.sin(2 * math.pi * (x * (1 + unit % 5) + y * (1 + seed % 3)) + phase + shift)
                for shift in (0.0, 2.1, 4.2)]
    noise = np.random.default_rng([unit, seed]).normal(0, 12, (side, side, 3))
    return np.clip((np.stack(channels, axis=-1) + 1) * 110 + 17 + noise, 0, 255).astype(np.uint8)


def fill_store(out_dir: Path, units: int, seeds: int, side: int, n_iters: int) -> float:
    """The synthetic store and its images; returns the seconds it took."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    hyper = HyperSet(n_iters, 0.99, 8.0, 1e-10)
    rows = []
    with Store(out_dir) as store:
        for unit in range(units):
            for seed in range(seeds):
                key = RunKey(FIXED, hyper, unit, seed)
                final = float(rng.normal(50, 20))
                acts = (final * (1 - np.exp(-np.arange(1, n_iters + 1) / 20))).tolist()
                acts[-1] = final
                write_result_image(out_dir / key.jpeg, synthetic_image(unit, seed, side))
                rows.append({**key.as_columns(), "set_dir": key.hyper.folder(FIXED),
                             "final_act": final, "iterations": n_iters, "acts": json.dumps(acts),
                             "image": key.image, "jpeg": key.jpeg})
            if len(rows) >= 1000:
                store.insert(rows)
                rows = []
        store.insert(rows)
    return time.perf_counter() - started


def measure(out_dir: Path, units: int, seeds: int, side: int, n_iters: int) -> dict:
    fill_s = fill_store(out_dir, units, seeds, side, n_iters)
    with Store(out_dir, create=False) as store:
        rows = store.rows()
    labels = {unit: f"class {unit}" for unit in range(units)}
    timings = {"fill_s": fill_s}
    for name in ("cold", "warm"):
        started = time.perf_counter()
        report = write_atlas(out_dir, rows, labels=labels, title="bench atlas", net_flags=[],
                             bound_files={})
        timings[f"write_{name}_s"] = time.perf_counter() - started
        timings[f"written_{name}"] = report.written
    timings["summary"] = report.summary()
    timings["atlas_mb"] = report.atlas_bytes / 1e6
    timings["index_mb"] = (out_dir / "atlas" / "index.html").stat().st_size / 1e6
    loads = []
    for _ in range(3):  # the best of three page loads (the machine is shared)
        with chromium_page() as (page, errors):
            page.goto((out_dir / "atlas" / "index.html").as_uri())
            page.wait_for_selector("body[data-ready]", timeout=60_000)
            loads.append(page.evaluate(MEASURE))
            assert not errors, errors
            assert loads[-1]["tiles"] == len(rows)
    timings.update({key: min(load[key] for load in loads) for key in loads[0] if key != "tiles"})
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--baseline_units", type=int, default=100)
    parser.add_argument("--side", type=int, default=227)
    parser.add_argument("--n_iters", type=int, default=200)
    parser.add_argument("--keep", metavar="DIR", help="build the atlases here and keep them")
    args = parser.parse_args()
    reason = unavailable()
    if reason:
        print(f"bench_atlas: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.keep) if args.keep else Path(scratch)
        results = {}
        for name, units in (("baseline", args.baseline_units), ("atlas", args.units)):
            results[name] = measure(root / name, units, args.seeds, args.side, args.n_iters)
            print(f"{name}: {units} units x {args.seeds} seeds = {units * args.seeds} runs")
            print(f"  {results[name]['summary']}")
            for key, value in results[name].items():
                if key != "summary":
                    print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    base, big = results["baseline"], results["atlas"]
    print(f"{args.units * args.seeds}-run index: interactive (script ready) at "
          f"{big['ready_ms']:.0f} ms, load event at {big['load_ms']:.0f} ms, label filter "
          f"{big['filter_ms']:.0f} ms, sort {big['sort_ms']:.0f} ms; index {big['index_mb']:.1f} MB, "
          f"atlas {big['atlas_mb']:.1f} MB")
    for key in ("ready_ms", "load_ms", "filter_ms", "sort_ms", "write_cold_s", "write_warm_s"):
        print(f"ratio {key}: {big[key] / base[key]:.2f}x the {args.baseline_units * args.seeds}-run "
              "baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
