"""tools/regenerate_tables.py reruns a table's command and rewrites only its marked block, with
the date and the command; a README without the markers is refused before anything runs."""
from __future__ import annotations

import pytest

from tools.regenerate_tables import (GENERATED_LINE, TABLES, Table, begin_marker, end_marker,
                                     regenerate)

WRITE_TABLE = ("-c", "import sys; open(sys.argv[1], 'w').write('| a | b |\\n|---|---|\\n| 1 | 2 |\\n')",
               "{table}")


def test_the_block_between_the_markers_is_replaced_and_nothing_else(tmp_path):
    before, after = "# Title\n\nprose before\n\n", "\nprose after\n"
    old = f"{begin_marker('demo')}\nGenerated on 2000-01-01 by ...\n\n| old |\n|---|\n{end_marker('demo')}\n"
    (tmp_path / "README.md").write_text(before + old + after)
    regenerate("demo", Table("README.md", WRITE_TABLE), root=tmp_path, date="2026-12-04")
    text = (tmp_path / "README.md").read_text()
    assert text.startswith(before + begin_marker("demo") + "\n") and text.endswith(end_marker("demo") + "\n" + after)
    block = text[len(before):-len(after)].splitlines()
    match = GENERATED_LINE.match(block[1])
    assert match and match.groups() == ("2026-12-04", "demo", "python " + " ".join(WRITE_TABLE).replace("{table}", "FILE.md"))
    assert block[3:6] == ["| a | b |", "|---|---|", "| 1 | 2 |"] and "| old |" not in text


def test_a_readme_without_the_markers_is_refused_before_the_command_runs(tmp_path):
    (tmp_path / "README.md").write_text("no markers\n")
    never = Table("README.md", ("-c", "raise SystemExit(3)"))
    with pytest.raises(ValueError, match="begin table demo"):
        regenerate("demo", never, root=tmp_path)
    assert (tmp_path / "README.md").read_text() == "no markers\n"


def test_the_registered_tables_run_the_projects_commands():
    assert TABLES["conformance"].shown_command() == "python -m reproduce conformance --demo --table FILE.md"
    assert TABLES["benchmarks"].command[0] == "benchmarks/bench_runtimes.py"
