"""`python -m tools.fuzz`: the fuzz harness's command line (see tools/fuzz/__init__.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import EXIT_CHECK_FAILED, EXIT_OK
from tools.fuzz.harness import run_fuzz
from tools.fuzz.targets import TARGET_NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000,
                        help="cases in all, split evenly over the targets (default 100000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", nargs="+", choices=(*TARGET_NAMES, "all"), default=["all"])
    parser.add_argument("--first_case", type=int, default=0,
                        help="start at this case index (replay: --first_case N --cases 1)")
    parser.add_argument("--time_limit", type=float, default=10.0,
                        help="seconds per case before it counts as a hang (default 10)")
    parser.add_argument("--crash_dir", type=Path,
                        help="write the first input of each crash kind here")
    args = parser.parse_args(argv)
    targets = TARGET_NAMES if "all" in args.target else tuple(dict.fromkeys(args.target))
    if args.cases < len(targets):
        parser.error(f"--cases {args.cases}: at least one per target ({len(targets)})")
    report = run_fuzz(args.cases, args.seed, targets, args.time_limit, args.crash_dir,
                      args.first_case)
    print(report.table())
    print(f"{report.total} cases in {report.seconds:.0f} s (seed {args.seed}); "
          f"{report.weights_too_large} prototxt cases ok up to weights of more than a "
          "million values, not materialised")
    for finding in report.findings.values():
        saved = f", input saved as {finding.saved}" if finding.saved else ""
        print(f"\n{finding.kind} in {finding.target} at {finding.where}: {finding.count} "
              f"case(s), first case {finding.case}{saved}: {finding.message}\n"
              f"{finding.traceback}", end="")
    return EXIT_CHECK_FAILED if report.failures() else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
