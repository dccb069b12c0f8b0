"""`python -m reproduce act_max`: one DGN-AM run with the original act_max.py's flags.

Same flag names and defaults as the release (--unit --n_iters --L2 --start_lr --end_lr --seed
--xy --opt_layer --act_layer --init_file --debug --clip --bound --output_dir --net_weights
--net_definition), the same output file name, plus: the generator and encoder files, a stored
start code (--init_code), a trace (--trace), ONNX Runtime providers and threads, and batches of
units/seeds (--units, --seeds: every pair is one sample, all optimised together, each exactly as
if run alone), any ONNX classifier as the net (--net_onnx, with its input convention:
reproduce.cli.onnx_net_flags), and the project's demo pair (--demo: its generator, classifier
and bound file; reproduce.cli.net_flags), and a plot of each run's curve (--plot:
`<image name>.curve.png`, activation per iteration and step size; matplotlib, optional).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import one_line_errors
from reproduce.cli import quiet_converters
from reproduce.cli.net_flags import (add_net_arguments, add_runtime_arguments, bound_from,
                                     default_paths, net_files_from)
from reproduce.outputs.plots import curve_path, require_pyplot, write_curve_plot
from reproduce.run.job import CodeFile, Job, SampleResult, StartImage, iter_job
from reproduce.run.save import save_sample, trace_path_for
from reproduce.step.rules import Schedule


def add_loop_arguments(parser: argparse.ArgumentParser) -> None:
    """The original flags that set one run's loop, with their names and defaults: --unit
    --n_iters --L2 --start_lr --end_lr --seed --xy --act_layer --clip --bound (act_max and the
    web page's builder)."""
    add = parser.add_argument
    add("--unit", metavar="unit", type=int, help="a unit to visualize e.g. [0, 999]")
    add("--n_iters", metavar="iter", type=int, default=10, help="number of iterations")
    add("--L2", metavar="w", type=float, default=1.0, const=1.0, nargs="?", help="L2 weight")
    add("--start_lr", metavar="lr", type=float, default=2.0, const=2.0, nargs="?", help="learning rate")
    add("--end_lr", metavar="lr", type=float, default=-1.0, const=-1.0, nargs="?",
        help="ending learning rate (< 0: the start rate)")
    add("--seed", metavar="n", type=int, default=0, const=0, nargs="?", help="random seed")
    add("--xy", metavar="n", type=int, default=0, const=0, nargs="?",
        help="spatial position for conv units")
    add("--act_layer", metavar="s", type=str, default="fc8", help="layer at which we activate a neuron")
    add("--clip", metavar="b", type=int, default=0, help="clip the code to [-1, 1]")
    add("--bound", metavar="b", type=str, default="", help="file of the code's upper bounds")


def add_act_max_arguments(parser: argparse.ArgumentParser) -> None:
    """The original flags (names, defaults) and the project's additions."""
    paths = default_paths()
    add = parser.add_argument
    add_loop_arguments(parser)
    add("--opt_layer", metavar="s", type=str, default="fc6",
        help="layer at which we optimize a code (the encoder blob for --init_file)")
    add("--init_file", metavar="s", type=str, default="", help="init image ('' or None: random code)")
    add("--debug", metavar="b", type=int, default=0, help="save every iteration's image")
    add("--output_dir", metavar="b", type=str, default=".", help="output directory for results")
    add_net_arguments(parser)
    add("--encoder_definition", type=str, default=paths["net_definition"])
    add("--encoder_weights", type=str, default=paths["net_weights"])
    add("--mean_file", type=str, default=paths["mean_file"], help=".mat (image_mean) or .npy")
    add("--init_code", type=str, default="", help="start from a stored code (.npy)")
    add("--trace", type=str, default="", help="write the run's trace (.npz)")
    add("--debug_dir", type=str, default="./debug", help="where --debug images go")
    add_runtime_arguments(parser)
    add("--units", type=int, nargs="+", default=None, help="several units at once (batch)")
    add("--seeds", type=int, nargs="+", default=None, help="several seeds at once (batch)")
    add("--batch", type=int, default=0, help="at most this many samples per step graph (0: all)")
    add("--plot", action="store_true",
        help="also write <image name>.curve.png: activation per iteration and step size "
             "(needs matplotlib: pip install -r requirements-plot.txt)")


def schedule_from(args: argparse.Namespace) -> Schedule:
    """The release's schedule (end_lr < 0 means the start rate)."""
    return Schedule.from_flags(args.n_iters, args.start_lr, args.end_lr, args.L2)


def start_from(args: argparse.Namespace) -> StartImage | CodeFile | None:
    """--init_file (an image for the encoder) wins over --init_code; neither: random codes."""
    if args.init_file not in ("", "None"):
        return StartImage(args.init_file, args.encoder_definition, args.encoder_weights,
                          args.mean_file, args.opt_layer)
    return CodeFile(args.init_code) if args.init_code else None


def job_from(args: argparse.Namespace) -> Job:
    """The Job the act_max flags describe."""
    units = args.units if args.units is not None else [args.unit]
    seeds = args.seeds if args.seeds is not None else [args.seed]
    return Job.product(net_files_from(args), args.act_layer, units, seeds, schedule_from(args),
                       xy=args.xy, start=start_from(args), bound=bound_from(args),
                       clip=bool(args.clip), providers=args.providers or None, runtime=args.runtime,
                       threads=args.threads or None, batch=args.batch,
                       record_codes=bool(args.trace), record_stepped=bool(args.debug),
                       use_cache=not args.no_cache)


def write_curve(job: Job, result: SampleResult, image_path: Path) -> Path:
    """The run's curve beside its image (reproduce.outputs.plots.curve_path)."""
    steps = [job.schedule.step_size(iteration) for iteration in range(result.iterations)]
    title = f"{job.act_layer} unit {result.unit}, seed {result.seed}"
    return write_curve_plot(curve_path(image_path), result.acts, steps, title)


def run_act_max(args: argparse.Namespace) -> list[tuple[SampleResult, Path]]:
    """flags → Job → results → files; returns (result, JPEG path) per sample."""
    job = job_from(args)
    written = []
    for results in iter_job(job):
        for result in results:
            path = save_sample(job, result, args.output_dir,
                               trace_path=trace_path_for(args.trace, result, len(job.samples) > 1),
                               debug_dir=args.debug_dir if args.debug else None)
            if args.plot:
                write_curve(job, result, path)
            written.append((result, path))
    return written


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    if args.plot:
        require_pyplot("--plot")  # before anything runs or is written
    for result, path in run_act_max(args):
        print(f"unit {result.unit} seed {result.seed}: {result.iterations} iterations, "
              f"obj act [{result.acts[-1] if result.acts else 0.0}]; saved to {path}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("act_max", help="one DGN-AM run (the original script's flags)",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_act_max_arguments(parser)
    one_line_errors(parser, "act_max")
    parser.set_defaults(func=main)
