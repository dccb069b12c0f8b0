"""What the atlas's pages show, built once from the store's rows: runs, sets and units.

A run's rank is its place among the runs of the same unit in the same hyperparameter set by
final act, high to low (1 = the best seed; ties by seed, not-finite last). Paths are relative
to the atlas folder (OUT_DIR/atlas): the thumbnail there, the run's PNG and JPEG one level up.
A unit page is `unit/NNNN.html` (the unit as `{unit:04d}`, as the release's file names write
it); a run's anchor on it is `r-<set folder>-s<seed>`.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reproduce.sweep.thumbnails import thumbnail_name

UNIT_DIR = "unit"


def unit_file_name(unit: int) -> str:
    """A unit page's file name (in the unit folder)."""
    return f"{unit:04d}.html"


def unit_page_name(unit: int) -> str:
    """A unit page's path relative to the atlas folder."""
    return f"{UNIT_DIR}/{unit_file_name(unit)}"


def set_label(row: Mapping[str, object]) -> str:
    """A hyperparameter set in words: `fc8 xy 0, 200 iters, L2 0.99, lr 8.0 → 1e-10, bound`."""
    return (f"{row['act_layer']} xy {row['xy']}, {row['n_iters']} iters, L2 {row['L2']}, "
            f"lr {row['start_lr']} → {row['end_lr']}, {row['code_mode']}")


@dataclass(frozen=True)
class AtlasSet:
    """One hyperparameter set (its folder under OUT_DIR) and its description."""

    set_dir: str
    label: str
    start_lr: float
    end_lr: float
    n_iters: int


@dataclass(frozen=True)
class AtlasRun:
    """One run as the pages show it."""

    row: Mapping[str, object]  # the store's row
    label: str  # the unit's label ("" without one)
    rank: int  # among the unit's seeds in its set, 1 = highest final act
    of: int  # how many runs the unit has in its set

    @property
    def unit(self) -> int:
        return int(self.row["unit"])

    @property
    def seed(self) -> int:
        return int(self.row["seed"])

    @property
    def set_dir(self) -> str:
        return str(self.row["set_dir"])

    @property
    def final_act(self) -> float:
        return float(self.row["final_act"])

    @property
    def acts(self) -> list[float]:
        return [float(act) for act in json.loads(str(self.row["acts"]))]

    @property
    def anchor(self) -> str:
        return f"r-{self.set_dir}-s{self.seed}"

    @property
    def unit_href(self) -> str:
        return f"{unit_page_name(self.unit)}#{self.anchor}"

    @property
    def thumbnail(self) -> str:
        return thumbnail_name(str(self.row["jpeg"]))


def sort_key_by_act(row: Mapping[str, object]) -> tuple:
    act = float(row["final_act"])
    return (-act if math.isfinite(act) else math.inf, int(row["seed"]))


def atlas_runs(rows: Sequence[Mapping[str, object]], labels: Mapping[int, str]) -> list[AtlasRun]:
    """Every row as an AtlasRun, with its rank, in the store's order."""
    groups: dict[tuple[str, int], list[Mapping[str, object]]] = defaultdict(list)
    for row in rows:
        groups[str(row["set_dir"]), int(row["unit"])].append(row)
    ranks: dict[int, tuple[int, int]] = {}
    for members in groups.values():
        for rank, row in enumerate(sorted(members, key=sort_key_by_act), 1):
            ranks[id(row)] = (rank, len(members))
    return [AtlasRun(row, labels.get(int(row["unit"]), ""), *ranks[id(row)]) for row in rows]


def atlas_sets(rows: Sequence[Mapping[str, object]]) -> list[AtlasSet]:
    """The hyperparameter sets of the rows, by folder name."""
    sets = {}
    for row in rows:
        sets.setdefault(str(row["set_dir"]), AtlasSet(
            str(row["set_dir"]), set_label(row), float(row["start_lr"]), float(row["end_lr"]),
            int(row["n_iters"])))
    return [sets[name] for name in sorted(sets)]
