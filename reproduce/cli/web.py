"""`python -m reproduce web OUT_DIR [--demo | NET_FLAGS | --net_onnx FILE ADAPTER_FLAGS]
[--act_layer L] [--serve [PORT]]`: DGN-AM in the browser.

Writes a static site into OUT_DIR (reproduce.web.site): the page (choose a class or unit, seed,
iterations, step sizes; Run/Stop; the image redrawn every iteration beside the activation curve;
save the PNG), the step graph of the nets the flags name (act_max's net flags: --demo, the Caffe
files, --net_onnx with its adapter flags), its settings and labels, and onnxruntime-web's
runtime files (fetched with npm from the registry on the first build, as web/package-lock.json
pins them, then cached). --serve serves OUT_DIR on 127.0.0.1 (default port 8000; 0: any free
port) with the cross-origin isolation headers threaded WebAssembly needs, and prints the URL.

act_max's loop flags set what the build fixes (--act_layer, --xy, --L2, --bound / --clip) and
the page's defaults (--unit, --seed, --n_iters, --start_lr, --end_lr). Those not given come
from the published run: with --demo the demo pair's (models/demo/demo.json, with its bound file
and labels), otherwise the paper's experiment 1 (fc8, unit 643, 200 iterations, L2 0.99, step
8.0 → 1e-10, seed 0, the 3x fc6 bound data/act_range/3x/fc6.txt unless --bound or --clip).

The page's URL takes unit, seed, n_iters, start_lr, end_lr and autorun=1 (run without a click;
document.body.dataset.state = running / done / error, the result as JSON in <pre id="result">);
see web/app/README.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import one_line_errors
from reproduce.cli import quiet_converters
from reproduce.cli.act_max import add_loop_arguments
from reproduce.cli.net_flags import (add_labels_argument, add_net_arguments, bound_from,
                                     demo_from, labels_from, net_files_from)
from reproduce.experiments.table import BOUND, EXPERIMENTS, NETS
from reproduce.official.manifest import data_path
from reproduce.web.serve import DEFAULT_PORT, serve_forever, site_server
from reproduce.web.settings import PageDefaults, SiteSpec
from reproduce.web.site import build_site

# The loop flags whose default is the published run's (None: not given on the command line).
PUBLISHED_FLAGS = ("unit", "seed", "xy", "n_iters", "L2", "start_lr", "end_lr", "act_layer")


def published_run(args: argparse.Namespace) -> dict[str, object]:
    """The published run's value of each of PUBLISHED_FLAGS: the demo pair's or experiment 1's."""
    demo = demo_from(args)
    if demo is not None:
        return {"unit": demo.units[0], "seed": demo.seed, "xy": demo.xy, "n_iters": demo.n_iters,
                "L2": demo.L2, "start_lr": demo.start_lr, "end_lr": demo.end_lr,
                "act_layer": demo.act_layer}
    first = EXPERIMENTS[0]
    return {"unit": first.units[0], "seed": 0, "xy": first.xy, "n_iters": first.n_iters,
            "L2": first.l2, "start_lr": first.start_lr, "end_lr": first.end_lr,
            "act_layer": first.act_layer}


def spec_from(args: argparse.Namespace) -> SiteSpec:
    """The site the flags describe (see the module docstring for the defaults)."""
    published = published_run(args)
    value = {name: published[name] if getattr(args, name) is None else getattr(args, name)
             for name in PUBLISHED_FLAGS}
    bound = bound_from(args)
    if bound is None and not args.clip and not args.demo:
        bound = str(data_path(BOUND))
    labels = labels_from(args)
    if labels is None and not args.demo and not args.net_onnx:
        labels = str(data_path(NETS["caffenet"].labels))  # CaffeNet's classes, when fetched
    defaults = PageDefaults(value["unit"], value["seed"], value["n_iters"], value["start_lr"],
                            value["end_lr"])
    return SiteSpec(net_files_from(args), value["act_layer"], value["xy"], value["L2"], bound,
                    bool(args.clip), labels, bool(args.labels), defaults)


def main(args: argparse.Namespace) -> int:
    quiet_converters()
    spec = spec_from(args)
    server = site_server(Path(args.out_dir), args.serve) if args.serve is not None else None
    try:
        site = build_site(spec, args.out_dir)
    except BaseException:
        if server is not None:
            server.server.server_close()
        raise
    model = site.settings["model"]
    runtime = site.settings["runtime"]
    print(f"wrote {site.folder}: the page, {model['file']} ({model['bytes'] / 1e6:.1f} MB, "
          f"{spec.act_layer}, mode {site.settings['mode']}), {runtime['package']} "
          f"{runtime['version']}")
    if server is None:
        print(f"serve it with --serve (or any server sending {site.folder}/ with COOP/COEP headers)")
        return 0
    print(f"serving {site.folder} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        serve_forever(server)
    except KeyboardInterrupt:
        print("stopped")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("web", help="DGN-AM in the browser: write (and serve) the page",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("out_dir", metavar="OUT_DIR", help="the site's folder")
    add_loop_arguments(parser)
    add_net_arguments(parser)
    add_labels_argument(parser)
    add("--serve", type=int, nargs="?", const=DEFAULT_PORT, default=None, metavar="PORT",
        help=f"serve OUT_DIR on 127.0.0.1:PORT (default {DEFAULT_PORT}; 0: any free port)")
    parser.set_defaults(**{name: None for name in PUBLISHED_FLAGS})
    one_line_errors(parser, "web")
    parser.set_defaults(func=main)
