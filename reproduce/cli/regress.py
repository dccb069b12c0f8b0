"""`python -m reproduce regress record DIR -- ACT_MAX_FLAGS` / `regress compare DIR`.

record runs act_max with the flags (one unit, one seed), keeping its trace, images and the
numeric stack in DIR. compare reruns the same flags: on the same stack (library versions,
provider, threads, machine) everything must be bit-identical; on another stack each iteration is
rerun from the reference's state and must agree within --rtol (see reproduce.regress.one_step). It
prints one line per compared item and exits 0 when all agree, 1 when something differs.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


from common.cli import one_line_errors
from common.errors import UserError
from reproduce.cli import quiet_converters
from reproduce.cli.act_max import add_act_max_arguments, job_from, run_act_max
from reproduce.inputs.bounds import load_bounds
from reproduce.outputs.trace import TRACE_KEYS, read_trace
from reproduce.regress.one_step import one_step_agreement
from common.hashing import file_sha256
from reproduce.regress.record import (ONE_STEP_RTOL, TRACE_FILE, Difference, compare_arrays,
                                      numeric_stack, read_reference, write_reference)
from reproduce.run.job import StepModels
from reproduce.step.graph import CodeMode
from reproduce.run.runner import StepRunner, resolve_providers

RESERVED = ("--output_dir", "--trace", "--units", "--seeds", "--debug", "--providers", "--threads")


def parse_run_flags(argv: list[str], output_dir: Path, providers: str, threads: int) -> argparse.Namespace:
    """act_max's namespace for a recorded run writing into output_dir."""
    if argv and argv[0] == "--":
        argv = argv[1:]
    used = [flag for flag in RESERVED if flag in argv]
    if used:
        raise UserError(f"{used[0]}: set by regress itself; leave it out of the run's flags")
    parser = argparse.ArgumentParser(prog="regress")
    add_act_max_arguments(parser)
    one_line_errors(parser, "regress")
    extra = ["--output_dir", str(output_dir), "--trace", str(output_dir / TRACE_FILE),
             "--threads", str(threads)] + (["--providers", providers] if providers else [])
    return parser.parse_args(argv + extra)


def run_into(argv: list[str], directory: Path, providers: str, threads: int) -> tuple[argparse.Namespace, list[Path]]:
    args = parse_run_flags(argv, directory, providers, threads)
    outcomes = run_act_max(args)
    images = [path for _, path in outcomes] + [path.with_suffix(".png") for _, path in outcomes]
    return args, images


def record(options: argparse.Namespace) -> int:
    directory = Path(options.directory)
    if directory.exists() and any(directory.iterdir()):
        raise UserError(f"{directory}: exists and is not empty; choose a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    _, images = run_into(options.flags, directory, options.providers, options.threads)
    stack = numeric_stack(resolve_providers(options.providers or None), options.threads)
    path = write_reference(directory, [f for f in options.flags if f != "--"], stack, images)
    print(f"recorded {path} ({len(images)} images, trace {directory / TRACE_FILE})")
    return 0


def one_step_lines(args: argparse.Namespace, reference_trace: dict, providers: str,
                   threads: int, rtol: float) -> list[Difference]:
    job = job_from(args)
    step_model = StepModels(job.nets, job.act_layer, job.mode, job.use_cache).get(1)
    bounds = load_bounds(job.bound, step_model.shapes.code_size) if job.mode is CodeMode.BOUND else None
    runner = StepRunner(step_model.model, weights=step_model.weights, providers=resolve_providers(providers or None),
                        threads=threads or None)
    (unit, _), = job.samples
    agreement = one_step_agreement(runner, step_model, reference_trace, job.schedule,
                                   step_model.shapes.act.flat_index(unit, job.xy),
                                   bounds)
    return [Difference("one iteration from the reference's state", agreement.within(rtol),
                       f"{agreement.iterations} iterations, max relative error act "
                       f"{agreement.act:.2e}, code {agreement.code:.2e} (tolerance {rtol:g})")]


def compare(options: argparse.Namespace) -> int:
    directory = Path(options.directory)
    reference = read_reference(directory)
    reference_trace = read_trace(directory / TRACE_FILE)
    stack = numeric_stack(resolve_providers(options.providers or None), options.threads)
    same_stack = stack == reference["stack"]
    with tempfile.TemporaryDirectory(prefix="regress_") as temp:
        args, images = run_into(reference["argv"], Path(temp), options.providers, options.threads)
        new_trace = read_trace(Path(temp) / TRACE_FILE)
        whole_run = [compare_arrays(f"trace {key}", reference_trace[key], new_trace[key])
                     for key in TRACE_KEYS]
        whole_run += [Difference(f"image {image.name}",
                                 reference["images"].get(image.name) == file_sha256(image),
                                 "same bytes" if reference["images"].get(image.name) == file_sha256(image)
                                 else "bytes differ") for image in images]
        if options.keep:
            shutil.copytree(temp, options.keep, dirs_exist_ok=True)
    if same_stack and not options.one_step:
        lines, verdict = whole_run, all(line.same for line in whole_run)
        print("same numeric stack: the whole run must be bit-identical")
    else:
        changed = [key for key in stack if stack[key] != reference["stack"].get(key)]
        print(f"numeric stack differs ({', '.join(changed) or 'forced'}): whole-run differences are "
              "reported for information; the verdict is the one-iteration criterion")
        lines = one_step_lines(args, reference_trace, options.providers, options.threads, options.rtol)
        verdict = lines[0].same
        lines += whole_run
    for line in lines:
        print(line.line())
    print("PASS" if verdict else "FAIL")
    return 0 if verdict else 1


def main(options: argparse.Namespace) -> int:
    quiet_converters()
    return options.action(options)


def register(subparsers) -> None:
    parser = subparsers.add_parser("regress", help="record a reference run / compare against it",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="regress_action", required=True)
    recorder = actions.add_parser("record", help="run act_max and keep it as a reference")
    recorder.add_argument("directory")
    recorder.add_argument("flags", nargs=argparse.REMAINDER, help="-- then act_max flags")
    recorder.set_defaults(action=record)
    comparer = actions.add_parser("compare", help="rerun a reference and compare")
    comparer.add_argument("directory")
    comparer.add_argument("--rtol", type=float, default=ONE_STEP_RTOL)
    comparer.add_argument("--one_step", action="store_true",
                          help="judge by the one-iteration criterion even on the same stack")
    comparer.add_argument("--keep", default="", help="copy the new run's files here")
    comparer.set_defaults(action=compare)
    for sub in (recorder, comparer):
        sub.add_argument("--providers", default="", help="ONNX Runtime providers, comma-separated")
        sub.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
        one_line_errors(sub, "regress")
    one_line_errors(parser, "regress")
    parser.set_defaults(func=main)
