"""`python -m reproduce experiments` (what ./run_all.sh runs): the paper's experiments 1–5.

Each experiment runs its units as one batch through act_max, writes the release's file names
under output/expN/ and a labelled collage output/exampleN.jpg (the release's example names);
experiment 3 also writes its per-iteration strip output/example3_series.jpg. When official files
are missing it lists each one (where it goes, how to fetch it) and runs the project's demo pair
(models/demo/demo.json) instead.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from reproduce.cli.act_max import add_act_max_arguments, quiet_converters, run_act_max
from reproduce.outputs.collage import write_collage
from common.errors import UserError
from reproduce.experiments.table import EXPERIMENTS, NETS, Experiment, act_max_argv, required_files
from reproduce.outputs.labels import caption, read_labels
from reproduce.official.manifest import data_path

from reproduce.official.manifest import REPO_ROOT  # noqa: E402
DEMO_DIR = REPO_ROOT / "models" / "demo"
DEMO_PANEL_SIZE = 112  # the demo's small images are shown enlarged (whole factor) in its collage


def act_max_args(argv: list[str], options: argparse.Namespace) -> argparse.Namespace:
    """act_max's namespace for argv plus the runtime options of this command."""
    parser = argparse.ArgumentParser(prog="act_max")
    add_act_max_arguments(parser)
    runtime = ["--threads", str(options.threads)]
    if options.providers:
        runtime += ["--providers", options.providers]
    return parser.parse_args(argv + runtime)


def saved_arrays(outcomes) -> list[np.ndarray]:
    """The exact uint8 arrays written, read back from the lossless PNG twins."""
    return [np.asarray(Image.open(path.with_suffix(".png"))) for _, path, _ in outcomes]


def missing_official(experiments: list[Experiment]) -> list[str]:
    """One line per missing official file: where it goes and how to get it."""
    from reproduce.official import load_manifest
    by_dest = {official.dest: official for official in load_manifest()}
    lines = []
    for dest in dict.fromkeys(dest for experiment in experiments for dest in required_files(experiment)):
        if not data_path(dest).is_file():
            official = by_dest.get(dest)
            how = (f"`python -m reproduce fetch {official.name}` or {official.placement_hint()}"
                   if official else "see models/manifest.json")
            lines.append(f"missing: {data_path(dest)} ({how})")
    return lines


def run_experiment(experiment: Experiment, options: argparse.Namespace) -> list[Path]:
    """Runs one experiment; returns the collage(s) written."""
    output_dir = Path(options.output) / f"exp{experiment.number}"
    args = act_max_args(act_max_argv(experiment, output_dir, n_iters=options.n_iters), options)
    outcomes = run_act_max(args)
    labels = {} if experiment.numbered_captions else read_labels(data_path(NETS[experiment.net].labels))
    collage = write_collage(Path(options.output) / f"example{experiment.number}.jpg",
                            saved_arrays(outcomes), [caption(labels, s.unit) for s, _, _ in outcomes],
                            crop=experiment.crop)
    written = [collage]
    if experiment.debug:
        (_, _, acts), = outcomes
        debug_dir = output_dir / "debug"
        frames = sorted(debug_dir.glob("[0-9][0-9][0-9].jpg"))
        strip_labels = [f"{act:.2f}" for act in acts] + [""] * (len(frames) - len(acts))
        written.append(write_collage(Path(options.output) / f"example{experiment.number}_series.jpg",
                                     [np.asarray(Image.open(frame)) for frame in frames],
                                     strip_labels, columns=10))
    return written


def run_demo(options: argparse.Namespace) -> list[Path]:
    """The published loop on the project's demo pair (models/demo/demo.json)."""
    demo_dir = Path(options.demo_dir)
    settings_file = demo_dir / "demo.json"
    if not settings_file.is_file():
        raise UserError(f"{settings_file}: missing; the demo models are not built yet "
                        "(python -m models.demo.train_demo)")
    demo = json.loads(settings_file.read_text())
    output_dir = Path(options.output) / "demo"
    argv = ["--output_dir", str(output_dir), "--units", *[str(u) for u in demo["units"]]]
    for key in ("act_layer", "opt_layer", "n_iters", "L2", "start_lr", "end_lr", "seed", "xy"):
        if key in demo:
            value = options.n_iters if key == "n_iters" and options.n_iters else demo[key]
            argv += [f"--{key}", str(value)]
    for key in ("net_definition", "net_weights", "generator_definition", "generator_weights", "bound"):
        argv += [f"--{key}", str(demo_dir / demo[key])]
    outcomes = run_act_max(act_max_args(argv, options))
    labels = read_labels(demo_dir / demo["labels"]) if demo.get("labels") else {}
    return [write_collage(Path(options.output) / "demo.jpg", saved_arrays(outcomes),
                          [caption(labels, s.unit) for s, _, _ in outcomes],
                          min_panel_size=DEMO_PANEL_SIZE)]


def main(options: argparse.Namespace) -> int:
    quiet_converters()
    chosen = [e for e in EXPERIMENTS if not options.only or e.number in options.only]
    try:
        missing = [] if options.demo else missing_official(chosen)
        if missing or options.demo:
            for line in missing:
                print(line)
            if missing:
                print(f"{len(missing)} official file(s) missing: running the demo models instead "
                      "(`python -m reproduce fetch` gets the official files).")
            written = run_demo(options)
        else:
            written = [path for experiment in chosen for path in run_experiment(experiment, options)]
    except UserError as error:
        print(f"experiments: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("experiments", help="reproduce the paper's experiments 1-5",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=int, nargs="+", choices=range(1, 6), metavar="N",
                        help="run only these experiments (1-5)")
    parser.add_argument("--output", default=str(REPO_ROOT / "output"), help="output folder")
    parser.add_argument("--demo", action="store_true", help="run the demo models even if the "
                        "official files are there")
    parser.add_argument("--demo_dir", default=str(DEMO_DIR), help="the demo pair's folder (demo.json)")
    parser.add_argument("--n_iters", type=int, default=0, help="override the iterations (quick look)")
    parser.add_argument("--providers", default="", help="ONNX Runtime providers, comma-separated")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: default)")
    from reproduce.cli.act_max import one_line_errors
    one_line_errors(parser, "experiments")
    parser.set_defaults(func=main)
