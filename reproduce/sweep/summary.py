"""OUT_DIR/summary.png (`sweep --plot`): final act per unit and its spread over the seeds,
one panel per hyperparameter set (reproduce.outputs.plots.summary_figure)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from reproduce.outputs.plots import write_summary_plot
from reproduce.sweep.atlas_model import set_label

SUMMARY_NAME = "summary.png"


def final_acts_by_set(rows: Sequence[Mapping[str, object]]) -> list[tuple[str, dict[int, list[float]]]]:
    """(set label, unit → final acts in seed order) per hyperparameter set, by folder name."""
    sets: dict[str, tuple[str, dict[int, list[tuple[int, float]]]]] = {}
    for row in rows:
        label, by_unit = sets.setdefault(str(row["set_dir"]), (set_label(row), defaultdict(list)))
        by_unit[int(row["unit"])].append((int(row["seed"]), float(row["final_act"])))
    return [(label, {unit: [act for _, act in sorted(pairs)] for unit, pairs in by_unit.items()})
            for _, (label, by_unit) in sorted(sets.items())]


def write_sweep_summary(out_dir: str | Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """Writes OUT_DIR/summary.png for these rows; returns its path."""
    return write_summary_plot(Path(out_dir) / SUMMARY_NAME, final_acts_by_set(rows))
