"""The subcommands of `python -m reproduce`, one module each, exposing `register(subparsers)`.

Each turns its flags into the API's objects (a Job, a sweep plan, ...) and those into files;
bad input raises UserError, which common.cli prints as one line with exit status 2.
"""
import logging


def quiet_converters() -> None:
    """The converters' per-graph INFO lines are noise in a run's output."""
    logging.getLogger("converters").setLevel(logging.WARNING)
