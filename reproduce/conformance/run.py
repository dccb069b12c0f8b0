"""The whole check: for each batch size, export the step graph and the Loop model, take the
reference states, and compare every requested runtime on both models (reproduce.conformance)."""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converters.caffe.onnx_file import save_onnx
from reproduce.conformance.compare import ModelUnderTest, Result, check
from reproduce.conformance.runtimes import OnnxRuntimePython, Runtime
from reproduce.conformance.states import Samples, loop_case, quantities, reference_states, step_case
from common.errors import UserError
from reproduce.inputs.bounds import load_bounds
from reproduce.inputs.start_code import as_stored_code, random_start_code
from reproduce.run.job import (Job, NetFiles, StepModels, build_step_model, check_job,
                               shared_start_code)
from reproduce.step.graph import CodeMode
from reproduce.step.loop_export import build_loop_model
from reproduce.step.rules import Schedule

log = logging.getLogger(__name__)
KINDS = ("step", "loop")


@dataclass(frozen=True)
class Setup:
    """What to export and from which states: a Job's nets, act layer, code mode, samples (each
    sample's flat unit index and start code, taken in order and cycled up to the batch size),
    bounds and schedule, and the iterations whose states are replayed."""

    nets: NetFiles
    act_layer: str
    mode: str
    unit_indices: Sequence[int]
    start_codes: np.ndarray  # N×K float32
    bounds: tuple[np.ndarray, np.ndarray] | None
    schedule: Schedule
    iterations: Sequence[int]


def setup_from_job(job: Job, iterations: Sequence[int]) -> Setup:
    """The job's samples as reproduce.run.job.iter_job prepares them (same helpers, same checks)."""
    check_job(job)
    shapes = StepModels(job.nets, job.act_layer, job.mode).get(1).shapes
    if any(not 0 <= iteration < job.schedule.n_iters for iteration in iterations):
        raise UserError(f"--iterations {' '.join(map(str, iterations))}: each must be in "
                        f"0 … {job.schedule.n_iters - 1} (--n_iters {job.schedule.n_iters})")
    shared = shared_start_code(job.start, shapes.code_size)
    codes = [shared if shared is not None else as_stored_code(random_start_code(seed, shapes.code_size))
             for _, seed in job.samples]
    return Setup(job.nets, job.act_layer, job.mode,
                 [shapes.act.flat_index(unit, job.xy) for unit, _ in job.samples],
                 np.concatenate(codes).astype(np.float32),
                 load_bounds(job.bound, shapes.code_size) if job.mode is CodeMode.BOUND else None,
                 job.schedule, tuple(iterations))


def _samples(setup: Setup, batch: int, image_shape: tuple[int, ...]) -> Samples:
    order = [index % len(setup.unit_indices) for index in range(batch)]
    return Samples(np.array([setup.unit_indices[i] for i in order], np.int64),
                   np.ascontiguousarray(setup.start_codes[order], np.float32), image_shape, setup.bounds)


def export_models(setup: Setup, batch: int, directory: Path) -> tuple[ModelUnderTest, ModelUnderTest, tuple[int, ...]]:
    """Writes step.onnx and loop.onnx for `batch` (the exports act_max and export_step make)."""
    directory.mkdir(parents=True, exist_ok=True)
    step_model = build_step_model(setup.nets, setup.act_layer, batch, setup.mode)
    step_path, loop_path = directory / "step.onnx", directory / "loop.onnx"
    exported = step_model.exported()
    save_onnx(exported, str(step_path))
    save_onnx(build_loop_model(exported), str(loop_path))
    return (ModelUnderTest("step", batch, step_path, step_path),
            ModelUnderTest("loop", batch, loop_path, step_path), step_model.shapes.net_input)


def run_conformance(setup: Setup, batches: Sequence[int], runtimes: Sequence[Runtime],
                    workdir: Path, kinds: Sequence[str] = KINDS) -> list[Result]:
    """One Result per available runtime × model × batch (and one `skipped` per missing runtime)."""
    reference_runtime = OnnxRuntimePython()
    available = []
    results = []
    for runtime in runtimes:
        reason = runtime.unavailable()
        if reason:
            log.info("%s: skipped (%s)", runtime.name, reason)
            results.append(Result(runtime.name, "", "all", "skipped", detail=reason))
        else:
            available.append(runtime)
    for batch in batches:
        directory = workdir / f"batch{batch}"
        step_model, loop_model, image_shape = export_models(setup, batch, directory)
        samples = _samples(setup, batch, image_shape)
        states = reference_states(step_model.path.read_bytes(), samples, setup.schedule,
                                  setup.iterations)
        step_cases = [step_case(samples, state, setup.schedule) for state in states]
        loop_cases = [loop_case(samples, state, setup.schedule) for state in states]
        reference = [quantities("step", outputs, batch)
                     for outputs in reference_runtime.run(step_model.path, step_cases, directory)]
        models = {"step": (step_model, step_cases), "loop": (loop_model, loop_cases)}
        for runtime in available:
            for kind in kinds:
                model, cases = models[kind]
                runtime_dir = directory / re.sub(r"[^A-Za-z0-9.-]+", "_", runtime.name)
                results.append(check(runtime, reference_runtime, model, cases, step_cases, reference,
                                     runtime_dir / kind))
    return results
