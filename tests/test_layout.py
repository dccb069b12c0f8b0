"""The layout is the data path: each reproduce/ subpackage imports only those below it, and
`common` imports neither `converters` nor `reproduce`; no module imports a private name (or a
private module) of another package; no absolute machine path in the project."""
from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from reproduce import LAYERS
from support.paths import REPO_ROOT



def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of the file names (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "reproduce" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def test_every_reproduce_module_is_in_a_layer():
    for path in (REPO_ROOT / "reproduce").rglob("*.py"):
        relative = path.relative_to(REPO_ROOT / "reproduce")
        if len(relative.parts) == 1:
            assert relative.name in ("__init__.py", "__main__.py"), f"{relative}: not in a layer"
        else:
            assert relative.parts[0] in LAYERS, f"{relative}: {relative.parts[0]} is not in LAYERS"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "reproduce").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_nothing_imports_upward(path):
    relative = path.relative_to(REPO_ROOT / "reproduce")
    if len(relative.parts) == 1:
        return  # reproduce/__init__ and __main__ sit above every layer
    own = LAYERS.index(relative.parts[0])
    upward = sorted(module for module in imported_modules(path)
                    if (layer := layer_of(module)) is not None and layer > own)
    assert not upward, f"{relative} (layer {LAYERS[own]}) imports upward: {upward}"


def test_common_imports_neither_package():
    for path in (REPO_ROOT / "common").rglob("*.py"):
        bad = [m for m in imported_modules(path) if m.split(".")[0] in ("converters", "reproduce")]
        assert not bad, f"{path.name} imports {bad}"


def test_converters_do_not_import_reproduce():
    for path in (REPO_ROOT / "converters").rglob("*.py"):
        bad = [m for m in imported_modules(path) if m.split(".")[0] == "reproduce"]
        assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}"


ABSOLUTE_PATH = re.compile(r"(?<![\w./])/(?:home|root|work|Users|tmp/[\w-]+/|mnt|opt/\w+/)[\w./-]*")


def test_no_absolute_machine_path_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    offenders = []
    for name in files:
        path = REPO_ROOT / name
        if path.suffix not in (".py", ".sh", ".md", ".json", ".txt", ".prototxt", ".ini", ".html",
                               ".js", ".mjs", ".css", ".toml", "") or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if "no-abs-path-check" in line:
                continue
            for match in ABSOLUTE_PATH.finditer(line):
                offenders.append(f"{name}:{number}: {match.group(0)}")
    assert not offenders, "\n".join(offenders[:20])


def test_no_absolute_machine_path_in_tracked_models():
    """ONNX files hold strings too: the dynamo exporter writes each node's Python stack trace,
    with the exporting machine's paths (tools/torch_fixtures/export_fixtures.py drops them)."""
    files = subprocess.run(["git", "ls-files", "*.onnx"], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    pattern = re.compile(ABSOLUTE_PATH.pattern.encode())
    offenders = [f"{name}: {match.group(0)!r}" for name in files
                 for match in pattern.finditer((REPO_ROOT / name).read_bytes())]
    assert files and not offenders, "\n".join(offenders[:20])


def private_imports_across_packages(path: Path) -> list[str]:
    """`from a.b._private import x` or `from a.b import _x` where a.b is not the file's own
    package: a private name is its package's business."""
    own_package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        parts = node.module.split(".")
        private_at = next((i for i, part in enumerate(parts)
                           if part.startswith("_") and not part.startswith("__")), None)
        if private_at is not None and ".".join(parts[:private_at]) != own_package:
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: private module {node.module}")
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__") and \
                    node.module != own_package and ".".join(parts[:-1]) != own_package:
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {node.module}.{alias.name}")
    return found


def test_no_module_imports_a_private_name_of_another_package():
    offenders = [line for package in ("common", "converters", "reproduce", "tools", "benchmarks",
                                      "models")
                 for path in sorted((REPO_ROOT / package).rglob("*.py"))
                 for line in private_imports_across_packages(path)]
    assert not offenders, "\n".join(offenders)


def test_the_private_import_check_catches_both_forms(tmp_path, monkeypatch):
    import support.paths  # noqa: F401  (REPO_ROOT is read through this module's global)
    package = tmp_path / "reproduce" / "cli"
    package.mkdir(parents=True)
    module = package / "x.py"
    module.write_text("from reproduce.step._hidden import a\nfrom reproduce.run.job import _helper\n"
                      "from reproduce.cli._own import fine\n")
    monkeypatch.setitem(globals(), "REPO_ROOT", tmp_path)
    assert [line.split(": ", 1)[1] for line in private_imports_across_packages(module)] == [
        "private module reproduce.step._hidden", "reproduce.run.job._helper"]
