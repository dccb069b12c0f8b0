"""What the sweep tests share: the demo sweep's flags (few iterations), the environment its
subprocesses run in (`reproduce` runs `python -m reproduce` there), and readers of a sweep's
results (its image files and its store's rows)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from support.paths import REPO_ROOT

N_ITERS = "40"
HYPER = ["--n_iters", N_ITERS, "--L2", "0.99", "--start_lr", "8.0", "--end_lr", "1e-10"]
SWEEP = ["--demo", "--act_layer", "fc8", *HYPER, "--threads", "1"]


def env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}


def reproduce(*flags: str) -> subprocess.CompletedProcess:
    """`python -m reproduce FLAGS...` in a subprocess from the repository root."""
    return subprocess.run([sys.executable, "-m", "reproduce", *flags], cwd=REPO_ROOT, env=env(),
                          capture_output=True, text=True, timeout=180)


def result_files(out_dir: Path) -> dict[str, bytes]:
    """Every image under OUT_DIR by relative path (store, atlas and lock left out)."""
    return {str(path.relative_to(out_dir)): path.read_bytes()
            for path in sorted(out_dir.rglob("*")) if path.suffix in (".jpg", ".png")
            and path.relative_to(out_dir).parts[0] != "atlas"}  # its thumbnails: not results


def store_rows(out_dir: Path) -> list[dict]:
    connection = sqlite3.connect(out_dir / "runs.sqlite")
    connection.row_factory = sqlite3.Row
    rows = [dict(row) for row in connection.execute(
        "SELECT * FROM runs ORDER BY set_dir, unit, seed")]
    connection.close()
    return rows


def results_of(rows: list[dict]) -> list[tuple]:
    """What a run computed, without where/when/how long."""
    return [(row["set_dir"], row["unit"], row["seed"], row["final_act"], row["acts"],
             row["iterations"], row["image"], row["jpeg"]) for row in rows]
