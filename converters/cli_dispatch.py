"""One argparse front end for the project's `python -m PACKAGE SUBCOMMAND` entry points."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx


def run_subcommands(prog: str, description: str | None, module_names: Sequence[str],
                    argv: list[str] | None = None) -> int:
    """Builds the parser from modules exposing `register(subparsers)` and runs the chosen one.

    Each module adds its parser and sets `func(args) -> int` as that parser's default.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in module_names:
        importlib.import_module(module_name).register(subparsers)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args.func(args)


def _describe(values) -> str:
    def dims(value) -> str:
        return ",".join(d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim)
    return ", ".join(f"{value.name}[{dims(value)}]" for value in values)


def write_model_or_report(tool: str, build_model: Callable[[], "onnx.ModelProto"],
                          output_path: str, user_errors: tuple[type[Exception], ...]) -> int:
    """The model-writing subcommands' body: builds the model and saves it atomically.

    A user-facing error (one of `user_errors`, or the output not writable) is one line on
    stderr and exit status 1, with nothing left at `output_path`; success prints one line.
    """
    from converters.caffe.onnx_file import save_onnx

    try:
        model = build_model()
        try:
            save_onnx(model, output_path)
        except OSError as error:
            print(f"{tool}: error: {output_path}: cannot write ({error.strerror})", file=sys.stderr)
            return 1
    except user_errors as error:
        print(f"{tool}: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {output_path}: inputs {_describe(model.graph.input)}; "
          f"outputs {_describe(model.graph.output)}; {len(model.graph.node)} nodes")
    return 0
