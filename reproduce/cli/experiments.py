"""`python -m reproduce experiments` (what ./run_all.sh runs): the paper's experiments 1–5.

Each experiment runs its units as one batch through act_max, writes the release's file names
under output/expN/ and a labelled collage output/exampleN.jpg (the release's example names);
experiment 3 also writes its per-iteration strip output/example3_series.jpg. When official files
are missing it lists each one (where it goes, how to fetch it) and runs the project's demo pair
(models/demo/demo.json) instead.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from common.cli import one_line_errors
from reproduce.cli import quiet_converters
from reproduce.experiments.table import (EXPERIMENTS, NETS, Experiment, demo_job, experiment_job,
                                         required_files)
from reproduce.inputs.demo import DEMO_DIR, demo_settings
from reproduce.official.locations import default_output_dir
from reproduce.official.manifest import data_path
from reproduce.outputs.collage import write_collage
from reproduce.outputs.labels import caption, read_labels
from reproduce.run.job import Job, SampleResult, iter_job
from reproduce.run.save import save_sample

DEMO_PANEL_SIZE = 112  # the demo's small images are shown enlarged (whole factor) in its collage


def run_and_save(job: Job, output_dir: Path, debug_dir: Path | None = None) -> list[SampleResult]:
    """Runs a job, writing each sample's files under output_dir as act_max does."""
    results = []
    for batch in iter_job(job):
        for result in batch:
            save_sample(job, result, output_dir, debug_dir=debug_dir)
            results.append(result)
    return results


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
    job = experiment_job(experiment, n_iters=options.n_iters or None,
                         providers=options.providers or None, threads=options.threads or None)
    debug_dir = output_dir / "debug" if experiment.debug else None
    results = run_and_save(job, output_dir, debug_dir)
    labels = {} if experiment.numbered_captions else read_labels(data_path(NETS[experiment.net].labels))
    collage = write_collage(Path(options.output) / f"example{experiment.number}.jpg",
                            [result.saved for result in results],
                            [caption(labels, result.unit) for result in results],
                            crop=experiment.crop)
    written = [collage]
    if debug_dir is not None:
        (result,) = results
        frames = sorted(debug_dir.glob("[0-9][0-9][0-9].jpg"))
        strip_labels = [f"{act:.2f}" for act in result.acts] + [""] * (len(frames) - len(result.acts))
        written.append(write_collage(Path(options.output) / f"example{experiment.number}_series.jpg",
                                     [np.asarray(Image.open(frame)) for frame in frames],
                                     strip_labels, columns=10))
    return written


def run_demo(options: argparse.Namespace) -> list[Path]:
    """The published loop on the project's demo pair (models/demo/demo.json)."""
    demo = demo_settings(options.demo_dir)
    job = demo_job(demo, n_iters=options.n_iters or None, providers=options.providers or None,
                   threads=options.threads or None)
    results = run_and_save(job, Path(options.output) / "demo")
    labels = read_labels(demo.labels) if demo.labels else {}
    return [write_collage(Path(options.output) / "demo.jpg", [result.saved for result in results],
                          [caption(labels, result.unit) for result in results],
                          min_panel_size=DEMO_PANEL_SIZE)]


def main(options: argparse.Namespace) -> int:
    quiet_converters()
    chosen = [e for e in EXPERIMENTS if not options.only or e.number in options.only]
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
    for path in written:
        print(f"wrote {path}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("experiments", help="reproduce the paper's experiments 1-5",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=int, nargs="+", choices=range(1, 6), metavar="N",
                        help="run only these experiments (1-5)")
    parser.add_argument("--output", default=str(default_output_dir()), help="output folder")
    parser.add_argument("--demo", action="store_true", help="run the demo models even if the "
                        "official files are there")
    parser.add_argument("--demo_dir", default=str(DEMO_DIR), help="the demo pair's folder (demo.json)")
    parser.add_argument("--n_iters", type=int, default=0, help="override the iterations (quick look)")
    parser.add_argument("--providers", default="", help="ONNX Runtime providers, comma-separated")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: default)")
    one_line_errors(parser, "experiments")
    parser.set_defaults(func=main)
