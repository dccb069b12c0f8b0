"""One argparse front end for the project's `python -m PACKAGE SUBCOMMAND` entry points."""
from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Sequence


def run_subcommands(prog: str, description: str | None, module_names: Sequence[str],
                    argv: list[str] | None = None) -> int:
    """Builds the parser from modules exposing `register(subparsers)` and runs the chosen one.

    Each module adds its parser and sets `func(args) -> int` as that parser's default.
    A module that does not exist (yet) contributes no subcommand.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in module_names:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args.func(args)
