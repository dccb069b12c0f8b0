"""Benchmark (not a test): does a sweep's batch size or thread count change a run's bits?

Full size: the fc6 generator + CaffeNet prototxts with bench_loop's seeded synthetic weights
(never the official ones), act layer fc8, a 3x-style bound file of 12s. The same samples
(several units and seeds) run as lone runs (batch 1) and as batches of --batch, at --threads
and at 1 thread, for --n_iters iterations each through the sweep's own batch runner
(reproduce.sweep.batch: one Job per batch). Prints, per configuration, whether every
sample's per-iteration activations (exact repr) and saved uint8 array are identical to
the lone run at --threads (else the batch positions that differ), and the seconds per
run-iteration (throughput, step-graph conversion excluded).

The same check on the demo pair is a test (tests/test_sweep_cli.py). Usage:
python benchmarks/bench_sweep.py [--n_iters 3] [--batch 4] [--threads 2] [--providers P]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_loop import CAFFENET, GENERATOR, prepare_weights  # noqa: E402
from reproduce.run.job import NetFiles, StepModels  # noqa: E402
from reproduce.sweep.batch import run_batch  # noqa: E402
from reproduce.sweep.plan import Batch, Fixed, HyperSet  # noqa: E402
from reproduce.sweep.setup import RunSetup  # noqa: E402

SAMPLES = ((0, 0), (643, 0), (945, 1), (7, 2), (310, 3), (999, 4), (500, 5), (1, 6))


def run(setup: RunSetup, hyper: HyperSet, samples, batch: int) -> tuple[list[dict], list, float]:
    """The samples in batches of `batch`; (rows, saved arrays, seconds)."""
    fixed = Fixed("fc8", 0, setup.mode)
    models = StepModels(setup.nets, "fc8", setup.mode)
    rows, saved = [], []
    started = time.perf_counter()
    for first in range(0, len(samples), batch):
        output = run_batch(Batch(fixed, hyper, tuple(samples[first:first + batch])), setup, models,
                           "local")
        rows += output.rows
        saved += output.saved
    return rows, saved, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n_iters", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--samples", type=int, default=4, help=f"at most {len(SAMPLES)}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--providers", default="")
    parser.add_argument("--workdir", default=str(REPO / "build" / "bench_loop"))
    args = parser.parse_args()
    gen_weights, net_weights = prepare_weights(Path(args.workdir))
    samples = SAMPLES[:args.samples]
    hyper = HyperSet(args.n_iters, 0.99, 8.0, 1e-10)
    with tempfile.TemporaryDirectory() as scratch:
        bound = Path(scratch) / "bound.txt"
        bound.write_text(" ".join(["12.0"] * 4096) + "\n")
        nets = NetFiles(str(GENERATOR), str(gen_weights), str(CAFFENET), str(net_weights))

        def setup(threads: int) -> RunSetup:
            return RunSetup(nets, bound=str(bound), providers=args.providers or None,
                            threads=threads)
        configurations = {f"lone, {args.threads} threads": (setup(args.threads), 1),
                          f"batch {args.batch}, {args.threads} threads": (setup(args.threads),
                                                                         args.batch),
                          "lone, 1 thread": (setup(1), 1),
                          f"batch {args.batch}, 1 thread": (setup(1), args.batch)}
        outputs = {name: run(run_setup, hyper, samples, batch)
                   for name, (run_setup, batch) in configurations.items()}
    reference_rows, reference_saved, _ = outputs[f"lone, {args.threads} threads"]
    print(f"full-size fc6 generator + CaffeNet (synthetic weights), {len(samples)} samples, "
          f"{args.n_iters} iterations, provider {reference_rows[0]['provider']}")
    for name, (rows, saved, seconds) in outputs.items():
        differ = [index for index, (row, reference, image, reference_image) in enumerate(
            zip(rows, reference_rows, saved, reference_saved))
            if row["acts"] != reference["acts"] or not np.array_equal(image, reference_image)]
        batch_size = configurations[name][1]
        iterating = sum(row["batch_s"] for row in rows) / batch_size  # each batch's rows share it
        per_iteration = iterating / (len(samples) * args.n_iters)
        verdict = ("all identical" if not differ else
                   f"DIFFER at batch positions {sorted({i % batch_size for i in differ})}")
        print(f"{name:24s}: {verdict}; {per_iteration:.3f} s per run-iteration "
              f"(conversion excluded; {seconds:.1f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
