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


# The project's own top-level packages: a missing module among them is a broken install (a bug),
# anything else a dependency that is not installed (an environment that was not set up).
OWN_PACKAGES = ("common", "converters", "reproduce", "models", "tools")
SETUP_HINT = ("set up with ./run_all.sh in the project's checkout (it creates .venv: then run "
              ".venv/bin/python -m reproduce ...), or pip install . there (the dgn-am commands "
              "with their dependencies)")


def missing_dependency(error: ModuleNotFoundError) -> str | None:
    """The top-level name of the third-party package an import could not find (None: one of
    the project's own modules is missing, which is a bug, not a set-up step)."""
    name = (error.name or "").split(".")[0]
    return name if name and name not in OWN_PACKAGES else None


def report_missing_dependency(prog: str, name: str) -> int:
    """Prints the one line saying what is missing and how to set up; returns 2."""
    print(f"{prog}: error: the Python package {name!r} is not installed: {SETUP_HINT}",
          file=sys.stderr)
    return EXIT_BAD_INPUT


def build_parser(prog: str, description: str | None,
                 module_names: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of every subcommand, from modules exposing `register(subparsers)` (each adds
    its parser and sets `func(args) -> int` as that parser's default). Parsing a command line
    with it runs nothing (the README's commands are checked this way)."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in module_names:
        importlib.import_module(module_name).register(subparsers)
    for name, sub in subparsers.choices.items():
        one_line_errors(sub, name)
    return parser


def run_subcommands(prog: str, description: str | None, module_names: Sequence[str],
                    argv: list[str] | None = None) -> int:
    """Builds the parser (`build_parser`) and runs the chosen subcommand.

    A UserError escaping `func` becomes one line and exit status 2 (see the module docstring);
    so does a dependency that is not installed (one line saying how to set up, not a traceback).
    """
    try:
        parser = build_parser(prog, description, module_names)
    except ModuleNotFoundError as error:
        if (missing := missing_dependency(error)) is None:
            raise
        return report_missing_dependency(prog, missing)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.func(args)
    except UserError as error:
        return report_user_error(args.command, error)
    except ModuleNotFoundError as error:
        if (missing := missing_dependency(error)) is None:
            raise
        return report_missing_dependency(args.command, missing)
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
