"""`python -m reproduce SUBCOMMAND ...` (installed: `dgn-am SUBCOMMAND ...`, the same
subcommands): the DGN-AM driver and its companions.

Subcommands: act_max (one run, the original script's flags), experiments (the paper's
figures; what run_all.sh calls), regress (record / compare reference runs), export_step
(the step graph as ONNX), fetch and models (official files), sweep (many runs, resumable)
and atlas (a sweep's browsable pages), layers, conformance (other ONNX runtimes), web (the
browser page).
Each subcommand lives in its own module exposing `register(subparsers)`.
"""
import sys

from common.cli import run_subcommands

SUBCOMMAND_MODULES = (
    "reproduce.cli.act_max",
    "reproduce.cli.experiments",
    "reproduce.cli.regress",
    "reproduce.cli.export_step",
    "reproduce.cli.official_files",
    "reproduce.cli.sweep",
    "reproduce.cli.atlas",
    "reproduce.cli.layers",
    "reproduce.cli.conformance",
    "reproduce.cli.web",
)


def main(argv: list[str] | None = None, prog: str = "dgn-am") -> int:
    """The `dgn-am` console command (pyproject.toml) and `python -m reproduce`."""
    return run_subcommands(prog, __doc__, SUBCOMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main(prog="python -m reproduce"))
