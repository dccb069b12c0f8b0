"""`act_max --plot` (`<image name>.curve.png`: activation per iteration, step size on a second
axis) and `sweep --plot` (OUT_DIR/summary.png: final act per unit over the seeds), with
matplotlib (the `plot` extra; CI installs it: tools/setup_tests.sh); without it, one line
saying how to install it, before anything is written. About 5 s on 2 cores."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from common.cli import run_subcommands
from reproduce.__main__ import SUBCOMMAND_MODULES
from reproduce.step.rules import Schedule
from reproduce.sweep.store import Store

pytest.importorskip("matplotlib", reason="matplotlib not installed (requirements-plot.txt)")

ACT_MAX = ["act_max", "--demo", "--act_layer", "fc8", "--unit", "2", "--seed", "1",
           "--n_iters", "12", "--L2", "0.99", "--start_lr", "8.0", "--end_lr", "1e-10",
           "--threads", "1"]


def reproduce_here(*argv: str) -> int:
    """A subcommand in this process (so the test can watch what it plots)."""
    try:
        return run_subcommands("python -m reproduce", None, SUBCOMMAND_MODULES, list(argv))
    except SystemExit as exit_:  # argparse's own usage errors
        return exit_.code


def test_act_max_plot_writes_the_curve_of_its_trace_beside_the_image(tmp_path, monkeypatch):
    import reproduce.cli.act_max as act_max_cli
    plotted = []
    real = act_max_cli.write_curve_plot

    def watched(path, acts, steps, title):
        plotted.append((path, list(acts), list(steps)))
        return real(path, acts, steps, title)

    monkeypatch.setattr(act_max_cli, "write_curve_plot", watched)
    status = reproduce_here(*ACT_MAX, "--plot", "--output_dir", str(tmp_path),
                            "--trace", str(tmp_path / "trace.npz"))
    assert status == 0
    curve = tmp_path / "fc8_0002_12_0.99_8.0__1.curve.png"  # the JPEG's name, .curve.png
    assert (tmp_path / "fc8_0002_12_0.99_8.0__1.jpg").is_file()
    with Image.open(curve) as image:
        assert image.format == "PNG" and image.size == (640, 360)
    ((path, acts, steps),) = plotted
    assert path == curve
    with np.load(tmp_path / "trace.npz") as trace:
        assert acts == trace["acts"].tolist()
    schedule = Schedule.from_flags(12, 8.0, 1e-10, 0.99)
    assert steps == [schedule.step_size(iteration) for iteration in range(12)]


def test_curve_figure_draws_activation_and_step_size_on_two_axes():
    from reproduce.outputs.plots import curve_figure, require_pyplot
    figure = curve_figure([1.0, 3.0, 2.5], [8.0, 4.0, 1e-10], "fc8 unit 2, seed 1")
    act_axis, step_axis = figure.axes
    assert act_axis.lines[0].get_ydata().tolist() == [1.0, 3.0, 2.5]
    assert step_axis.lines[0].get_ydata().tolist() == [8.0, 4.0, 1e-10]
    assert (act_axis.get_ylabel(), step_axis.get_ylabel()) == ("activation", "step size")
    require_pyplot().close(figure)


def fill_store(out_dir, finals: dict[tuple[int, int], float]) -> None:
    """A store with one row per (unit, seed) → final act (only what the summary reads is real)."""
    rows = [{"act_layer": "fc8", "unit": unit, "xy": 0, "seed": seed, "n_iters": 3, "L2": 0.99,
             "start_lr": 8.0, "end_lr": 1e-10, "code_mode": "clip", "bound_sha256": "",
             "set_dir": "fc8_xy0_n3_L2_0.99_lr_8.0_1e-10_clip", "final_act": act,
             "iterations": 3, "acts": json.dumps([0.0, 0.0, act]), "image": f"{unit}_{seed}.png",
             "jpeg": f"{unit}_{seed}.jpg"} for (unit, seed), act in finals.items()]
    with Store(out_dir) as store:
        store.insert(rows)


def test_sweep_plot_draws_every_runs_final_act_per_unit(tmp_path):
    from reproduce.outputs.plots import require_pyplot, summary_figure
    from reproduce.sweep.summary import final_acts_by_set
    finals = {(unit, seed): float(unit * 10 + seed * seed) for unit in range(5) for seed in range(3)}
    fill_store(tmp_path, finals)
    assert reproduce_here("sweep", str(tmp_path), "--plot") == 0
    with Image.open(tmp_path / "summary.png") as image:
        assert image.format == "PNG"
    with Store(tmp_path, create=False) as store:
        sets = final_acts_by_set(store.rows())
    ((label, by_unit),) = sets
    assert label.startswith("fc8 xy 0, 3 iters") and by_unit[4] == [40.0, 41.0, 44.0]
    figure = summary_figure(sets)
    dots, medians = figure.axes[0].collections[1:]
    assert sorted(map(tuple, dots.get_offsets().tolist())) == sorted(
        (float(unit), act) for (unit, _), act in finals.items())
    assert medians.get_offsets().tolist() == [[unit, unit * 10 + 1.0] for unit in range(5)]
    require_pyplot().close(figure)


@pytest.mark.parametrize("argv", [
    [*ACT_MAX, "--plot"],
    ["sweep", "OUT", "--demo", "--act_layer", "fc8", "--units", "0", "--seeds", "0", "--plot"],
], ids=["act_max", "sweep"])
def test_without_matplotlib_plot_is_one_line_before_anything(argv, tmp_path, monkeypatch, capsys):
    for name in [name for name in sys.modules if name.split(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    out_dir = tmp_path / "out"
    argv = [str(out_dir) if word == "OUT" else word for word in argv]
    if argv[0] == "act_max":
        argv += ["--output_dir", str(out_dir)]
    assert reproduce_here(*argv) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "--plot: needs matplotlib" in errors[0]
    assert "pip install -r requirements-plot.txt" in errors[0]
    assert not out_dir.exists()
