"""Does running a sample inside a batch change its bits? Measured, not assumed.

The step graph treats each sample on its own, yet ONNX Runtime's reductions are not always
position-independent. Measured with onnxruntime 1.32 on x86-64: the per-sample
`ReduceMean(Abs(g))` over a 3×227×227 net input (CaffeNet, Places205 AlexNet) gives some rows
of a batch a result an ulp away from the same row alone (benchmarks/bench_sweep.py, full size,
batches of 4: positions 1 and 3), and the loop, being chaotic, then another image. It follows
the row's memory alignment (as Eigen's vectorised sum peels unaligned head elements): a row is
154587 floats, 618348 bytes, not a multiple of 64. The demo pair's 3×56×56 (37632 bytes, a
multiple of 64) measured bit-identical at every position; GoogLeNet's 3×224×224 is such a
size too (not measured).

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
