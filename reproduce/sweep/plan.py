"""What a sweep runs: its fixed settings, its hyperparameter sets, its runs and their batches.

A run is one (unit, seed) under one hyperparameter set (n_iters, L2, start_lr, end_lr) with
the sweep's fixed settings (act layer, xy, code mode and bound file). Its key, the store's
primary key, is all of those (`RunKey`). Each hyperparameter set has its own folder under
OUT_DIR (`HyperSet.folder`), so the release's file names, which leave out end_lr, xy and the
code mode, never collide; inside it a run's files have exactly act_max's names.

The runs of a set go in the release's order (units outer, seeds inner), the sets in the order
of the flags' values (L2 outer, then start_lr, then end_lr); a batch holds at most `batch`
runs of one set, so it is one `Job`.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reproduce.outputs.images import result_file_name
from reproduce.outputs.names import layer_slug
from reproduce.step.rules import Schedule


@dataclass(frozen=True)
class Fixed:
    """What every run of one sweep shares besides the nets: layer, xy and how the code is kept."""

    act_layer: str
    xy: int
    code_mode: str  # "bound", "clip" or "none" (reproduce.step.graph.CodeMode's values)
    bound_sha256: str = ""  # the bound file's content hash ("" unless code_mode is "bound")


@dataclass(frozen=True)
class HyperSet:
    """One hyperparameter set: the schedule (end_lr already resolved, as the release does)."""

    n_iters: int
    l2: float
    start_lr: float
    end_lr: float

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.n_iters, self.start_lr, self.end_lr, self.l2)

    def folder(self, fixed: Fixed) -> str:
        """The set's folder under OUT_DIR, e.g. `fc8_xy0_n200_L2_0.99_lr_8.0_1e-10_bound-1a2b3c4d`.

        Floats are written with str(), as the release's file names write them.
        """
        mode = f"bound-{fixed.bound_sha256[:8]}" if fixed.code_mode == "bound" else fixed.code_mode
        return (f"{safe_name(fixed.act_layer)}_xy{fixed.xy}_n{self.n_iters}_L2_{self.l2}"
                f"_lr_{self.start_lr}_{self.end_lr}_{mode}")


safe_name = layer_slug  # a layer name as one path component (reproduce.outputs.names)


def hyper_sets(n_iters: int, l2s: Sequence[float], start_lrs: Sequence[float],
               end_lrs: Sequence[float]) -> list[HyperSet]:
    """Every listed combination, end_lr < 0 resolved to the start rate, duplicates dropped."""
    sets: dict[HyperSet, None] = {}
    for l2, start_lr, end_lr in itertools.product(l2s, start_lrs, end_lrs):
        schedule = Schedule.from_flags(n_iters, start_lr, end_lr, l2)
        sets.setdefault(HyperSet(n_iters, float(l2), float(start_lr), float(schedule.lr_end)), None)
    return list(sets)


@dataclass(frozen=True)
class RunKey:
    """A run's full parameters: the store's primary key."""

    fixed: Fixed
    hyper: HyperSet
    unit: int
    seed: int

    def as_columns(self) -> dict[str, object]:
        """The key as the store's column values."""
        return {"act_layer": self.fixed.act_layer, "unit": self.unit, "xy": self.fixed.xy,
                "seed": self.seed, "n_iters": self.hyper.n_iters, "L2": self.hyper.l2,
                "start_lr": self.hyper.start_lr, "end_lr": self.hyper.end_lr,
                "code_mode": self.fixed.code_mode, "bound_sha256": self.fixed.bound_sha256}

    @property
    def jpeg(self) -> str:
        """The JPEG's path relative to OUT_DIR: the set's folder, then act_max's file name."""
        hyper = self.hyper
        name = result_file_name(self.fixed.act_layer, self.unit, hyper.n_iters, hyper.l2,
                                hyper.start_lr, self.seed)
        return f"{hyper.folder(self.fixed)}/{name}"

    @property
    def image(self) -> str:
        """The lossless PNG's path relative to OUT_DIR (beside the JPEG)."""
        return self.jpeg[:-len(".jpg")] + ".png"


KEY_COLUMNS = ("act_layer", "unit", "xy", "seed", "n_iters", "L2", "start_lr", "end_lr",
               "code_mode", "bound_sha256")


def key_tuple(columns: dict[str, object]) -> tuple:
    """The key columns of a row (or of `RunKey.as_columns`) as a comparable tuple."""
    return tuple(columns[name] for name in KEY_COLUMNS)


@dataclass(frozen=True)
class Batch:
    """At most `batch` runs of one hyperparameter set, in sweep order: one Job."""

    fixed: Fixed
    hyper: HyperSet
    samples: tuple[tuple[int, int], ...]  # (unit, seed)

    def keys(self) -> list[RunKey]:
        return [RunKey(self.fixed, self.hyper, unit, seed) for unit, seed in self.samples]


@dataclass(frozen=True)
class Plan:
    """All runs of a sweep, those done already, and the batches that run the others."""

    total: int
    done: int
    batches: tuple[Batch, ...]

    @property
    def to_run(self) -> int:
        return self.total - self.done


def make_plan(fixed: Fixed, sets: Sequence[HyperSet], units: Sequence[int],
              seeds: Sequence[int], done: Iterable[tuple], batch: int) -> Plan:
    """The runs not in `done` (key tuples) cut into batches of at most `batch` (0: a whole set)."""
    done_keys = set(done)
    total = finished = 0
    batches = []
    for hyper in sets:
        missing = []
        for unit, seed in itertools.product(units, seeds):
            total += 1
            if key_tuple(RunKey(fixed, hyper, unit, seed).as_columns()) in done_keys:
                finished += 1
            else:
                missing.append((unit, seed))
        size = batch or len(missing) or 1
        batches += [Batch(fixed, hyper, tuple(missing[first:first + size]))
                    for first in range(0, len(missing), size)]
    return Plan(total, finished, tuple(batches))
