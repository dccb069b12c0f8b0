"""Every subcommand module of both entry points imports and registers (a broken module would
silently drop its subcommand, or break the whole CLI)."""
import argparse
import importlib
import subprocess
import sys

import pytest

from support.paths import REPO_ROOT

ENTRY_POINTS = {
    "converters": ("caffe2onnx", "vjp"),
    "reproduce": ("act_max", "experiments", "regress", "export_step", "fetch", "models"),
}


@pytest.mark.parametrize("package", sorted(ENTRY_POINTS))
def test_every_subcommand_module_registers(package):
    module_names = importlib.import_module(f"{package}.__main__").SUBCOMMAND_MODULES
    subparsers = argparse.ArgumentParser().add_subparsers()
    for module_name in module_names:
        importlib.import_module(module_name).register(subparsers)
    assert set(ENTRY_POINTS[package]) <= set(subparsers.choices)


@pytest.mark.parametrize("package", sorted(ENTRY_POINTS))
def test_help_lists_every_subcommand(package):
    result = subprocess.run([sys.executable, "-m", package, "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for subcommand in ENTRY_POINTS[package]:
        assert subcommand in result.stdout
