"""A whole sweep: checks, lock, store, plan, executor, commits, progress, atlas.

An existing OUT_DIR is locked first (a second writer is refused at once). Every check runs
before anything is written: the specs' syntax (reproduce.sweep.spec), the nets, the act layer
and the bound file (by converting the first batch's step graph), the units' range (`all`
resolved against the layer) and xy. Holding the lock, the plan skips every run already in the
store; each batch size of the plan is probed (reproduce.sweep.invariance), and where a batch
would change a run's bits the sweep runs lone runs instead, so its results never depend on
--batch. The executor runs the batches and each finished batch is committed (images, then
its rows) before the next result is awaited.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError
from common.progress import progress
from reproduce.inputs.bounds import load_bounds
from reproduce.run.job import StepModels, check_schedule
from reproduce.step.graph import CodeMode
from reproduce.sweep.commit import commit_batch, remove_stale_temporaries
from reproduce.sweep.invariance import batch_changes_bits
from reproduce.sweep.lock import exclusive
from reproduce.sweep.plan import Fixed, HyperSet, Plan, make_plan
from reproduce.sweep.setup import (IDENTITY_FLAGS, RunSetup, act_max_flags, fixed_settings,
                                   nets_identity, shown_path)
from reproduce.sweep.spec import ALL, parse_spec
from reproduce.sweep.store import Store

log = logging.getLogger(__name__)
DEFAULT_BATCH = 8


@dataclass(frozen=True)
class SweepRequest:
    """What `python -m reproduce sweep` was asked for (specs still as text)."""

    out_dir: str
    setup: RunSetup
    act_layer: str
    units: str  # SPEC
    seeds: str  # SPEC
    sets: tuple[HyperSet, ...]
    xy: int = 0
    batch: int = DEFAULT_BATCH  # at most this many runs per batch (0: a whole set)
    ray: str | None = None  # None: local; "": start a local Ray runtime; else a cluster address
    inexact_batches: bool = False  # keep batches even where they change a run's bits


def checked_runs(request: SweepRequest, models: StepModels) -> tuple[tuple[int, ...],
                                                                    tuple[int, ...]]:
    """Units and seeds after every check that needs no running (see the module docstring)."""
    seeds = parse_spec(request.seeds, "--seeds")
    listed_units = None if request.units.strip().lower() == ALL else parse_spec(request.units,
                                                                                 "--units")
    for hyper in request.sets:
        check_schedule(hyper.schedule)
    if request.batch < 0:
        raise UserError(f"--batch {request.batch}: must not be negative")
    outside = [seed for seed in seeds if seed >= 2**32]
    if outside:
        raise UserError(f"--seeds {request.seeds}: {outside[0]} is out of NumPy's seed range "
                        "[0, 2**32)")
    runs_per_set = len(listed_units) * len(seeds) if listed_units is not None else 1
    first_size = min(request.batch or runs_per_set, runs_per_set)
    shapes = models.get(first_size).shapes  # converts: unknown layers and bad files fail here
    units = parse_spec(request.units, "--units", count=shapes.act.unit_count)
    shapes.act.check_xy(request.xy)
    if request.setup.mode is CodeMode.BOUND:
        load_bounds(request.setup.bound, shapes.code_size)
    return units, seeds


def describe_plan(plan: Plan, units: Sequence[int], seeds: Sequence[int], sets: int,
                  executor: str, batch: int) -> str:
    size = f"of at most {batch}" if batch else "of a whole set each"
    return (f"plan: {len(units)} units × {len(seeds)} seeds × {sets} hyperparameter set(s) = "
            f"{plan.total} runs; {plan.done} done already; {plan.to_run} to run in "
            f"{len(plan.batches)} batch(es) {size} ({executor} executor)")


def batches_change_bits(plan: Plan, setup: RunSetup, models: StepModels,
                        report: Callable[[str], None]) -> bool:
    """Probes each batch size of the plan (reproduce.sweep.invariance); reports a change."""
    for size in sorted({len(batch.samples) for batch in plan.batches if len(batch.samples) > 1}):
        if batch_changes_bits(setup, plan.batches[0], size, models):
            report(f"batches of {size} change a run's bits with these nets on this machine "
                   "(measured: a sample's result depends on its place in the batch); running "
                   "lone runs, as act_max does (--inexact_batches keeps the batches)")
            return True
    return False


def plan_sweep(request: SweepRequest, fixed: Fixed, units: Sequence[int], seeds: Sequence[int],
               store: Store, models: StepModels, report: Callable[[str], None]) -> Plan:
    """The runs missing from the store, in batches that keep every run's bits; reported."""
    batch = request.batch
    plan = make_plan(fixed, request.sets, units, seeds, store.done_keys(), batch)
    if not request.inexact_batches and batches_change_bits(plan, request.setup, models, report):
        batch = 1
        plan = make_plan(fixed, request.sets, units, seeds, store.done_keys(), batch)
    executor = "local" if request.ray is None else "ray"
    report(describe_plan(plan, units, seeds, len(request.sets), executor, batch))
    return plan


def make_executor(request: SweepRequest, models: StepModels):
    if request.ray is None:
        from reproduce.sweep.local import LocalExecutor
        return LocalExecutor(request.setup, models)
    from reproduce.sweep.ray_cluster import RayExecutor
    return RayExecutor(request.setup, request.ray or None)


def record_settings(store: Store, setup: RunSetup, fixed: Fixed, labels: str | None) -> None:
    """What the atlas shows besides the rows: the act_max flags of these nets, the bound
    file's path (by its content hash) and the labels file (reproduce.sweep.store's `meta`)."""
    store.set_meta("act_max_flags", act_max_flags(setup))
    if fixed.bound_sha256:
        bound_files = store.meta("bound_files") or {}
        bound_files[fixed.bound_sha256] = shown_path(setup.bound)
        store.set_meta("bound_files", bound_files)
    if labels:
        store.set_meta("labels", str(Path(labels).resolve()))


def run_sweep(request: SweepRequest, report: Callable[[str], None] = log.info,
              labels: str | None = None, title: str | None = None) -> Plan:
    """Runs what is missing of the sweep into request.out_dir; returns the plan it ran.

    `report` receives the plan line and, after the first batch, the estimate of the time left.
    The atlas (OUT_DIR/atlas/, reproduce.sweep.atlas) is rewritten at the end, with `labels`
    for unit captions (recorded in the store; None: the labels an earlier sweep recorded) and
    `title`, and its one-line summary reported.
    """
    setup = request.setup
    out_dir = Path(request.out_dir)
    with ExitStack() as held:
        if out_dir.is_dir():  # refuse a second writer before converting anything
            held.enter_context(exclusive(out_dir))
        models = StepModels(setup.nets, request.act_layer, setup.mode, setup.use_cache)
        units, seeds = checked_runs(request, models)  # before anything is written
        fixed = fixed_settings(setup, request.act_layer, request.xy)
        if not out_dir.is_dir():
            out_dir.mkdir(parents=True)
            held.enter_context(exclusive(out_dir))
        store = held.enter_context(Store(out_dir))
        store.claim_nets(nets_identity(setup), IDENTITY_FLAGS)
        record_settings(store, setup, fixed, labels)
        remove_stale_temporaries(out_dir)
        plan = plan_sweep(request, fixed, units, seeds, store, models, report)
        if plan.batches:
            execute(plan, request, models, store, report)
        from reproduce.sweep.atlas import write_store_atlas
        report(write_store_atlas(out_dir, store, title=title).summary())
    return plan


def execute(plan: Plan, request: SweepRequest, models: StepModels, store: Store,
            report: Callable[[str], None]) -> None:
    """Runs the plan's batches, committing each as it finishes; one progress bar over runs."""
    started = time.monotonic()
    executor = make_executor(request, models)
    try:
        with progress(total=plan.to_run, desc="runs") as bar:
            for index, output in enumerate(executor.run(plan.batches)):
                commit_batch(request.out_dir, store, output)
                bar.update(len(output.rows))
                if index == 0:
                    done = len(output.rows)
                    elapsed = time.monotonic() - started
                    left = elapsed / done * (plan.to_run - done)
                    report(f"first batch: {done} runs in {elapsed:.1f} s (with the step-graph "
                           f"build); estimated time left: {format_seconds(left)}")
    finally:
        executor.close()


def format_seconds(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `2 h 07 min`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
