"""The one-iteration-from-the-same-state criterion.

The loop is chaotic: two numeric stacks that differ by an ulp give different images after a
few iterations, so agreement is judged iteration by iteration: start from the reference's own
state before iteration i (its start code, or its stored code after iteration i − 1), run one
step with iteration i's step size, and compare the activation and the new code with the
reference's iteration i.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reproduce.run.job import StepModel
from reproduce.step.rules import Schedule
from common.numerics import relative_error
from reproduce.run.runner import StepRunner


@dataclass
class OneStepAgreement:
    """Worst relative errors over the checked iterations."""

    iterations: int
    act: float
    code: float

    def within(self, rtol: float) -> bool:
        return self.act <= rtol and self.code <= rtol


def one_step_agreement(runner: StepRunner, step_model: StepModel, trace: dict[str, np.ndarray],
                       schedule: Schedule, unit_index: int,
                       bounds: tuple[np.ndarray, np.ndarray] | None) -> OneStepAgreement:
    """Reruns each recorded iteration from the recorded state (batch-1 step graph)."""
    acts, codes = trace["acts"], trace["codes"]
    states = np.concatenate([trace["code_init"].reshape(1, -1), codes[:-1]]) if len(codes) else codes
    image_shape = (1, *step_model.shapes.net_input)
    worst_act = worst_code = 0.0
    for iteration, state in enumerate(states):
        runner.start(state.reshape(1, -1), np.array([unit_index]), np.zeros(image_shape, np.float32), bounds)
        report = runner.step(schedule.step_size(iteration), schedule.l2_factor, fetch_code=True)
        worst_act = max(worst_act, relative_error(report.act, np.array([acts[iteration]])))
        worst_code = max(worst_code, relative_error(report.code[0], codes[iteration]))
    return OneStepAgreement(len(states), worst_act, worst_code)
