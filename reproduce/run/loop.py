"""The published loop around the step graph: schedule, per-sample early stop, records.

Iteration i uses `Schedule.step_size(i)` and the code decays by `Schedule.l2_factor`
(reproduce.step.rules, the definitions the ONNX Loop export uses too). A sample stops after the
iteration in which rules.STOPPED holds for it (that iteration's update is still stored, as in
the release); the others go on. A sample's returned image is the crop of its last iteration
run (the release keeps the last image, not the best one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.progress import progress
from reproduce.run.runner import StepRunner
from reproduce.step.rules import Schedule, stopped


@dataclass
class LoopResult:
    """Per-sample records of a run (sample b ran `iterations[b]` iterations)."""

    iterations: np.ndarray
    acts: list[list[float]]
    net_grad_norms: list[list[float]]
    gen_grad_norms: list[list[float]]
    last_crops: np.ndarray  # B×C×h×w float32 BGR: each sample's last crop (the returned image)
    codes: list[list[np.ndarray]] = field(default_factory=list)
    stepped: list[list[np.ndarray]] = field(default_factory=list)


def run_loop(runner: StepRunner, start_codes: np.ndarray, unit_indices: np.ndarray,
             schedule: Schedule, image_shape: tuple[int, ...], *,
             bounds: tuple[np.ndarray, np.ndarray] | None = None, record_codes: bool = False,
             record_stepped: bool = False, progress_label: str | None = None) -> LoopResult:
    """Runs up to n iterations for all samples at once; see the module docstring.

    `unit_indices` holds each sample's flat index into the act layer's blob.
    """
    batch = len(unit_indices)
    runner.start(start_codes, unit_indices, np.zeros((batch, *image_shape), np.float32), bounds)
    active = np.ones(batch, dtype=bool)
    result = LoopResult(iterations=np.zeros(batch, dtype=np.int64),
                        acts=[[] for _ in range(batch)], net_grad_norms=[[] for _ in range(batch)],
                        gen_grad_norms=[[] for _ in range(batch)],
                        last_crops=np.empty(0, np.float32), codes=[[] for _ in range(batch)],
                        stepped=[[] for _ in range(batch)])
    bar = progress(total=schedule.n_iters, desc=progress_label or "",
                   enabled=progress_label is not None)
    for iteration in range(schedule.n_iters):
        report = runner.step(schedule.step_size(iteration), schedule.l2_factor,
                             fetch_code=record_codes, fetch_stepped=record_stepped)
        for sample in np.flatnonzero(active):
            result.iterations[sample] += 1
            result.acts[sample].append(float(report.act[sample]))
            result.net_grad_norms[sample].append(float(report.net_grad_norm[sample]))
            result.gen_grad_norms[sample].append(float(report.gen_grad_norm[sample]))
            if record_codes:
                result.codes[sample].append(report.code[sample].copy())
            if record_stepped:
                result.stepped[sample].append(report.stepped[sample].copy())
        bar.set_postfix(act=f"{float(np.mean(report.act)):.2f}")
        bar.update()
        newly_stopped = active & stopped(report.gen_grad_norm, report.net_grad_norm)
        if newly_stopped.any():
            active &= ~newly_stopped
            if not active.any():
                break
            runner.set_active(active)
    bar.close()
    result.last_crops = runner.held_image()
    return result
