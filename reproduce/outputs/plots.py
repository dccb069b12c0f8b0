"""Figures with matplotlib, an optional extra (`plot`: requirements-plot.txt).

* A run's curve (`act_max --plot`): the activation at each iteration (left axis) and the step
  size of that iteration (right axis, dashed), written beside the run's image as
  `<image name>.curve.png` (`curve_path`: from the image path reproduce.run.save returns).
* A sweep's summary (`sweep --plot`): per hyperparameter set, the final act of every run per
  unit (a dot per seed), each unit's spread over its seeds (a bar from the lowest to the
  highest) and its median (a tick).

Without matplotlib, `require_pyplot` raises a UserError saying how to install it, so a
command asked to plot fails with that one line before it runs or writes anything.
Figures are written atomically (common.atomic).
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_bytes
from common.errors import UserError

INSTALL = "pip install -r requirements-plot.txt, or pip install 'dgn-am[plot]'"
DPI = 100


def require_pyplot(flag: str = "--plot"):
    """matplotlib.pyplot on the Agg backend (no display needed), or a UserError naming `flag`."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise UserError(f"{flag}: needs matplotlib, an optional extra ({INSTALL})") from None
    return pyplot


def curve_path(image_path: str | Path) -> Path:
    """`<image name>.curve.png` beside the image (`fc8_0643_200_0.99_8.0__0.curve.png`)."""
    path = Path(image_path)
    return path.with_name(f"{path.stem}.curve.png")


def save_figure(figure, path: str | Path) -> Path:
    """Writes the figure as PNG atomically and closes it."""
    pyplot = require_pyplot()
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        pyplot.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def curve_figure(acts: Sequence[float], steps: Sequence[float], title: str):
    """Activation per iteration (left axis) and step size (right axis); returns the figure."""
    pyplot = require_pyplot()
    figure, act_axis = pyplot.subplots(figsize=(6.4, 3.6))
    iterations = np.arange(len(acts))
    act_axis.plot(iterations, acts, color="tab:red", label="activation")
    act_axis.set_xlabel("iteration")
    act_axis.set_ylabel("activation", color="tab:red")
    step_axis = act_axis.twinx()
    step_axis.plot(iterations, steps, color="tab:blue", linestyle="--", label="step size")
    step_axis.set_ylabel("step size", color="tab:blue")
    act_axis.set_title(title)
    figure.tight_layout()
    return figure


def write_curve_plot(path: str | Path, acts: Sequence[float], steps: Sequence[float],
                     title: str) -> Path:
    """The curve figure as a PNG at `path`."""
    return save_figure(curve_figure(acts, steps, title), path)


def summary_figure(sets: Sequence[tuple[str, Mapping[int, Sequence[float]]]]):
    """One panel per (set label, unit → final acts over seeds); returns the figure."""
    pyplot = require_pyplot()
    figure, axes = pyplot.subplots(max(len(sets), 1), 1, figsize=(10, 3.2 * max(len(sets), 1)),
                                   squeeze=False)
    for axis, (label, by_unit) in zip(axes[:, 0], sets):
        units = sorted(by_unit)
        finals = [np.asarray(by_unit[unit], dtype=np.float64) for unit in units]
        axis.vlines(units, [values.min() for values in finals],
                    [values.max() for values in finals], color="0.75", linewidth=1,
                    label="spread over seeds")
        axis.scatter([unit for unit, values in zip(units, finals) for _ in values],
                     np.concatenate(finals) if finals else [], s=6, color="tab:red",
                     label="one seed")
        axis.scatter(units, [np.median(values) for values in finals], marker="_", s=40,
                     color="black", label="median")
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("unit")
        axis.set_ylabel("final act")
        axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure


def write_summary_plot(path: str | Path,
                       sets: Sequence[tuple[str, Mapping[int, Sequence[float]]]]) -> Path:
    """The summary figure as a PNG at `path`."""
    return save_figure(summary_figure(sets), path)
