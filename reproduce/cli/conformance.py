"""`python -m reproduce conformance [--demo | ACT_MAX_FLAGS] [--batch_sizes 1 4] [--runtimes ...]
[--iterations I ...] [--table FILE.md]`: the exported DGN-AM in every installed ONNX runtime.

For each batch size, exports the step graph and the ONNX Loop model (as export_step does) for
the nets, act layer and code mode the act_max flags name (--demo: the project's demo pair,
models/demo/demo.json), runs the step graph on ONNX Runtime in Python to take the states
before the chosen iterations (default: four spread over the run), and replays one iteration
from each state on every runtime: onnxruntime (Python), onnxruntime-node, onnxruntime-web
(wasm) under node and in headless Chromium, OpenVINO (CPU, f32), tract, onnx's
ReferenceEvaluator. Code, activation and image must agree with ONNX Runtime in Python within
1e-5 relative; a difference is traced to the node where it starts (a flip of a ReLU or
max-pool decision, a runtime's known bug, or a real difference). Prints the runtime × model
table (--table also writes it); runtimes not installed are skipped with the reason.
Exit status: 0 all agree (or flip / known runtime bug / unsupported / skipped), 1 a runtime
differs or fails on a model it supports, 2 bad input.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common.atomic import atomic_write_bytes
from common.cli import EXIT_CHECK_FAILED, EXIT_OK
from common.errors import UserError
from reproduce.cli import quiet_converters
from reproduce.cli.act_max import add_act_max_arguments, job_from
from reproduce.conformance.compare import FAILING, markdown_table
from reproduce.conformance.run import run_conformance, setup_from_job
from reproduce.conformance.runtimes import RUNTIMES


def spread_iterations(n_iters: int, count: int = 4) -> list[int]:
    """`count` iterations spread over a run of n_iters, first and last included."""
    if n_iters <= count:
        return list(range(n_iters))
    return sorted({round(k * (n_iters - 1) / (count - 1)) for k in range(count)})


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    if args.demo:
        from reproduce.experiments.table import demo_job
        from reproduce.inputs.demo import demo_settings
        job = demo_job(demo_settings(args.demo_dir))
    else:
        job = job_from(args)
    if any(size < 1 for size in args.batch_sizes):
        raise UserError(f"--batch_sizes {' '.join(map(str, args.batch_sizes))}: each must be at least 1")
    iterations = args.iterations if args.iterations else spread_iterations(job.schedule.n_iters)
    setup = setup_from_job(job, iterations)
    runtimes = [RUNTIMES[name]() for name in dict.fromkeys(args.runtimes)]
    workdir = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="conformance-"))
    try:
        results = run_conformance(setup, args.batch_sizes, runtimes, workdir)
    finally:
        if not args.work_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    table = markdown_table(results)
    print(table, end="")
    if args.table:
        atomic_write_bytes(args.table, table.encode())
        print(f"wrote {args.table}")
    return EXIT_CHECK_FAILED if any(result.status in FAILING for result in results) else EXIT_OK


def register(subparsers) -> None:
    parser = subparsers.add_parser("conformance", help="the exported DGN-AM in other ONNX runtimes",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--batch_sizes", type=int, nargs="+", default=[1, 4], help="step graphs to export and check")
    add("--runtimes", nargs="+", choices=list(RUNTIMES), default=list(RUNTIMES),
        help="runtimes to check (default: all; those not installed are skipped)")
    add("--iterations", type=int, nargs="+", default=None,
        help="replay the states before these iterations (default: 4 spread over --n_iters)")
    add("--table", default="", help="also write the markdown table here")
    add("--work_dir", default="", help="keep the exported models and runner files here")
    add_act_max_arguments(parser)
    parser.set_defaults(func=main)
