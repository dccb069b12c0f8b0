"""The states conformance starts from, and the cases (feeds) one step from them takes.

The reference run is the step graph on ONNX Runtime in Python (CPU, one thread) from each
sample's start code, with the release's schedule; the state before iteration i (the code, the
held image) is taken at the chosen iterations. A step-graph case feeds that state with
iteration i's step size and the L2 factor; a Loop-model case runs the ONNX Loop for one
iteration from the same code with lr_start = lr_end = that step size (so its iteration 0 uses
exactly it) and the release's L2, which the Loop turns into the same factor.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from reproduce.conformance.cases import Case
from reproduce.step.rules import Schedule

# The quantities compared, and each model's output holding it.
QUANTITIES = ("code", "act", "image")
ANSWERS = {"step": {"code": "new_code", "act": "act", "image": "image"},
           "loop": {"code": "final_code", "act": "acts", "image": "final_image"}}


@dataclass(frozen=True)
class Samples:
    """The batch: each sample's flat unit index and start code, and the fixed inputs."""

    units: np.ndarray  # B int64
    start_codes: np.ndarray  # B×K float32
    image_shape: tuple[int, ...]  # per sample C×h×w
    bounds: tuple[np.ndarray, np.ndarray] | None  # (lower, upper) 1×K float64, bound mode only


@dataclass(frozen=True)
class State:
    """The reference run's state before iteration `iteration`."""

    iteration: int
    step: float
    code: np.ndarray  # B×K float32
    best: np.ndarray  # B×C×h×w float32 (the previous iteration's crop)


def _step_feeds(samples: Samples, code: np.ndarray, best: np.ndarray, step: float,
                l2_factor: float) -> dict[str, np.ndarray]:
    feeds = {"code": code, "step": np.array(step, np.float64), "unit": samples.units,
             "l2": np.array(l2_factor, np.float64), "active": np.ones(len(samples.units), np.bool_),
             "best": best}
    if samples.bounds is not None:
        feeds["lower"], feeds["upper"] = samples.bounds
    return feeds


def reference_states(step_model: bytes, samples: Samples, schedule: Schedule,
                     iterations: Sequence[int]) -> list[State]:
    """Runs the step graph on ONNX Runtime (Python, CPU, one thread) up to the last of
    `iterations` and returns the state before each of them."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(step_model, options, providers=["CPUExecutionProvider"])
    code = samples.start_codes.astype(np.float32)
    best = np.zeros((len(samples.units), *samples.image_shape), np.float32)
    wanted, states = sorted(set(iterations)), []
    for iteration in range(wanted[-1] + 1):
        step = schedule.step_size(iteration)
        if iteration in wanted:
            states.append(State(iteration, step, code.copy(), best.copy()))
        code, best = session.run(["new_code", "image"],
                                 _step_feeds(samples, code, best, step, schedule.l2_factor))
    return states


def step_case(samples: Samples, state: State, schedule: Schedule) -> Case:
    """One step-graph iteration from `state`."""
    return Case(f"iteration {state.iteration}",
                _step_feeds(samples, state.code, state.best, state.step, schedule.l2_factor),
                tuple(ANSWERS["step"].values()))


def loop_case(samples: Samples, state: State, schedule: Schedule) -> Case:
    """One iteration of the Loop model from `state`'s code (see the module docstring)."""
    feeds = {"code": state.code, "unit": samples.units, "n_iters": np.array(1, np.int64),
             "lr_start": np.array(state.step, np.float64), "lr_end": np.array(state.step, np.float64),
             "L2": np.array(schedule.l2, np.float64)}
    if samples.bounds is not None:
        feeds["lower"], feeds["upper"] = samples.bounds
    return Case(f"iteration {state.iteration}", feeds, (*ANSWERS["loop"].values(), "codes"))


def scan_shape_error(outputs: dict[str, np.ndarray], code_shape: tuple[int, ...]) -> str:
    """A Loop case's `codes` scan output must be 1×B×K (one iteration ran); '' when it is."""
    codes = np.asarray(outputs["codes"])
    if codes.shape != (1, *code_shape):
        return f"Loop output codes has shape {codes.shape}, expected {(1, *code_shape)}"
    return ""


def quantities(kind: str, outputs: dict[str, np.ndarray], batch: int) -> dict[str, np.ndarray]:
    """code (B×K), act (B), image (B×C×h×w) from a model's outputs (the Loop's acts has a
    leading iteration axis)."""
    values = {quantity: np.asarray(outputs[name]) for quantity, name in ANSWERS[kind].items()}
    values["act"] = values["act"].reshape(batch)
    return values
