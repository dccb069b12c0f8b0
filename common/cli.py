"""One argparse front end for `python -m converters ...` and `python -m reproduce ...`.

Exit codes, the same for every subcommand (as diff and grep use them):
  0    success;
  1    the command ran and its check failed (`regress compare` found a difference, `models` /
       `fetch` left files missing or corrupt);
  2    bad input: a malformed or missing file, an unknown layer, a bad flag or flag value
       (a UserError, or argparse's own usage error), reported as one line on stderr;
  130  interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from common.errors import UserError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def one_line_errors(parser: argparse.ArgumentParser, prog: str) -> None:
    """Makes argparse report a bad flag as one line (no usage block), exit status 2."""
    def error(message: str) -> None:
        print(f"{prog}: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    parser.error = error  # type: ignore[method-assign]


def report_user_error(command: str, error: Exception) -> int:
    """Prints a bad-input error as the one line `COMMAND: error: MESSAGE`; returns 2."""
    print(f"{command}: error: {error}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_subcommands(prog: str, description: str | None, module_names: Sequence[str],
                    argv: list[str] | None = None) -> int:
    """Builds the parser from modules exposing `register(subparsers)` and runs the chosen one.

    Each module adds its parser and sets `func(args) -> int` as that parser's default. A
    UserError escaping `func` becomes one line and exit status 2 (see the module docstring).
    """
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in module_names:
        importlib.import_module(module_name).register(subparsers)
    for name, sub in subparsers.choices.items():
        one_line_errors(sub, name)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.func(args)
    except UserError as error:
        return report_user_error(args.command, error)
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
