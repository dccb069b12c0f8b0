"""`python -m converters SUBCOMMAND ...`: caffe2onnx (Caffe → ONNX), vjp (ONNX → backward ONNX).

Each subcommand lives in its own module exposing `register(subparsers)`, which adds its
parser and sets `func(args) -> int` as the parser default.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

SUBCOMMAND_MODULES = ("converters.caffe.cli", "converters.vjp.cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m converters", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
