"""Runs fuzz cases in-process and classifies each outcome.

Case `i` of target `t` is generated from `numpy.random.default_rng((seed, t, i))` (t: the
target's index in TARGETS), so any case can be replayed alone and a run's first N cases per
target are a deterministic slice of any longer run with the same seed.
"""
from __future__ import annotations

import signal
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.errors import UserError
from tools.fuzz.seeds import Seeds, build_seeds
from tools.fuzz.targets import TARGET_NAMES, TARGETS, Target, WeightsTooLarge

OUTCOMES = ("ok", "user_error", "crash", "hang")


class CaseTimeout(BaseException):
    """Raised in the case by the interval timer (BaseException: readers' handlers miss it)."""


@dataclass
class Finding:
    """The first case of one kind of crash (target, exception type, where it was raised)."""
    target: str
    kind: str
    where: str
    case: int
    message: str
    traceback: str
    count: int = 1
    saved: Path | None = None


@dataclass
class FuzzReport:
    counts: dict[str, Counter] = field(default_factory=dict)  # target → outcome → count
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    weights_too_large: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(sum(counter.values()) for counter in self.counts.values())

    def failures(self) -> int:
        return sum(counter["crash"] + counter["hang"] for counter in self.counts.values())

    def table(self) -> str:
        """Counts per target × outcome, with a total row, as aligned text."""
        header = ["target", *OUTCOMES, "total"]
        rows = [[name, *(str(counter[o]) for o in OUTCOMES), str(sum(counter.values()))]
                for name, counter in self.counts.items()]
        totals = Counter()
        for counter in self.counts.values():
            totals.update(counter)
        rows.append(["all", *(str(totals[o]) for o in OUTCOMES), str(self.total)])
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                           for i, (cell, width) in enumerate(zip(row, widths)))
                 for row in [header, *rows]]
        return "\n".join(lines)


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


def _on_timer(signum, frame):
    raise CaseTimeout()


def case_input(target: Target, index: int, seed: int, seeds: Seeds) -> tuple[bytes, str]:
    """The bytes (and file suffix) of case `index` of `target` (deterministic)."""
    rng = np.random.default_rng((seed, TARGET_NAMES.index(target.name), index))
    return target.make(seeds, rng)


def run_case(target: Target, seeds: Seeds, path: Path,
             time_limit: float) -> tuple[str, BaseException | None]:
    """(outcome, the exception if any) of reading the file at `path` with the target's reader."""
    previous = signal.signal(signal.SIGALRM, _on_timer)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # libraries' notes on odd files (PIL: EXIF)
            warnings.simplefilter("error", RuntimeWarning)  # a silent numeric surprise
            target.read(seeds, path)
        return "ok", None
    except CaseTimeout as error:
        return "hang", error
    except WeightsTooLarge as error:
        return "ok", error
    except UserError as error:
        message = str(error)
        return ("user_error" if message and "\n" not in message else "crash"), error
    except (Exception, SystemExit) as error:
        return "crash", error
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_fuzz(cases: int, seed: int = 0, targets: Sequence[str] = TARGET_NAMES,
             time_limit: float = 10.0, crash_dir: Path | None = None,
             first_case: int = 0) -> FuzzReport:
    """Runs `cases` cases in all, split evenly over the named targets (the first targets
    take one more when it does not divide): cases first_case, first_case + 1, ... of each."""
    report = FuzzReport()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as workdir_name:
        workdir = Path(workdir_name)
        seeds = build_seeds(workdir)
        for position, name in enumerate(targets):
            target = TARGETS[TARGET_NAMES.index(name)]
            counter = report.counts.setdefault(name, Counter())
            share = cases // len(targets) + (position < cases % len(targets))
            for index in range(first_case, first_case + share):
                data, suffix = case_input(target, index, seed, seeds)
                path = workdir / f"case_{name}{suffix}"
                path.write_bytes(data)
                outcome, error = run_case(target, seeds, path, time_limit)
                counter[outcome] += 1
                report.weights_too_large += isinstance(error, WeightsTooLarge)
                if outcome in ("crash", "hang"):
                    _record(report, name, index, outcome, error, data, suffix, crash_dir)
    report.seconds = time.monotonic() - started
    return report


def _record(report: FuzzReport, target: str, index: int, outcome: str, error: BaseException,
            data: bytes, suffix: str, crash_dir: Path | None) -> None:
    kind = "hang" if outcome == "hang" else type(error).__name__
    key = (target, kind, _where(error))
    if key in report.findings:
        report.findings[key].count += 1
        return
    finding = Finding(target, kind, key[2], index, str(error).splitlines()[0] if str(error) else "",
                      "".join(traceback.format_exception(error)[-4:]))
    if crash_dir is not None:
        crash_dir.mkdir(parents=True, exist_ok=True)
        finding.saved = crash_dir / f"{target}_{index}{suffix}"
        finding.saved.write_bytes(data)
    report.findings[key] = finding
