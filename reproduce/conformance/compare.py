"""One runtime × one model: one step from every state, compared with ONNX Runtime in Python.

Tolerance: 1e-5 relative (max |x − x_ref| / max |x_ref| over a tensor), for the new code, the
activation and the image. Error analysis: one step is a chain of float32 reductions (the
longest, the generator's and the net's Gemm/Conv sums, run over ~10³–10⁴ terms) that runtimes
order differently (blocking, SIMD width, Winograd or im2col), each contributing ~√n·2⁻²⁴ ≈ 6e-6
in the worst case and ~1e-7 typically, then a normalisation by mean |g| (ratio of two such
sums: errors add, do not amplify) and a float64 bound/L2 tail (exact to float32 rounding). The
measured worst over all runtimes on the demo pair is 6.0e-6 (OpenVINO's activation, batch 1;
codes ≤ 1.6e-6); 1e-5 still catches every real defect seen (a wrong gradient is off by O(1),
the reference evaluator's LRN by 2e-2). A ReLU mask or
a max-pool choice can still land on the other side for inputs within rounding of the boundary;
such a case is reported as a flip when the diagnosis (reproduce.conformance.diagnose) finds
that every difference starts at such a decision.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.numerics import relative_error
from reproduce.conformance.cases import Case
from reproduce.conformance.diagnose import diagnose
from reproduce.conformance.runtimes import Runtime, RuntimeFailure
from reproduce.conformance.states import QUANTITIES, quantities, scan_shape_error

log = logging.getLogger(__name__)

RTOL = 1e-5
# Statuses that count as conformance (exit status 0) and those that do not.
PASSING = ("agrees", "flip", "runtime bug", "unsupported", "skipped")
FAILING = ("differs", "fails")


@dataclass(frozen=True)
class ModelUnderTest:
    """An exported model file: the step graph or the Loop model, for one batch size."""

    kind: str  # "step" | "loop"
    batch: int
    path: Path
    step_path: Path  # the step graph of the same batch (what a Loop case is diagnosed on)

    @property
    def label(self) -> str:
        return f"{'step graph' if self.kind == 'step' else 'Loop'}, batch {self.batch}"


@dataclass
class Result:
    """The outcome for one runtime and one model."""

    runtime: str
    version: str
    model: str
    status: str
    cases: int = 0
    errors: dict[str, float] = field(default_factory=dict)
    detail: str = ""


def _explain(runtime: Runtime, reference_runtime: Runtime, model: ModelUnderTest, step_case: Case,
             workdir: Path, rtol: float) -> tuple[str, str]:
    """(status, detail) for a case beyond tolerance, from the diagnosis on the step graph."""
    origins = diagnose(model.step_path, step_case,
                       lambda path, case: reference_runtime.run(path, [case], workdir / "ref")[0],
                       lambda path, case: runtime.run(path, [case], workdir / "probe")[0],
                       workdir, rtol, runtime.known_bugs)
    if not origins:
        return "differs", "no single node accounts for it"
    detail = "; ".join(origin.describe() for origin in origins[:3])
    if all(origin.is_decision for origin in origins):
        return "flip", detail
    if all(origin.known_bug for origin in origins):  # each has the defect's signature
        return "runtime bug", detail
    return "differs", detail


def check(runtime: Runtime, reference_runtime: Runtime, model: ModelUnderTest, cases: Sequence[Case],
          step_cases: Sequence[Case], reference: Sequence[dict[str, np.ndarray]], workdir: Path,
          rtol: float = RTOL) -> Result:
    """Runs `cases` (one per state) on `runtime` and compares with `reference` (the reference
    runtime's step graph, as quantities); `step_cases` are the same states as step-graph cases."""
    result = Result(runtime.name, runtime.version(), model.label, "agrees", len(cases))
    try:
        answers = runtime.run(model.path, cases, workdir / "run")
    except RuntimeFailure as failure:
        result.status = "fails" if runtime.loop_support or model.kind == "step" else "unsupported"
        result.detail = str(failure)
        return result
    worst_case = None
    for index, (answer, expected) in enumerate(zip(answers, reference, strict=True)):
        shape_error = scan_shape_error(answer, expected["code"].shape) if model.kind == "loop" else ""
        if shape_error:
            result.status, result.detail = "differs", f"{cases[index].name}: {shape_error}"
            return result
        got = quantities(model.kind, answer, model.batch)
        errors = {name: relative_error(got[name], expected[name]) for name in QUANTITIES}
        for name, error in errors.items():
            result.errors[name] = max(result.errors.get(name, 0.0), error)
        if max(errors.values()) > rtol and worst_case is None:
            worst_case = index
    if worst_case is not None:
        result.status, result.detail = _explain(runtime, reference_runtime, model,
                                                step_cases[worst_case], workdir / "diagnosis", rtol)
        result.detail = f"{cases[worst_case].name}: {result.detail}"
    log.info("%s, %s: %s %s", runtime.name, model.label, result.status,
             " ".join(f"{name} {error:.1e}" for name, error in result.errors.items()))
    return result


def markdown_table(results: Sequence[Result], rtol: float = RTOL) -> str:
    """The README's table: runtime × model × result."""
    lines = [f"| runtime | model | result (one step, tolerance {rtol:g} relative) | code | act | image |",
             "|---|---|---|---|---|---|"]
    for result in results:
        label = f"{result.runtime} {result.version}".strip()
        status = result.status + (f": {result.detail}" if result.detail else "")
        status = status.replace("|", "\\|")
        errors = [f"{result.errors[name]:.1e}" if name in result.errors else "–" for name in QUANTITIES]
        if result.cases and result.errors:
            status = f"{status} ({result.cases} states)"
        lines.append(f"| {label} | {result.model} | {status} | " + " | ".join(errors) + " |")
    return "\n".join(lines) + "\n"
