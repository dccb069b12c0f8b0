"""A stored run as the one act_max command line that reproduces it (shown on its unit page).

The run's own flags come from its row (act layer, unit, xy, seed, n_iters, L2, start_lr,
end_lr: as resolved, which act_max reads the same way), the code rule from its code mode and
the bound file recorded for its hash, the nets and runtime from the act_max flags the sweep
recorded (reproduce.sweep.setup.act_max_flags; paths as seen from the folder the sweep ran
in). act_max with these flags writes the sweep's image, byte for byte (same numeric stack).
"""
from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

COMMAND = ("python", "-m", "reproduce", "act_max")
UNRECORDED = "BOUND_FILE"  # a bound file whose path the store does not know


def code_flags(row: Mapping[str, object], bound_files: Mapping[str, str]) -> list[str]:
    """--bound FILE, --clip 1 (act_max's integer flag) or nothing."""
    if row["code_mode"] == "clip":
        return ["--clip", "1"]
    if row["code_mode"] == "bound":
        return ["--bound", bound_files.get(str(row["bound_sha256"]), UNRECORDED)]
    return []


def run_flags(row: Mapping[str, object]) -> list[str]:
    """The run's own flags, as act_max names them."""
    return ["--act_layer", str(row["act_layer"]), "--unit", str(row["unit"]),
            "--xy", str(row["xy"]), "--n_iters", str(row["n_iters"]),
            "--L2", repr(float(row["L2"])), "--start_lr", repr(float(row["start_lr"])),
            "--end_lr", repr(float(row["end_lr"])), "--seed", str(row["seed"])]


def act_max_command(row: Mapping[str, object], net_flags: Sequence[str],
                    bound_files: Mapping[str, str]) -> str:
    """The shell-quoted command line."""
    words = [*COMMAND, *run_flags(row), *code_flags(row, bound_files), *net_flags]
    return shlex.join(words)
