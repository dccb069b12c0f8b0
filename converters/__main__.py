"""`python -m converters SUBCOMMAND ...` (installed: `dgn-am-convert SUBCOMMAND ...`):
caffe2onnx (Caffe → ONNX), vjp (ONNX → backward ONNX).

Each subcommand lives in its own module exposing `register(subparsers)`.
"""
import sys

from common.cli import run_subcommands

SUBCOMMAND_MODULES = ("converters.caffe.cli", "converters.vjp.cli")


def main(argv: list[str] | None = None, prog: str = "dgn-am-convert") -> int:
    """The `dgn-am-convert` console command (pyproject.toml) and `python -m converters`."""
    return run_subcommands(prog, __doc__, SUBCOMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main(prog="python -m converters"))
