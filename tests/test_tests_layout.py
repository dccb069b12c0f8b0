"""Tests share code only through the package tests/support/: no test module imports another test
module or conftest (function-level imports included), nothing but test modules and conftest sits
directly in tests/, and no function body of MIN_LINES or more lines stands twice in tests/."""
from __future__ import annotations

import ast
import textwrap
from collections import defaultdict
from pathlib import Path

from support.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
MIN_LINES = 6  # a copied body this long is a helper that belongs in tests/support/


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def top_level_modules(folder: Path) -> set[str]:
    """The modules a test could import by bare name: the .py files directly in `folder`."""
    return {path.stem for path in folder.glob("*.py")}


def helper_modules(folder: Path) -> list[str]:
    """Modules directly in `folder` that are neither test modules nor conftest."""
    return sorted(name for name in top_level_modules(folder)
                  if not name.startswith("test_") and name != "conftest")


def imports_of_test_modules(folder: Path) -> list[str]:
    """`file:line imports module` for each import, in a file below `folder`, of a module directly
    in `folder` (a test module, conftest or a helper), also when spelled `tests.<module>`."""
    test_modules = top_level_modules(folder)
    offenders = []
    for path in python_files(folder):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "tests":
                names = [f"tests.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "tests" and len(parts) > 1:
                    parts = parts[1:]
                if parts[0] in test_modules:
                    offenders.append(f"{path.relative_to(folder)}:{node.lineno} imports {name}")
    return offenders


def function_bodies(path: Path) -> list[tuple[str, int, str]]:
    """(body text, line, name) of every function and method whose body, after its docstring,
    has at least MIN_LINES non-blank lines; the text is dedented, so nesting hides no copy."""
    lines = path.read_text().splitlines()
    bodies = []
    for node in ast.walk(ast.parse("\n".join(lines), str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        statements = node.body
        if ast.get_docstring(node, clean=False) is not None:
            statements = statements[1:]
        if not statements:
            continue
        first = min([statements[0].lineno]
                    + [d.lineno for d in getattr(statements[0], "decorator_list", [])])
        text = textwrap.dedent("\n".join(line.rstrip() for line in lines[first - 1:node.end_lineno]))
        if sum(1 for line in text.splitlines() if line.strip()) >= MIN_LINES:
            bodies.append((text, node.lineno, node.name))
    return bodies


def copied_bodies(folder: Path) -> list[list[str]]:
    """`file:line name` of each function body that stands more than once below `folder`."""
    places = defaultdict(list)
    for path in python_files(folder):
        for text, line, name in function_bodies(path):
            places[text].append(f"{path.relative_to(folder)}:{line} {name}")
    return [where for where in places.values() if len(where) > 1]


def test_no_test_module_imports_another_test_module_or_conftest():
    offenders = imports_of_test_modules(TESTS)
    assert not offenders, "shared test code goes in tests/support/:\n" + "\n".join(offenders)


def test_only_test_modules_and_conftest_sit_directly_in_tests():
    assert not helper_modules(TESTS), f"helper modules outside tests/support/: {helper_modules(TESTS)}"


def test_no_function_body_is_copied_within_tests():
    copies = copied_bodies(TESTS)
    assert not copies, (f"function bodies of >= {MIN_LINES} lines standing twice (keep one, in "
                        "tests/support/):\n" + "\n".join(" = ".join(places) for places in copies))


def test_the_checks_find_a_test_import_and_a_copied_body(tmp_path):
    """The three checks above fail on a tree that breaks each rule (and pass on one that does not)."""
    body = "".join(f"    x{i} = {i}\n" for i in range(MIN_LINES - 1)) + "    return x0\n"
    (tmp_path / "support").mkdir()
    (tmp_path / "conftest.py").write_text("")
    (tmp_path / "helper.py").write_text("")
    (tmp_path / "test_a.py").write_text(f'def first():\n    """Doc."""\n{body}\n'
                                        "def short():\n    return 1\n")
    (tmp_path / "test_b.py").write_text("import os\nfrom support.x import y\n\n\n"
                                        f"def run():\n    from test_a import first\n\n\nclass C:\n"
                                        f"    def second(self):\n{textwrap.indent(body, '    ')}")
    (tmp_path / "support" / "x.py").write_text("import conftest\nfrom tests.test_b import run\n"
                                                "from tests import helper\n")
    assert top_level_modules(tmp_path) == {"conftest", "helper", "test_a", "test_b"}
    assert helper_modules(tmp_path) == ["helper"]
    assert imports_of_test_modules(tmp_path) == [
        "support/x.py:1 imports conftest", "support/x.py:2 imports tests.test_b",
        "support/x.py:3 imports tests.helper", "test_b.py:6 imports test_a"]
    assert copied_bodies(tmp_path) == [["test_a.py:1 first", "test_b.py:10 second"]]
    (tmp_path / "test_b.py").write_text("def second():\n" + body.replace("x0", "x1"))
    assert copied_bodies(tmp_path) == []
