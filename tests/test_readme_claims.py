"""The READMEs and docs/ claim only what exists: every project path they name is tracked, every
`python -m reproduce ...`, `python -m converters ...`, `dgn-am ...` and `dgn-am-convert ...`
command they show parses with the real argparse parser (nothing is run), nothing points into
../shared, and every README table says how it was made (tools/regenerate_tables.py).

A *project path* is a word (in prose, code or a link target) whose first component is
a top-level entry of the repository (`models/demo/`, `tests/test_demo.py`, `run_all.sh`), or a
bare test or benchmark file name (`test_caffe_reference.py`); paths outside the tree (`data/`,
`output/`, a user's `OUT_DIR/`, `onnx/reference/ops/op_lrn.py` inside a library) are not the
project's and are not checked. A path may be a folder (some tracked file lies below it) or a glob.
In a command synopsis, `[...]` marks optional flags, `A|B` alternatives (each is parsed) and
`...` repetition; those are expanded before parsing. A bare mention (`python -m converters
caffe2onnx`) must name an existing subcommand (its `--help` parses).
"""
from __future__ import annotations

import argparse
import contextlib
import fnmatch
import importlib
import io
import itertools
import re
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from common.cli import build_parser
from support.paths import REPO_ROOT
from tools.regenerate_tables import GENERATED_LINE, HAND_WRITTEN, TABLES, begin_marker, end_marker

DOCUMENTS = ("README.md", "reproduce/README.md", *sorted(
    str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "docs").glob("*.md")))
READMES = ("README.md", "reproduce/README.md")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
# A code span may wrap onto the next lines of its paragraph (Markdown), never across a blank line.
INLINE_CODE = re.compile(r"`([^`\n]+(?:\n[^`\n]+)*)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATH_TRIM = ".,;:)(\"'"
# command prefix → (package whose __main__ holds SUBCOMMAND_MODULES, its prog)
PREFIXES = {("python", "-m", "reproduce"): "reproduce", ("python", "-m", "converters"): "converters",
            (".venv/bin/python", "-m", "reproduce"): "reproduce",
            (".venv/bin/python", "-m", "converters"): "converters",
            ("dgn-am",): "reproduce", ("dgn-am-convert",): "converters"}


def tracked_files() -> list[str]:
    return subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=True).stdout.split()


TRACKED = tracked_files()
TOP_LEVEL = {name.split("/")[0] for name in TRACKED}


def read(document: str) -> str:
    return (REPO_ROOT / document).read_text(encoding="utf-8")


def code_blocks(text: str) -> list[str]:
    """Fenced blocks and indented ones (four spaces after a blank line)."""
    blocks = FENCE.findall(text)
    lines, current = FENCE.sub("", text).splitlines(), []
    for previous, line in zip([""] + lines, lines):
        if line.startswith("    ") and (current or not previous.strip()):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def words(text: str) -> Iterator[str]:
    """Every word of the document, link targets split out of their brackets."""
    yield from LINK.findall(text)
    yield from INLINE_CODE.sub(lambda match: f" {match.group(1)} ", text).split()


def project_path(word: str) -> str | None:
    """The repository-relative path a word names, or None when it names none of the project's."""
    word = word.strip(PATH_TRIM).split("::")[0].split("#")[0]
    if word.startswith("./"):
        word = word[2:]
    if not word or "://" in word or word.startswith(("-", "$", "/")) or "=" in word:
        return None
    first = word.split("/")[0]
    if "/" in word and first in TOP_LEVEL:
        return word.rstrip("/")
    if "/" not in word and (word in TOP_LEVEL or re.fullmatch(r"(test|bench)_\w+\.py", word)):
        return word
    return None


def exists(path: str) -> bool:
    if "/" not in path and re.fullmatch(r"(test|bench)_\w+\.py", path):
        return any(name.split("/")[-1] == path for name in TRACKED)
    if any(char in path for char in "*?["):
        return any(fnmatch.fnmatch(name, path) for name in TRACKED)
    return path in TRACKED or any(name.startswith(path + "/") for name in TRACKED)


def joined_lines(block: str) -> Iterator[str]:
    """A code block's logical lines (backslash continuations joined)."""
    pending = ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def commands(text: str) -> Iterator[list[str]]:
    """Every command line of the document that starts with a PREFIXES prefix (comments cut)."""
    candidates = [line for block in code_blocks(text) for line in joined_lines(block)]
    candidates += INLINE_CODE.findall(FENCE.sub("", text))
    for line in candidates:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        for start in range(len(words)):
            for prefix in PREFIXES:
                if tuple(words[start:start + len(prefix)]) == prefix:
                    yield words[start:]
                    break
            else:
                continue
            break


def expansions(words: list[str]) -> Iterator[list[str]]:
    """The concrete command lines of a synopsis: brackets dropped, `...` dropped, each
    alternative of `A|B` in turn."""
    cleaned = []
    for word in words:
        word = word.replace("[", "").replace("]", "")
        if word.endswith("..."):
            word = word[:-3]
        if word:
            cleaned.append(word.split("|") if "|" in word and not word.startswith("-") else [word])
    for choice in itertools.product(*cleaned):
        yield list(choice)


def parser_for(package: str) -> argparse.ArgumentParser:
    """The entry point's real parser (common.cli.build_parser), as `python -m PACKAGE` builds it."""
    main = importlib.import_module(f"{package}.__main__")
    return build_parser(package, main.__doc__, main.SUBCOMMAND_MODULES)


def parse_error(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """None when argv parses (a --help counts), else the one-line error argparse printed."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            parser.parse_args(argv)
    except SystemExit as stop:
        return None if stop.code == 0 else errors.getvalue().strip() or f"exit {stop.code}"
    return None


def documented_commands() -> list[tuple[str, list[str]]]:
    found = []
    for document in DOCUMENTS:
        for words in commands(read(document)):
            found.append((document, words))
    return found


# --- the checks ------------------------------------------------------------------------------

def test_the_documents_show_commands_of_both_entry_points():
    packages = {PREFIXES[next(prefix for prefix in PREFIXES if tuple(words[:len(prefix)]) == prefix)]
                for _, words in documented_commands()}
    assert packages == {"reproduce", "converters"}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_project_path_a_document_names_is_tracked(document):
    paths = {path for word in words(read(document)) if (path := project_path(word))}
    assert len(paths) >= 3 or document.startswith("reproduce/"), paths  # the collector finds them
    missing = sorted(path for path in paths if not exists(path))
    assert not missing, f"{document} names paths that are not in the repository: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_command_a_document_shows_parses(document):
    parsers = {package: parser_for(package) for package in ("reproduce", "converters")}
    failures = []
    for words in commands(read(document)):
        prefix = next(prefix for prefix in PREFIXES if tuple(words[:len(prefix)]) == prefix)
        argv = words[len(prefix):]
        if len(argv) <= 1:  # a mention of the command or a subcommand: it must exist
            argv = [word for word in argv if not word.isupper()] + ["--help"]  # SUBCOMMAND: any
        for concrete in expansions(argv):
            error = parse_error(parsers[PREFIXES[prefix]], concrete)
            if error:
                failures.append(f"{' '.join(words)}  →  {' '.join(concrete)}: {error}")
    assert not failures, f"{document}:\n" + "\n".join(failures)


def test_a_wrong_flag_or_subcommand_is_caught():
    """The check can fail: a misspelt flag, an unknown subcommand, a missing value."""
    parser = parser_for("reproduce")
    assert parse_error(parser, ["act_max", "--unit", "3"]) is None
    assert parse_error(parser, ["act_max", "--unitt", "3"])
    assert parse_error(parser, ["act-max", "--unit", "3"])
    assert parse_error(parser, ["act_max", "--unit"])
    assert parse_error(parser, ["experiments", "--help"]) is None
    assert not exists("tests/test_own_network_torchvision.py")
    assert project_path("tests/test_demo.py),") == "tests/test_demo.py" and exists("tests/test_demo.py")
    assert project_path("data/act_range/3x/fc6.txt") is None


def test_a_code_span_wrapped_onto_the_next_line_is_one_span():
    """Markdown lets `code` wrap inside a paragraph: the words after it are prose again."""
    text = "the site `python -m reproduce web OUT\n  [--serve [PORT]]` writes a page (`web/app/`), x\n"
    assert "web/app/" in list(words(text)) and not any("`" in word for word in words(text))
    assert [" ".join(line.split()) for line in INLINE_CODE.findall(text)] == [
        "python -m reproduce web OUT [--serve [PORT]]", "web/app/"]


def test_no_document_points_into_shared():
    for document in DOCUMENTS:
        assert "../shared" not in read(document), document


def tables(text: str) -> Iterator[int]:
    """The line index where each Markdown table starts (a `|` line followed by `|---`)."""
    lines = text.splitlines()
    for index, line in enumerate(lines[:-1]):
        starts = line.startswith("|") and (index == 0 or not lines[index - 1].startswith("|"))
        if starts and re.match(r"^\|\s*:?-{3,}", lines[index + 1]):
            yield index


@pytest.mark.parametrize("readme", READMES)
def test_every_readme_table_is_generated_or_marked_hand_written(readme):
    text = read(readme)
    lines = text.splitlines()
    generated_spans = []
    for name, table in TABLES.items():
        if begin_marker(name) in text:
            assert table.readme == readme, f"table {name} is registered for {table.readme}"
            first = lines.index(begin_marker(name))
            last = lines.index(end_marker(name))
            match = GENERATED_LINE.match(lines[first + 1])
            assert match and match.group(2) == name, f"{readme}: table {name}: {lines[first + 1]!r}"
            assert match.group(3) == table.shown_command()
            generated_spans.append((first, last))
        else:
            assert table.readme != readme, f"{readme}: table {name} is missing its markers"
    for start in tables(text):
        if any(first < start < last for first, last in generated_spans):
            continue
        above = [line for line in lines[max(0, start - 2):start] if line.strip()]
        assert above and HAND_WRITTEN.match(above[-1]), (
            f"{readme}:{start + 1}: a table neither generated (tools/regenerate_tables.py) nor "
            f"marked `<!-- hand-written table: ... -->`: {lines[start]}")
