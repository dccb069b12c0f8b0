"""`python -m reproduce regress`: record a reference, compare bit-identically on the same stack,
by the one-iteration criterion otherwise, and report what differs."""
from __future__ import annotations

import numpy as np
import pytest

from common.cli import run_subcommands
from reproduce.__main__ import SUBCOMMAND_MODULES
from reproduce.outputs.trace import read_trace, write_trace
from support.tiny_nets import CODE_SIZE, write_tiny_nets


def reproduce_cli(*argv: str) -> int:
    return run_subcommands("python -m reproduce", None, SUBCOMMAND_MODULES, list(argv))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    directory = tmp_path_factory.mktemp("regress")
    nets = write_tiny_nets(directory / "nets")
    bound = directory / "bound.txt"
    bound.write_text(" ".join(["3"] * CODE_SIZE))
    reference = directory / "reference"
    flags = ["--unit", "2", "--n_iters", "6", "--L2", "0.99", "--start_lr", "8.0", "--end_lr", "1e-10",
             "--net_definition", str(nets.classifier_prototxt), "--net_weights", str(nets.classifier_caffemodel),
             "--generator_definition", str(nets.generator_prototxt),
             "--generator_weights", str(nets.generator_caffemodel), "--bound", str(bound)]
    assert reproduce_cli("regress", "record", str(reference), "--", *flags) == 0
    return reference


def test_same_stack_rerun_is_bit_identical(recorded, capsys):
    capsys.readouterr()
    assert reproduce_cli("regress", "compare", str(recorded)) == 0
    out = capsys.readouterr().out
    assert "whole run must be bit-identical" in out and "DIFFER" not in out and "PASS" in out


def test_one_iteration_criterion_passes_and_reports_figures(recorded, capsys):
    capsys.readouterr()
    assert reproduce_cli("regress", "compare", str(recorded), "--one_step") == 0
    out = capsys.readouterr().out
    assert "one iteration from the reference's state: 6 iterations" in out and "PASS" in out


def test_a_changed_reference_is_reported(recorded, tmp_path, capsys):
    import shutil
    changed = tmp_path / "changed"
    shutil.copytree(recorded, changed)
    trace = read_trace(changed / "trace.npz")
    trace["codes"][3, 5] += 0.5
    write_trace(changed / "trace.npz", **trace)
    capsys.readouterr()
    assert reproduce_cli("regress", "compare", str(changed)) == 1
    out = capsys.readouterr().out
    assert "DIFFER trace codes: 1 of" in out and "first at index (3, 5)" in out and "FAIL" in out
    capsys.readouterr()
    assert reproduce_cli("regress", "compare", str(changed), "--one_step") == 1
    assert "DIFFER one iteration" in capsys.readouterr().out


def test_record_refuses_a_used_folder_and_reserved_flags(recorded, tmp_path, capsys):
    assert reproduce_cli("regress", "record", str(recorded), "--", "--unit", "1") == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert reproduce_cli("regress", "record", str(tmp_path / "new"), "--", "--unit", "1",
                         "--trace", "x.npz") == 2
    assert "--trace: set by regress itself" in capsys.readouterr().err


def test_another_stack_is_judged_one_iteration_at_a_time(recorded, tmp_path, capsys):
    """A reference from another stack (here: other thread count) uses the one-iteration criterion."""
    import json
    import shutil
    other = tmp_path / "other"
    shutil.copytree(recorded, other)
    record = json.loads((other / "reference.json").read_text())
    record["stack"]["threads"] = 7
    (other / "reference.json").write_text(json.dumps(record))
    capsys.readouterr()
    assert reproduce_cli("regress", "compare", str(other)) == 0
    out = capsys.readouterr().out
    assert "numeric stack differs (threads)" in out and "same   one iteration" in out
