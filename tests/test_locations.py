"""The project's files are found by one rule (reproduce.official.locations): the checkout's own
here, the installed package data in a wheel (tests/test_package_install.py runs that case)."""
from __future__ import annotations

import ast

from reproduce.official import locations
from reproduce.official.manifest import data_root, manifest_path
from support.paths import REPO_ROOT

PACKAGES = ("common", "converters", "reproduce")


def test_a_checkout_finds_its_own_models_data_and_output_folders(monkeypatch):
    monkeypatch.delenv("DGN_AM_DATA", raising=False)
    monkeypatch.delenv("DGN_AM_MANIFEST", raising=False)
    assert not locations.installed()
    assert locations.project_path("models/demo/demo.json") == REPO_ROOT / "models" / "demo" / "demo.json"
    assert manifest_path() == REPO_ROOT / "models" / "manifest.json"
    assert data_root() == REPO_ROOT / "data"
    assert locations.default_output_dir() == REPO_ROOT / "output"


def test_an_installed_copy_finds_its_package_data_and_the_users_folders(monkeypatch, tmp_path):
    installed_root = tmp_path / "site-packages" / "reproduce" / "project_data"
    (installed_root / "models").mkdir(parents=True)
    monkeypatch.setattr(locations, "INSTALLED_ROOT", installed_root)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.delenv("DGN_AM_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert locations.installed()
    assert locations.project_path("models/nets") == installed_root / "models" / "nets"
    assert data_root() == tmp_path / "share" / "dgn-am"
    assert locations.default_output_dir() == tmp_path / "output"


def test_only_the_locations_module_derives_paths_from_its_own_file():
    """No other shipped module computes a repository root from `__file__` (as REPO_ROOT did):
    that would break in an installed copy. Reading a module's own `module.__file__` to ship
    code (reproduce.sweep.ray_cluster) is not a path into the project's files."""
    offenders = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if path == REPO_ROOT / "reproduce" / "official" / "locations.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Name) and node.id in ("__file__", "REPO_ROOT"):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {node.id}")
    assert not offenders, "\n".join(offenders)


def test_pyproject_lists_every_package_of_the_checkout():
    import tomllib
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {str(init.parent.relative_to(REPO_ROOT)).replace("/", ".")
             for package in PACKAGES for init in (REPO_ROOT / package).rglob("__init__.py")}
    listed = set(config["packages"])
    assert found - listed == set()
    assert listed - found == {"reproduce.project_data.models", "reproduce.project_data.web"}
    assert config["package-dir"] == {"reproduce.project_data.models": "models",
                                     "reproduce.project_data.web": "web"}
    assert locations.INSTALLED_ROOT == REPO_ROOT / "reproduce" / "project_data"
    assert not locations.INSTALLED_ROOT.exists()  # a checkout never holds the installed copy
