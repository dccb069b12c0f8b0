"""The flags that name the nets and what runs them, declared once for every command that takes
them (act_max, export_step, regress, conformance, sweep, web, ...).

    --net_definition/--net_weights      the visualised Caffe net (default: CaffeNet)
    --generator_definition/--generator_weights, --generator_input/--generator_output
                                        the generator (default: the fc6 generator)
    --net_onnx MODEL.onnx [adapter flags]   any ONNX classifier instead (reproduce.cli.onnx_net_flags)
    --demo [--demo_dir DIR]             the project's demo pair (models/demo/demo.json): its
                                        generator and classifier replace the four Caffe files,
                                        and its bound file and labels are the defaults
    --providers, --runtime, --threads   what runs the step graph
    --no_cache                          bypass the built step graphs' cache (reproduce.step.cache)
    --labels FILE                       the units' names (--demo: the demo pair's labels)
"""
from __future__ import annotations

import argparse

from reproduce.cli.onnx_net_flags import add_onnx_net_arguments, onnx_net_from
from reproduce.inputs.demo import DEMO_DIR, DemoSettings, demo_settings
from reproduce.official.locations import project_path
from reproduce.official.manifest import data_path
from reproduce.run.job import RUNTIMES, NetFiles

NETS = project_path("models/nets")


def default_paths() -> dict[str, str]:
    """The release's settings.py defaults: CaffeNet as net and encoder, the fc6 generator."""
    return {"net_definition": str(NETS / "caffenet.prototxt"),
            "net_weights": str(data_path("nets/caffenet/bvlc_reference_caffenet.caffemodel")),
            "generator_definition": str(NETS / "upconv" / "fc6" / "generator.prototxt"),
            "generator_weights": str(data_path("nets/upconv/fc6/generator.caffemodel")),
            "mean_file": str(data_path("ilsvrc_2012_mean.mat"))}


def add_net_arguments(parser: argparse.ArgumentParser) -> None:
    """The net and generator flags (with act_max's names and defaults), --demo and --net_onnx."""
    paths = default_paths()
    add = parser.add_argument
    add("--net_weights", metavar="b", type=str, default=paths["net_weights"])
    add("--net_definition", metavar="b", type=str, default=paths["net_definition"])
    add("--generator_definition", type=str, default=paths["generator_definition"])
    add("--generator_weights", type=str, default=paths["generator_weights"])
    add("--generator_input", type=str, default="feat", help="the generator's code blob")
    add("--generator_output", type=str, default="deconv0", help="the generator's image blob")
    add("--demo", action="store_true",
        help="the project's demo pair (models/demo): its generator and classifier, and its "
             "bound file and labels unless given")
    add("--demo_dir", default=str(DEMO_DIR), help="the demo pair's folder (demo.json)")
    add_onnx_net_arguments(parser)


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """--providers, --runtime, --threads: what runs the step graph."""
    add = parser.add_argument
    add("--providers", type=str, default="", help="ONNX Runtime providers, comma-separated")
    add("--runtime", type=str, choices=RUNTIMES, default="onnxruntime",
        help="what runs the step graph: onnxruntime, or openvino (optional extra; CPU, f32)")
    add("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: default)")
    add("--no_cache", action="store_true",
        help="build the step graph anew instead of taking it from the cache folder "
             "(DGN_AM_CACHE, else ~/.cache/dgn-am)")


def add_labels_argument(parser: argparse.ArgumentParser) -> None:
    """--labels FILE: the units' names (read by reproduce.outputs.labels; see labels_from)."""
    parser.add_argument("--labels", metavar="FILE",
                        help="unit labels, synset_words.txt style (--demo: the demo pair's)")


def demo_from(args: argparse.Namespace) -> DemoSettings | None:
    """The demo pair's settings with --demo, else None."""
    return demo_settings(args.demo_dir) if args.demo else None


def net_files_from(args: argparse.Namespace) -> NetFiles:
    """The nets the flags name (--demo: the demo pair's four files; --net_onnx: that net)."""
    demo = demo_from(args)
    files = demo.net_files if demo else {key: getattr(args, key) for key in
                                         ("generator_definition", "generator_weights",
                                          "net_definition", "net_weights")}
    return NetFiles(files["generator_definition"], files["generator_weights"],
                    files["net_definition"], files["net_weights"], args.generator_input,
                    args.generator_output, net_onnx=onnx_net_from(args))


def bound_from(args: argparse.Namespace) -> str | None:
    """--bound, or with --demo and neither --bound nor --clip the demo pair's bound file."""
    if args.bound:
        return args.bound
    demo = demo_from(args)
    return demo.bound if demo and not args.clip else None


def labels_from(args: argparse.Namespace) -> str | None:
    """--labels, or with --demo the demo pair's labels file."""
    if getattr(args, "labels", None):
        return args.labels
    demo = demo_from(args)
    return demo.labels if demo else None
