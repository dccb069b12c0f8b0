"""`python -m reproduce atlas OUT_DIR [--labels FILE] [--title T]`: a sweep's atlas.

Writes OUT_DIR/atlas/index.html (every run a `.run` element with data-unit, data-seed,
data-act), OUT_DIR/atlas/unit/NNNN.html (one page per unit), their assets and thumbnails,
from OUT_DIR/runs.sqlite (reproduce.sweep.atlas), and OUT_DIR/atlas.html as a redirect to
the index. Static: it opens from file:// and from any web server and fetches nothing.
Rerunning rewrites only the files whose content changes. Prints what it wrote and the
atlas's size. --labels defaults to the labels file the sweep recorded (--demo's labels).
`sweep OUT_DIR --atlas` does the same.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import one_line_errors
from common.errors import UserError
from reproduce.cli.net_flags import add_labels_argument


def add_atlas_arguments(parser: argparse.ArgumentParser) -> None:
    """--labels (reproduce.cli.net_flags) and --title (shared with sweep)."""
    add_labels_argument(parser)
    parser.add_argument("--title", metavar="T", help="the pages' title (default: the folder's name)")


def check_labels(path: str) -> None:
    """A labels file named on the command line must exist."""
    if not Path(path).is_file():
        raise UserError(f"--labels {path}: file not found")


def main(args: argparse.Namespace) -> int:
    from reproduce.sweep.atlas import write_store_atlas
    from reproduce.sweep.store import Store
    if args.labels:
        check_labels(args.labels)
    with Store(args.out_dir, create=False) as store:
        print(write_store_atlas(args.out_dir, store, args.labels, args.title).summary())
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("atlas", help="a sweep's browsable atlas (static HTML)",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", metavar="OUT_DIR", help="the sweep's folder (runs.sqlite)")
    add_atlas_arguments(parser)
    one_line_errors(parser, "atlas")
    parser.set_defaults(func=main)
