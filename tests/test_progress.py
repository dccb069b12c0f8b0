"""Progress without a terminal: sparse plain lines instead of a bar rewritten every update."""
from __future__ import annotations

import io
import subprocess
import sys

from common import progress as progress_module
from common.progress import PlainProgress, progress
from support.paths import REPO_ROOT

DEMO = REPO_ROOT / "models" / "demo"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_plain_lines_at_most_every_interval(monkeypatch):
    clock = iter(float(t) for t in range(0, 10_000))
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    bar = progress(total=200, desc="fc8", stream=stream)
    assert isinstance(bar, PlainProgress)
    for _ in range(200):
        bar.update()
    bar.close()
    lines = stream.getvalue().splitlines()
    # one clock tick per update: a line every 5 ticks at most, plus the closing one
    assert 30 <= len(lines) <= 200 // 5 + 2
    assert lines[-1].startswith("fc8: 200/200 in ")
    assert "\r" not in stream.getvalue()


def test_a_terminal_keeps_the_bar():
    assert not isinstance(progress(total=3, desc="x", stream=FakeTerminal()), PlainProgress)


def test_a_transient_bar_says_nothing_when_quick():
    stream = io.StringIO()
    with progress(total=3, desc="build", leave=False, stream=stream) as bar:
        bar.update(3)
    assert stream.getvalue() == ""


def test_the_final_count_is_said_once(monkeypatch):
    """A periodic line that already says the final count is not repeated when the bar closes
    (a sweep whose last run ended just past the interval printed `runs: 8/8` twice)."""
    clock = iter([0.0] + [6.0] * 10)
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    bar = progress(total=8, desc="runs", stream=stream)
    bar.update(8)
    bar.close()
    assert [line.split(" in ")[0] for line in stream.getvalue().splitlines()] == ["runs: 8/8"]


def test_a_200_iteration_run_logs_a_few_lines_to_a_pipe(tmp_path):
    """The demo pair, 200 iterations, stderr to a file: no bar, a few hundred bytes."""
    run = subprocess.run(
        [sys.executable, "-m", "reproduce", "act_max", "--net_definition", str(DEMO / "classifier.prototxt"),
         "--net_weights", str(DEMO / "classifier.caffemodel"),
         "--generator_definition", str(DEMO / "generator.prototxt"),
         "--generator_weights", str(DEMO / "generator.caffemodel"), "--bound", str(DEMO / "fc6_3x.txt"),
         "--unit", "1", "--n_iters", "200", "--L2", "0.99", "--start_lr", "8", "--end_lr", "1e-10",
         "--output_dir", str(tmp_path), "--threads", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr
    assert len(run.stderr) < 2000, run.stderr
    assert "200/200" in run.stderr.splitlines()[-1]
