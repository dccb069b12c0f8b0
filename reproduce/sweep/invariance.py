"""Does running a sample inside a batch change its bits? Measured, not assumed.

The step graph treats each sample on its own, and ONNX Runtime's reductions are not always
position-independent: before the step graph summed each sample's gradient as an aligned row
(reproduce.step.graph, `aligned_rows`), the per-sample `ReduceMean(Abs(g))` over a 3×227×227 net
input (154,587 floats a row, not a multiple of 64 bytes) gave some rows of a batch a result an
ulp away from the same row alone (onnxruntime 1.32 on x86-64, benchmarks/bench_sweep.py, full
size, batches of 4: positions 1 and 3), and the loop, being chaotic, then another image. With
the rows zero-padded to a multiple of 16 floats every position is bit-identical to the lone run
on this stack (bench_sweep: 8 samples, batches of 4, at 1 and 2 threads). Another provider,
runtime version or CPU may still reduce differently, so the sweep keeps measuring.

`batch_changes_bits` runs a short probe: the same sample alone and repeated in every row of a
batch of the given size; the batch is kept only if every row is bit-identical to the lone
run. The sweep runs lone runs otherwise, so its results never depend on --batch.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from reproduce.run.job import StepModels, run_job
from reproduce.sweep.batch import batch_job
from reproduce.sweep.plan import Batch, HyperSet
from reproduce.sweep.setup import RunSetup

PROBE_ITERATIONS = 2  # the second iteration starts from the first one's code and image


def batch_changes_bits(setup: RunSetup, probe: Batch, size: int, models: StepModels) -> bool:
    """Whether a batch of `size` copies of probe's first sample differs from its lone run."""
    if size <= 1:
        return False
    hyper = probe.hyper
    short = HyperSet(min(hyper.n_iters, PROBE_ITERATIONS), hyper.l2, hyper.start_lr,
                     hyper.end_lr)
    sample = probe.samples[0]
    lone_batch = dataclasses.replace(probe, hyper=short, samples=(sample,))
    (lone,) = run_job(batch_job(lone_batch, setup), models)
    copies = run_job(batch_job(dataclasses.replace(lone_batch, samples=(sample,) * size), setup),
                     models)
    return not all(copy.acts == lone.acts and np.array_equal(copy.image, lone.image)
                   and np.array_equal(copy.saved, lone.saved) for copy in copies)
