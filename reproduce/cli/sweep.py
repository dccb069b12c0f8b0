"""`python -m reproduce sweep OUT_DIR ...`: many act_max runs, resumable, with a browsable atlas.

    python -m reproduce sweep OUT_DIR [net/generator flags | --demo] --act_layer L --units SPEC
        --seeds SPEC [--xy N] [--L2 V ...] [--start_lr V ...] [--end_lr V ...] [--n_iters N]
        [--bound FILE | --clip] [--batch B] [--ray [ADDRESS]] [--labels FILE]
        [--export FILE.csv|FILE.parquet]
    python -m reproduce sweep OUT_DIR --atlas [--labels FILE]      # rewrite atlas.html only
    python -m reproduce sweep OUT_DIR --export FILE.csv            # export the store only

SPEC: `all`, `a-b`, `a,b,c` or a mix (`0-9,100,500-504`); the runs are units × seeds × every
listed L2 × start_lr × end_lr. The same command again runs only what is missing. Each run's
files are act_max's (same names, same bytes) in OUT_DIR/<hyperparameter set>/; the store is
OUT_DIR/runs.sqlite, the atlas OUT_DIR/atlas.html. The flags' defaults are act_max's.
--demo takes the nets, the bound file and the labels from models/demo/demo.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import one_line_errors
from common.errors import UserError
from reproduce.cli import quiet_converters
from reproduce.cli.net_flags import (add_labels_argument, add_net_arguments,
                                     add_runtime_arguments, bound_from, labels_from,
                                     net_files_from)
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
    add_labels_argument(parser)  # the atlas's captions
    add("--atlas", action="store_true", help="only rewrite OUT_DIR/atlas.html from the store")
    add("--export", metavar="FILE", help="write the store's table as .csv or .parquet")


def setup_from(args: argparse.Namespace) -> tuple[RunSetup, str | None]:
    """The nets, bound/clip and runtime settings, and the labels file (--demo fills them in)."""
    nets = net_files_from(args)
    if nets.net_onnx is not None or args.runtime != "onnxruntime":
        raise UserError("--net_onnx/--runtime: not supported by sweep yet (act_max takes them)")
    if args.threads < 0:
        raise UserError(f"--threads {args.threads}: must not be negative")
    setup = RunSetup(nets, bound=bound_from(args), clip=args.clip,
                     providers=args.providers or None, threads=args.threads or None,
                     use_cache=not args.no_cache)
    return setup, labels_from(args)


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    setup, labels = setup_from(args)
    if args.units is None and args.seeds is None and (args.atlas or args.export):
        return store_actions(args, labels)
    missing = [flag for flag, value in (("--act_layer", args.act_layer), ("--units", args.units),
                                        ("--seeds", args.seeds)) if value is None]
    if missing:
        raise UserError(f"{', '.join(missing)}: required for a sweep (or give only --atlas / "
                        "--export to work on the store)")
    request = SweepRequest(args.out_dir, setup, args.act_layer, args.units, args.seeds,
                           tuple(hyper_sets(args.n_iters, args.L2, args.start_lr, args.end_lr)),
                           xy=args.xy, batch=args.batch, ray=args.ray,
                           inexact_batches=args.inexact_batches)
    if args.export:
        check_export_path(args.export)
    plan = run_sweep(request, report=print, labels=labels)
    print(f"{plan.total} runs in {args.out_dir} ({plan.to_run} new); "
          f"atlas: {Path(args.out_dir) / 'atlas.html'}")
    if args.export:
        return store_actions(argparse.Namespace(**{**vars(args), "atlas": False}), labels)
    return 0


def check_export_path(path: str) -> None:
    from reproduce.sweep.export import FORMATS
    if Path(path).suffix.lower() not in FORMATS:
        raise UserError(f"--export {path}: unknown format (give a .csv or .parquet file)")


def store_actions(args: argparse.Namespace, labels: str | None) -> int:
    """--atlas and --export on an existing store (no runs; a sweep may be writing meanwhile)."""
    from reproduce.sweep.atlas import write_atlas
    from reproduce.sweep.export import export_rows
    from reproduce.sweep.store import Store
    with Store(args.out_dir, create=False) as store:
        rows = store.rows()
    if args.atlas:
        print(f"wrote {write_atlas(args.out_dir, rows, labels)} ({len(rows)} runs)")
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
