"""A deterministic slice of the fuzz harness (issue 11 item 3): the first cases of every
target (≥ 2,000 in all) give only ok or a one-line user error, never a crash or a hang."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common.errors import UserError
from tools.fuzz.__main__ import main
from tools.fuzz.harness import OUTCOMES, case_input, run_case, run_fuzz
from tools.fuzz.seeds import build_seeds
from tools.fuzz.targets import TARGET_NAMES, TARGETS, Target

CASES_PER_TARGET = 350


def test_a_slice_of_every_target_has_no_crash_and_no_hang():
    report = run_fuzz(CASES_PER_TARGET * len(TARGET_NAMES), seed=0, time_limit=20.0)
    assert report.total == CASES_PER_TARGET * len(TARGET_NAMES) >= 2000
    crashes = [f"{f.target}: {f.kind} at {f.where} (case {f.case}): {f.message}"
               for f in report.findings.values()]
    assert not crashes, "\n".join(crashes)
    for name in TARGET_NAMES:  # the mutators reach both sides of every reader's checks
        counts = report.counts[name]
        assert counts["ok"] > 0 and counts["user_error"] > 0, (name, counts)
        assert counts["crash"] == counts["hang"] == 0


def test_cases_are_deterministic_and_replayable_one_at_a_time():
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        seeds_a, seeds_b = build_seeds(Path(first)), build_seeds(Path(second))
        for target in TARGETS:
            for index in (0, 7, 123):
                assert case_input(target, index, 0, seeds_a) == case_input(target, index, 0,
                                                                           seeds_b)
    one = run_fuzz(1, seed=0, targets=["bound"], first_case=5)
    assert sum(one.counts["bound"][o] for o in OUTCOMES) == 1


def test_the_command_prints_the_table_and_exits_zero_without_crashes(capsys):
    assert main(["--cases", "13", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[-1] == "3" and out.splitlines()[2].split()[-1] == "2"
    assert out.splitlines()[0].split() == ["target", *OUTCOMES, "total"]
    assert all(f"\n{name} " in out for name in TARGET_NAMES) and "13 cases in" in out


def test_outcomes_are_classified_ok_user_error_crash_and_hang(tmp_path):
    def reader(raise_what):
        def read(seeds, path):
            if raise_what == "sleep":
                time.sleep(5)
            elif raise_what is not None:
                raise raise_what
        return Target("t", lambda seeds, rng: (b"", ""), read)

    cases = [(None, "ok"), (UserError("one line"), "user_error"),
             (UserError("two\nlines"), "crash"), (ValueError("x"), "crash"),
             (RuntimeWarning("numeric surprise"), "crash"), ("sleep", "hang")]
    for raised, outcome in cases:
        assert run_case(reader(raised), None, tmp_path / "x", time_limit=0.2)[0] == outcome
