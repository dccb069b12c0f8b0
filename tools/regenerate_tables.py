"""Regenerates the README's measured tables: runs each table's command and rewrites its block.

A generated table sits in its README between two marker comments,

    <!-- begin table NAME -->
    Generated on YYYY-MM-DD by `python tools/regenerate_tables.py NAME` (it runs `COMMAND`).

    | the table ... |
    <!-- end table NAME -->

and this script replaces everything between them: the line saying the date and the command,
then the table the command wrote. Nothing outside the markers changes. Tables written by hand
carry instead a `<!-- hand-written table: ... -->` comment saying what checks them
(tests/test_readme_claims.py requires one marking or the other on every README table).

Usage (from the repository root, in the set-up venv; the torchvision table in a venv with torch):
    .venv/bin/python tools/regenerate_tables.py [NAME ...]     # default: every table
The measurements are those of the machine it runs on: on a shared machine, say so beside them.
"""
from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from common.atomic import atomic_write_bytes  # noqa: E402

GENERATED_LINE = re.compile(r"^Generated on (\d{4}-\d{2}-\d{2}) by `python tools/regenerate_tables\.py "
                            r"(\S+)` \(it runs `([^`]+)`\)\.$")
HAND_WRITTEN = re.compile(r"^<!-- hand-written table: .+ -->$")


@dataclass(frozen=True)
class Table:
    """A generated table: the README holding it and the command writing it to `{table}`."""

    readme: str
    command: tuple[str, ...]  # run with the venv's python from the repository root

    def shown_command(self) -> str:
        return "python " + " ".join(self.command).replace("{table}", "FILE.md")


TABLES = {
    "conformance": Table("README.md", ("-m", "reproduce", "conformance", "--demo", "--table", "{table}")),
    "benchmarks": Table("README.md", ("benchmarks/bench_runtimes.py", "--sizes", "demo", "full",
                                      "--table", "{table}")),
    "web": Table("README.md", ("benchmarks/bench_web.py", "--sizes", "demo", "full", "--iterations", "10",
                               "--table", "{table}")),
    # needs torch: run this one with the torch venv's python (tools/torch_fixtures/README.md)
    "torchvision": Table("README.md", ("tools/torch_fixtures/check_torchvision.py", "--ladder", "8", "4",
                                       "2", "1", "0.5", "0.25", "0.1", "--table", "{table}")),
}


def begin_marker(name: str) -> str:
    return f"<!-- begin table {name} -->"


def end_marker(name: str) -> str:
    return f"<!-- end table {name} -->"


def block_bounds(text: str, name: str) -> tuple[int, int]:
    """(start, end) of the text between the table's markers; ValueError when they are missing."""
    begin, end = begin_marker(name), end_marker(name)
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"table {name}: expected one {begin!r} and one {end!r}")
    start = text.index(begin) + len(begin)
    stop = text.index(end)
    if stop < start:
        raise ValueError(f"table {name}: {end!r} comes before {begin!r}")
    return start, stop


def render_block(name: str, table: Table, markdown: str, date: str) -> str:
    """What goes between the markers: the date-and-command line, a blank line, the table."""
    return (f"\nGenerated on {date} by `python tools/regenerate_tables.py {name}` "
            f"(it runs `{table.shown_command()}`).\n\n{markdown.rstrip()}\n")


def replace_block(text: str, name: str, block: str) -> str:
    start, stop = block_bounds(text, name)
    return text[:start] + block + text[stop:]


def run_table_command(table: Table, python: str = sys.executable) -> str:
    """Runs the table's command (output shown as it goes); returns the table it wrote."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "table.md"
        command = [python, *(part.replace("{table}", str(target)) for part in table.command)]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, cwd=REPO_ROOT, check=True)
        return target.read_text()


def regenerate(name: str, table: Table, root: Path = REPO_ROOT, date: str | None = None) -> None:
    """Reruns one table's command and rewrites its block in place."""
    readme = root / table.readme
    text = readme.read_text()
    block_bounds(text, name)  # refuse before running a long command
    markdown = run_table_command(table)
    date = date or datetime.date.today().isoformat()
    atomic_write_bytes(readme, replace_block(text, name, render_block(name, table, markdown, date)).encode())
    print(f"rewrote table {name} in {readme}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"tables to regenerate ({', '.join(TABLES)}; default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in TABLES]
    if unknown:
        parser.error(f"unknown table {', '.join(unknown)} (known: {', '.join(TABLES)})")
    for name in args.names or list(TABLES):
        regenerate(name, TABLES[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
