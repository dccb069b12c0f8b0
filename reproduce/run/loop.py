"""The published loop around the step graph: step-size schedule, per-sample early stop, records.

Iteration i uses `step = lr_start + ((lr_end − lr_start) * i) / n` (float64, the release's
order of operations). A sample stops after the iteration in which its generator gradient norm,
else its net gradient norm, was 0 (that iteration's update is still stored, as in the release);
the others go on. The result image of a sample is the crop of its last iteration run (the
release keeps the last image, not the best one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from reproduce.run.runner import StepRunner


@dataclass(frozen=True)
class Schedule:
    """Iterations, step sizes (lr_end already resolved: < 0 means lr_start) and the L2 decay."""

    n_iters: int
    lr_start: float
    lr_end: float
    l2: float

    def step_size(self, iteration: int) -> float:
        """The release's `start + ((end − start) * i) / n`."""
        return self.lr_start + ((self.lr_end - self.lr_start) * iteration) / self.n_iters

    @property
    def l2_factor(self) -> float:
        """The factor the code is multiplied by: L2 when 0 < L2 < 1, else 1 (no decay)."""
        return self.l2 if 0 < self.l2 < 1 else 1.0


@dataclass
class LoopResult:
    """Per-sample records of a run (sample b ran `iterations[b]` iterations)."""

    iterations: np.ndarray
    acts: list[list[float]]
    net_grad_norms: list[list[float]]
    gen_grad_norms: list[list[float]]
    images: np.ndarray  # B×C×h×w float32 BGR: each sample's last crop
    codes: list[list[np.ndarray]] = field(default_factory=list)
    stepped: list[list[np.ndarray]] = field(default_factory=list)


def run_loop(runner: StepRunner, start_codes: np.ndarray, units: np.ndarray, schedule: Schedule,
             image_shape: tuple[int, ...], *, bounds: tuple[np.ndarray, np.ndarray] | None = None,
             record_codes: bool = False, record_stepped: bool = False,
             progress: str | None = None) -> LoopResult:
    """Runs up to n iterations for all samples at once; see the module docstring."""
    batch = len(units)
    runner.start(start_codes, units, np.zeros((batch, *image_shape), np.float32), bounds)
    active = np.ones(batch, dtype=bool)
    result = LoopResult(iterations=np.zeros(batch, dtype=np.int64), acts=[[] for _ in units],
                        net_grad_norms=[[] for _ in units], gen_grad_norms=[[] for _ in units],
                        images=np.empty(0, np.float32), codes=[[] for _ in units],
                        stepped=[[] for _ in units])
    bar = tqdm(range(schedule.n_iters), desc=progress, disable=progress is None)
    for iteration in bar:
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
        stopped = active & ((report.gen_grad_norm == 0) | (report.net_grad_norm == 0))
        if stopped.any():
            active &= ~stopped
            if not active.any():
                break
            runner.set_active(active)
        bar.set_postfix(act=f"{float(np.mean(report.act)):.2f}")
    bar.close()
    result.images = runner.image()
    return result
