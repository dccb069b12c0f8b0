"""`python -m reproduce act_max`: one DGN-AM run with the original act_max.py's flags.

Same flag names and defaults as the release (--unit --n_iters --L2 --start_lr --end_lr --seed
--xy --opt_layer --act_layer --init_file --debug --clip --bound --output_dir --net_weights
--net_definition), the same output file name, plus: the generator and encoder files, a stored
start code (--init_code), a trace (--trace), ONNX Runtime providers and threads, and batches of
units/seeds (--units, --seeds: every pair is one sample, all optimised together, each exactly as
if run alone).
"""
from __future__ import annotations

import argparse
import logging
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reproduce.inputs.bounds import load_bounds
from reproduce.run.job import NetFiles, StepModel, build_step_model, check_schedule, code_mode
from reproduce.run.job import run_samples, unit_index
from common.errors import UserError
from reproduce.outputs.images import result_file_name, save_result_image, to_saved_array, write_image_atomic
from reproduce.run.loop import LoopResult, Schedule
from reproduce.official.manifest import data_path
from reproduce.inputs.start_code import as_stored_code, load_code_file, random_start_code
from reproduce.outputs.trace import write_trace

from reproduce.official.manifest import REPO_ROOT  # noqa: E402
NETS = REPO_ROOT / "models" / "nets"


def default_paths() -> dict[str, str]:
    """The release's settings.py defaults: CaffeNet as net and encoder, the fc6 generator."""
    return {"net_definition": str(NETS / "caffenet.prototxt"),
            "net_weights": str(data_path("nets/caffenet/bvlc_reference_caffenet.caffemodel")),
            "generator_definition": str(NETS / "upconv" / "fc6" / "generator.prototxt"),
            "generator_weights": str(data_path("nets/upconv/fc6/generator.caffemodel")),
            "mean_file": str(data_path("ilsvrc_2012_mean.mat"))}


def add_act_max_arguments(parser: argparse.ArgumentParser) -> None:
    """The original flags (names, defaults) and the project's additions."""
    paths = default_paths()
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
    add("--opt_layer", metavar="s", type=str, default="fc6",
        help="layer at which we optimize a code (the encoder blob for --init_file)")
    add("--act_layer", metavar="s", type=str, default="fc8", help="layer at which we activate a neuron")
    add("--init_file", metavar="s", type=str, default="", help="init image ('' or None: random code)")
    add("--debug", metavar="b", type=int, default=0, help="save every iteration's image")
    add("--clip", metavar="b", type=int, default=0, help="clip the code to [-1, 1]")
    add("--bound", metavar="b", type=str, default="", help="file of the code's upper bounds")
    add("--output_dir", metavar="b", type=str, default=".", help="output directory for results")
    add("--net_weights", metavar="b", type=str, default=paths["net_weights"])
    add("--net_definition", metavar="b", type=str, default=paths["net_definition"])
    add("--generator_definition", type=str, default=paths["generator_definition"])
    add("--generator_weights", type=str, default=paths["generator_weights"])
    add("--generator_input", type=str, default="feat", help="the generator's code blob")
    add("--generator_output", type=str, default="deconv0", help="the generator's image blob")
    add("--encoder_definition", type=str, default=paths["net_definition"])
    add("--encoder_weights", type=str, default=paths["net_weights"])
    add("--mean_file", type=str, default=paths["mean_file"], help=".mat (image_mean) or .npy")
    add("--init_code", type=str, default="", help="start from a stored code (.npy)")
    add("--trace", type=str, default="", help="write the run's trace (.npz)")
    add("--debug_dir", type=str, default="./debug", help="where --debug images go")
    add("--providers", type=str, default="", help="ONNX Runtime providers, comma-separated")
    add("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: default)")
    add("--units", type=int, nargs="+", default=None, help="several units at once (batch)")
    add("--seeds", type=int, nargs="+", default=None, help="several seeds at once (batch)")
    add("--batch", type=int, default=0, help="at most this many samples per step graph (0: all)")


@dataclass(frozen=True)
class Sample:
    """One (unit, seed) of a job with its start code."""

    unit: int
    seed: int
    start_code: np.ndarray


def schedule_from(args: argparse.Namespace) -> Schedule:
    """The release's schedule (end_lr < 0 means the start rate)."""
    end_lr = args.start_lr if args.end_lr < 0 else args.end_lr
    schedule = Schedule(args.n_iters, args.start_lr, end_lr, args.L2)
    check_schedule(schedule)
    return schedule


def net_files_from(args: argparse.Namespace) -> NetFiles:
    return NetFiles(args.generator_definition, args.generator_weights, args.net_definition,
                    args.net_weights, args.generator_input, args.generator_output)


def shared_start_code(args: argparse.Namespace, code_size: int) -> np.ndarray | None:
    """The start code every sample shares: the init image's code or a stored code; else None."""
    if args.init_file not in ("", "None"):
        from reproduce.run.encoder import encode_image, load_mean_image
        from reproduce.step.nets import encoder_forward
        encoder = encoder_forward(args.encoder_definition, args.encoder_weights, args.opt_layer)
        code = encode_image(encoder, args.init_file, load_mean_image(args.mean_file), args.opt_layer)
        if code.shape[1] != code_size:
            raise UserError(f"--opt_layer {args.opt_layer}: the encoder's blob has {code.shape[1]} "
                            f"values, the generator's code {code_size}")
        return code
    if args.init_code:
        return load_code_file(args.init_code, code_size)
    return None


def make_samples(pairs: list[tuple[int, int]], shared: np.ndarray | None, code_size: int) -> list[Sample]:
    """Each (unit, seed) with its start code: the shared one, else the seed's random code."""
    return [Sample(unit, seed, shared if shared is not None
                   else as_stored_code(random_start_code(seed, code_size))) for unit, seed in pairs]


def save_sample(args: argparse.Namespace, sample: Sample, result: LoopResult, index: int,
                trace_path: str) -> Path:
    """Writes the result image (JPEG + PNG), the trace and the debug images of one sample.

    Debug images are each iteration's crop after the net's update (the release's `x`), named
    NNN.jpg, plus the result as {n_iters:03d}.jpg. The release passes `x` to its writer without
    the BGR → RGB swap it applies to the result; we swap here too, as the published strip
    (natural colours) shows.
    """
    name = result_file_name(args.act_layer, sample.unit, args.n_iters, args.L2, args.start_lr,
                            sample.seed)
    path = Path(args.output_dir) / name
    best = result.images[index:index + 1]
    saved = save_result_image(path, best)
    if trace_path:
        codes = (np.stack(result.codes[index]) if result.codes[index]
                 else np.zeros((0, sample.start_code.size), np.float32))
        write_trace(trace_path, acts=result.acts[index], codes=codes,
                    code_init=sample.start_code, best=best, saved=saved)
    if args.debug:
        debug_dir = Path(args.debug_dir)
        for iteration, stepped in enumerate(result.stepped[index]):
            write_image_atomic(debug_dir / f"{iteration:03d}.jpg", to_saved_array(stepped))
        write_image_atomic(debug_dir / f"{args.n_iters:03d}.jpg", saved)
    return path


def trace_path_for(args: argparse.Namespace, sample: Sample, many: bool) -> str:
    if not args.trace or not many:
        return args.trace
    trace = Path(args.trace)
    return str(trace.with_name(f"{trace.stem}_u{sample.unit:04d}_s{sample.seed}{trace.suffix}"))


def run_act_max(args: argparse.Namespace) -> list[tuple[Sample, Path, list[float]]]:
    """Runs the job the flags describe; returns (sample, image path, acts) per sample."""
    schedule = schedule_from(args)
    units = args.units if args.units is not None else [args.unit]
    if any(unit is None for unit in units):
        raise UserError("--unit: required (the unit to visualise)")
    pairs = list(itertools.product(units, args.seeds if args.seeds is not None else [args.seed]))
    if args.debug and len(pairs) > 1:
        raise UserError("--debug: works on one unit and seed at a time")
    if args.threads < 0 or args.batch < 0:
        raise UserError("--threads/--batch: must not be negative")
    chunk = args.batch or len(pairs)
    mode = code_mode(bool(args.clip), bool(args.bound))
    models: dict[int, StepModel] = {}
    outcomes = []
    for first in range(0, len(pairs), chunk):
        chunk_pairs = pairs[first:first + chunk]
        if len(chunk_pairs) not in models:
            models[len(chunk_pairs)] = build_step_model(net_files_from(args), args.act_layer,
                                                        len(chunk_pairs), mode)
        step_model = models[len(chunk_pairs)]
        if first == 0:  # every check on the flags before anything is written
            code_size = step_model.shapes.code_size
            indices = [unit_index(step_model.shapes, args.act_layer, unit, args.xy) for unit, _ in pairs]
            bounds = load_bounds(args.bound, code_size) if mode == "bound" else None
            samples = make_samples(pairs, shared_start_code(args, code_size), code_size)
        chunk_samples = samples[first:first + chunk]
        result = run_samples(step_model, np.concatenate([s.start_code for s in chunk_samples]),
                             indices[first:first + chunk], schedule, bounds=bounds,
                             providers=args.providers or None, threads=args.threads or None,
                             record_codes=bool(args.trace), record_stepped=bool(args.debug),
                             progress=f"{args.act_layer} units {chunk_pairs[0][0]}…")
        for index, sample in enumerate(chunk_samples):
            path = save_sample(args, sample, result, index, trace_path_for(args, sample, len(pairs) > 1))
            outcomes.append((sample, path, result.acts[index]))
    return outcomes


def one_line_errors(parser: argparse.ArgumentParser, prog: str) -> None:
    """Makes argparse report a bad flag as one line (no usage block), exit status 2."""
    def error(message: str) -> None:
        print(f"{prog}: {message}", file=sys.stderr)
        sys.exit(2)
    parser.error = error  # type: ignore[method-assign]


def quiet_converters() -> None:
    """The converters' per-graph INFO lines are noise in a run's output."""
    logging.getLogger("converters").setLevel(logging.WARNING)


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    try:
        outcomes = run_act_max(args)
    except UserError as error:
        print(f"act_max: {error}", file=sys.stderr)
        return 2
    for sample, path, acts in outcomes:
        print(f"unit {sample.unit} seed {sample.seed}: {len(acts)} iterations, "
              f"obj act [{acts[-1] if acts else 0.0}]; saved to {path}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("act_max", help="one DGN-AM run (the original script's flags)",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_act_max_arguments(parser)
    one_line_errors(parser, "act_max")
    parser.set_defaults(func=main)
