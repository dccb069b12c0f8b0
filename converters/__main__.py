"""`python -m converters SUBCOMMAND ...`: caffe2onnx (Caffe → ONNX), vjp (ONNX → backward ONNX).

Each subcommand lives in its own module exposing `register(subparsers)`.
"""
import sys

from common.cli import run_subcommands

SUBCOMMAND_MODULES = ("converters.caffe.cli", "converters.vjp.cli")

if __name__ == "__main__":
    sys.exit(run_subcommands("python -m converters", __doc__, SUBCOMMAND_MODULES))
