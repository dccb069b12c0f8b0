"""`python -m reproduce export_step OUT.onnx [--loop LOOP.onnx] ACT_MAX_FLAGS`.

Writes the fused step graph (one DGN-AM iteration for --batch_size samples; see
reproduce.step.graph for its inputs and outputs) for the nets, activation layer and code mode
(--clip / --bound) the act_max flags name, and with --loop the whole loop as an ONNX Loop model
(reproduce.step.loop_export), so the method runs in any ONNX runtime.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import onnx

from converters.caffe.onnx_file import save_onnx
from common.cli import one_line_errors
from common.errors import UserError
from reproduce.cli import quiet_converters
from reproduce.cli.act_max import add_act_max_arguments, job_from
from reproduce.run.job import build_step_model
from reproduce.step.loop_export import build_loop_model


def write_model(path: str, model: onnx.ModelProto) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_onnx(model, path)


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    if args.batch_size < 1:
        raise UserError(f"--batch_size {args.batch_size}: must be at least 1")
    job = job_from(args)
    step_model = build_step_model(job.nets, job.act_layer, args.batch_size, job.mode,
                                  use_cache=job.use_cache)
    exported = step_model.exported()
    write_model(args.output, exported)
    print(f"wrote {args.output} (step graph, batch {args.batch_size}, mode {step_model.mode.value})")
    if args.loop:
        write_model(args.loop, build_loop_model(exported))
        print(f"wrote {args.loop} (ONNX Loop over the step graph)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("export_step", help="write the step graph (and loop) as ONNX",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", help="the step graph .onnx to write")
    parser.add_argument("--loop", default="", help="also write the whole loop (ONNX Loop) here")
    parser.add_argument("--batch_size", type=int, default=1, help="samples per step")
    add_act_max_arguments(parser)
    one_line_errors(parser, "export_step")
    parser.set_defaults(func=main)
