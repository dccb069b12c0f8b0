"""`python -m reproduce sweep OUT_DIR ...`: many act_max runs, resumable, with a browsable atlas.

    python -m reproduce sweep OUT_DIR [net/generator flags | --demo | --net_onnx M [adapter
        flags]] [--runtime R] --act_layer L --units SPEC --seeds SPEC [--xy N] [--L2 V ...]
        [--start_lr V ...] [--end_lr V ...] [--n_iters N] [--bound FILE | --clip] [--batch B]
        [--ray [ADDRESS]] [--labels FILE] [--title T] [--plot] [--export FILE.csv|FILE.parquet]
    python -m reproduce sweep OUT_DIR --atlas [--labels FILE] [--title T]   # the atlas only
    python -m reproduce sweep OUT_DIR --plot                       # OUT_DIR/summary.png only
    python -m reproduce sweep OUT_DIR --export FILE.csv            # export the store only

SPEC: `all`, `a-b`, `a,b,c` or a mix (`0-9,100,500-504`); the runs are units × seeds × every
listed L2 × start_lr × end_lr. The same command again runs only what is missing. Each run's
files are act_max's (same names, same bytes) in OUT_DIR/<hyperparameter set>/; the store is
OUT_DIR/runs.sqlite, the atlas OUT_DIR/atlas/index.html (what `python -m reproduce atlas
OUT_DIR` writes). The net flags and their defaults are act_max's, --net_onnx and --runtime
included; a resumed sweep must name the same nets and net flags. --demo takes the nets, the
bound file and the labels from models/demo/demo.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import one_line_errors
from common.errors import UserError
from reproduce.cli import quiet_converters
from reproduce.cli.atlas import add_atlas_arguments, check_labels
from reproduce.cli.net_flags import (add_net_arguments, add_runtime_arguments, bound_from,
                                     labels_from, net_files_from)
from reproduce.outputs.plots import require_pyplot
from reproduce.sweep.driver import DEFAULT_BATCH, SweepRequest, run_sweep
from reproduce.sweep.plan import hyper_sets
from reproduce.sweep.setup import RunSetup


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("out_dir", metavar="OUT_DIR", help="the sweep's folder (store, images, atlas)")
    add("--act_layer", help="layer at which we activate a neuron (e.g. fc8)")
    add("--units", metavar="SPEC", help="units: all, a-b, a,b,c or a mix")
    add("--seeds", metavar="SPEC", help="seeds: a-b, a,b,c or a mix")
    add("--xy", type=int, default=0, help="spatial position for conv units")
    add("--n_iters", type=int, default=10, help="number of iterations")
    add("--L2", type=float, nargs="+", default=[1.0], metavar="V", help="L2 weight(s)")
    add("--start_lr", type=float, nargs="+", default=[2.0], metavar="V", help="learning rate(s)")
    add("--end_lr", type=float, nargs="+", default=[-1.0], metavar="V",
        help="ending learning rate(s) (< 0: the start rate)")
    code = parser.add_mutually_exclusive_group()
    code.add_argument("--bound", metavar="FILE", help="file of the code's upper bounds")
    code.add_argument("--clip", action="store_true", help="clip the code to [-1, 1]")
    add("--batch", type=int, default=DEFAULT_BATCH,
        help=f"at most this many runs per batch (default {DEFAULT_BATCH}; 0: a whole set)")
    add("--inexact_batches", action="store_true",
        help="keep batches even where they change a run's last bits (faster; results then "
             "depend on --batch)")
    add("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
        help="run the batches on Ray: a local runtime started here, or the cluster at ADDRESS")
    add_net_arguments(parser)
    add_runtime_arguments(parser)
    add_atlas_arguments(parser)
    add("--atlas", action="store_true", help="only rewrite the atlas (OUT_DIR/atlas/) from the store")
    add("--plot", action="store_true",
        help="write OUT_DIR/summary.png: final act per unit over the seeds (needs matplotlib)")
    add("--export", metavar="FILE", help="write the store's table as .csv or .parquet")


def setup_from(args: argparse.Namespace) -> tuple[RunSetup, str | None]:
    """The nets, bound/clip and runtime settings, and the labels file (--demo fills them in)."""
    nets = net_files_from(args)
    if args.threads < 0:
        raise UserError(f"--threads {args.threads}: must not be negative")
    if args.runtime != "onnxruntime" and args.providers:
        raise UserError(f"--providers {args.providers}: ONNX Runtime's; not with --runtime "
                        f"{args.runtime}")
    setup = RunSetup(nets, bound=bound_from(args), clip=args.clip,
                     providers=args.providers or None, threads=args.threads or None,
                     use_cache=not args.no_cache, runtime=args.runtime)
    return setup, labels_from(args)


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    if args.plot:
        require_pyplot("--plot")  # before anything runs or is written
    setup, labels = setup_from(args)
    if args.units is None and args.seeds is None and (args.atlas or args.export or args.plot):
        return store_actions(args, labels)
    missing = [flag for flag, value in (("--act_layer", args.act_layer), ("--units", args.units),
                                        ("--seeds", args.seeds)) if value is None]
    if missing:
        raise UserError(f"{', '.join(missing)}: required for a sweep (or give only --atlas, "
                        "--plot or --export to work on the store)")
    request = SweepRequest(args.out_dir, setup, args.act_layer, args.units, args.seeds,
                           tuple(hyper_sets(args.n_iters, args.L2, args.start_lr, args.end_lr)),
                           xy=args.xy, batch=args.batch, ray=args.ray,
                           inexact_batches=args.inexact_batches)
    if args.export:
        check_export_path(args.export)
    if labels:
        check_labels(labels)
    plan = run_sweep(request, report=print, labels=labels, title=args.title)
    print(f"{plan.total} runs in {args.out_dir} ({plan.to_run} new)")
    if args.export or args.plot:
        return store_actions(argparse.Namespace(**{**vars(args), "atlas": False}), labels)
    return 0


def check_export_path(path: str) -> None:
    from reproduce.sweep.export import FORMATS
    if Path(path).suffix.lower() not in FORMATS:
        raise UserError(f"--export {path}: unknown format (give a .csv or .parquet file)")


def store_actions(args: argparse.Namespace, labels: str | None) -> int:
    """--atlas, --plot and --export on an existing store (no runs; a sweep may be writing
    meanwhile). `labels`: --labels (or --demo's; None: the one the sweep recorded)."""
    from reproduce.sweep.atlas import write_store_atlas
    from reproduce.sweep.export import export_rows
    from reproduce.sweep.store import Store
    from reproduce.sweep.summary import write_sweep_summary
    if args.export:
        check_export_path(args.export)
    with Store(args.out_dir, create=False) as store:
        if args.atlas:
            print(write_store_atlas(args.out_dir, store, labels, args.title).summary())
        rows = store.rows()
    if args.plot:
        print(f"wrote {write_sweep_summary(args.out_dir, rows)} ({len(rows)} runs)")
    if args.export:
        print(f"wrote {export_rows(rows, args.export)} ({len(rows)} runs)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sweep", help="many runs into a resumable store, with an atlas",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_arguments(parser)
    one_line_errors(parser, "sweep")
    parser.set_defaults(func=main)
