"""One batch of a sweep → its rows and image arrays; what both executors run.

A batch is one `Job` (reproduce.run.job): the set's schedule, the batch's (unit, seed)
samples, the sweep's nets and code rule, exactly what `act_max --units … --seeds … --batch 0`
with the same flags builds. Nothing is written here: the driver writes the images and the rows
(reproduce.sweep.commit), so a worker needs no shared filesystem.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

import numpy as np

from reproduce.run.job import Job, SampleResult, StepModels, run_job
from reproduce.run.runner import resolve_providers
from reproduce.run.stack import versions
from reproduce.sweep.plan import Batch, RunKey
from reproduce.sweep.setup import RunSetup


@dataclass
class BatchOutput:
    """A finished batch: one row per run (store columns) and the uint8 RGB array each writes."""

    rows: list[dict[str, object]]
    saved: list[np.ndarray]


def batch_job(batch: Batch, setup: RunSetup) -> Job:
    """The Job of one batch (all its samples in one step graph)."""
    return Job(setup.nets, batch.fixed.act_layer, batch.samples, batch.hyper.schedule,
               xy=batch.fixed.xy, bound=setup.bound, clip=setup.clip, providers=setup.providers,
               runtime=setup.runtime, threads=setup.threads, batch=0, progress=False)


def provider_of(setup: RunSetup) -> str:
    """What ran the step graph: ONNX Runtime's first provider, or OpenVINO with its version."""
    if setup.runtime == "openvino":
        import openvino
        return f"OpenVINO {openvino.__version__} (CPU, f32)"
    return resolve_providers(setup.providers)[0]


def result_row(key: RunKey, result: SampleResult) -> dict[str, object]:
    """A run's store columns that come from its result (see reproduce.sweep.store)."""
    return {**key.as_columns(), "set_dir": key.hyper.folder(key.fixed),
            "final_act": float(result.acts[-1]), "iterations": result.iterations,
            "acts": json.dumps([float(act) for act in result.acts]),
            "image": key.image, "jpeg": key.jpeg}


def run_batch(batch: Batch, setup: RunSetup, models: StepModels, executor: str) -> BatchOutput:
    """Runs the batch's Job with `models` (step graphs kept across batches of one sweep)."""
    job = batch_job(batch, setup)
    started = time.perf_counter()
    built = len(batch.samples) not in models.built
    models.get(len(batch.samples))  # builds (or reuses) this batch size's step graph
    converted = time.perf_counter()
    results = run_job(job, models)
    finished = time.perf_counter()
    shared = {**versions(), "provider": provider_of(setup),
              "threads": setup.threads or 0, "host": socket.gethostname(), "pid": os.getpid(),
              "executor": executor, "batch_size": len(batch.samples), "built": int(built),
              "convert_s": converted - started,
              "batch_s": finished - converted}
    rows = [{**result_row(key, result), **shared} for key, result in zip(batch.keys(), results, strict=True)]
    return BatchOutput(rows, [result.saved for result in results])
