"""`python -m reproduce SUBCOMMAND ...`: the DGN-AM driver and its companions.

Subcommands: act_max (one run, the original script's flags), experiments (the paper's
figures; what run_all.sh calls), regress (record / compare reference runs), export_step
(the step graph as ONNX), fetch and models (official files).
Each subcommand lives in its own module exposing `register(subparsers)`, which adds its
parser and sets `func(args) -> int` as the parser default.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

SUBCOMMAND_MODULES = (
    "reproduce.cli_act_max",
    "reproduce.cli_experiments",
    "reproduce.cli_regress",
    "reproduce.cli_export_step",
    "reproduce.cli_official_files",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reproduce", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue  # subcommand not built yet
        module.register(subparsers)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
