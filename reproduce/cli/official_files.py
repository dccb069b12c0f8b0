"""`python -m reproduce fetch [NAME...]` and `python -m reproduce models [NAME...]`.

fetch: downloads the official files that are missing or corrupt (resumable, verified, archives
extracted, atomic placement); one line per file that could not be fetched, saying exactly where
to place it by hand; exit 1 when any is still missing.
models: one line per official file: verified / present / missing / corrupt, with the exact path
to place each missing one; exit 1 when any is missing or corrupt.
NAME is a file name or a group (weights, prototxts, act_range, labels, mean, images, examples).
"""
from __future__ import annotations

import argparse
import sys

from reproduce import official as official_files


def _summary(counts: dict[str, int]) -> str:
    parts = ", ".join(f"{counts[state]} {state}" for state in official_files.STATES)
    return f"{sum(counts.values())} files: {parts} (data root {official_files.data_root()})"


def run_models(args: argparse.Namespace) -> int:
    """Prints each official file's state; the exact path to place each missing/corrupt one."""
    states = official_files.status(args.names)
    counts = dict.fromkeys(official_files.STATES, 0)
    width = max((len(official.name) for official, _ in states), default=0)
    for official, state in states:
        counts[state] += 1
        if state in ("verified", "present"):
            print(f"{state:<8}  {official.name:<{width}}  {official.path}")
        else:
            print(f"{state:<8}  {official.name:<{width}}  {official.placement_hint()}")
    print(_summary(counts))
    if counts["missing"] or counts["corrupt"]:
        print("models: get them with `python -m reproduce fetch` (needs internet), or "
              "`python -m reproduce fetch --mirror file:///DIR` from a copy in the data/ layout, or "
              "place each file by hand as listed; the DeePSiM generators (upconv-*) are for "
              "non-commercial use only", file=sys.stderr)
        return 1
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Fetches missing/corrupt official files; one line per file fetched or still missing."""
    try:
        outcomes = official_files.fetch(args.names, base_urls=args.mirror or None,
                                        timeout=args.timeout, keep_archives=args.keep_archives)
    except KeyboardInterrupt:
        print("fetch: interrupted; partial downloads stay in data/.downloads, rerun to resume",
              file=sys.stderr)
        return 130
    failed = 0
    for outcome in outcomes:
        if outcome.ok:
            print(f"ok       {outcome.file.name}: {outcome.message}")
        else:
            failed += 1
            print(f"missing  {outcome.file.name}: {outcome.message}", file=sys.stderr)
    print(f"fetch: {len(outcomes) - failed} of {len(outcomes)} files in place "
          f"(data root {official_files.data_root()})")
    return 1 if failed else 0


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--timeout must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"--timeout must be in (0, 3600] seconds, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the `fetch` and `models` subcommands."""
    fetch = subparsers.add_parser(
        "fetch", help="download, verify and place the official models and data files",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fetch.add_argument("names", nargs="*", metavar="NAME", help="files or groups (default: all)")
    fetch.add_argument("--mirror", action="append", metavar="URL",
                       help="base URL holding the files in the data/ layout (archives by name); "
                            "replaces the official URLs; repeatable; default $DGN_AM_MIRROR")
    fetch.add_argument("--timeout", type=_timeout, default=30.0,
                       help="network timeout in seconds (default 30)")
    fetch.add_argument("--keep-archives", action="store_true",
                       help="keep downloaded archives in data/.downloads after extraction")
    fetch.set_defaults(func=run_fetch)
    models = subparsers.add_parser(
        "models", help="which official files are verified / present / missing, and where to put them",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    models.add_argument("names", nargs="*", metavar="NAME", help="files or groups (default: all)")
    models.set_defaults(func=run_models)
