"""The sweep's store: OUT_DIR/runs.sqlite (SQLite, WAL mode), table `runs`, one row per run.

A row is inserted only after its JPEG and PNG are in place (each written atomically), and all
rows of a batch go in one transaction, so after a crash at any moment every row has its
images and no row is half there. WAL mode lets readers (the atlas, an export) read while a
sweep writes. Table `meta` (key → JSON value) records the nets the store's runs belong to
(`nets`: content hashes and settings, reproduce.sweep.setup.nets_identity; a sweep of other
nets or net flags on the same OUT_DIR is refused), and, for the atlas, the last sweep's
act_max net flags (`act_max_flags`), each bound file's path by content hash (`bound_files`)
and its labels file (`labels`).

Columns of `runs` (the key first, see reproduce.sweep.plan.RunKey):
  act_layer, unit, xy, seed, n_iters, L2, start_lr, end_lr (resolved: < 0 became start_lr),
  code_mode ("bound", "clip", "none"), bound_sha256 ("" unless bound);
  set_dir (the hyperparameter set's folder), final_act, iterations, acts (JSON list),
  image (the PNG, relative to OUT_DIR), jpeg (the release-named JPEG beside it);
  the numeric stack: python, numpy, onnx, onnxruntime, pillow, provider, threads (0: ONNX
  Runtime's default), host and pid of the process that ran it; the executor ("local" or
  "ray"), batch_size (samples in its step graph), built (1 when its batch had to build that
  step graph, 0 when the process had it already); timings: convert_s (that build), batch_s
  (the batch's iterations), finished_at (UTC, when its row was written).

`final_act` is the activation of the returned image: the unit's value at the forward pass of
the last iteration run, computed on that iteration's crop, which is the returned image (the
release's `best_act` for `best`; float32 from the step graph, stored exactly as a double;
0 when that iteration's gradient was NaN, as the release records it).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from common.errors import UserError
from reproduce.sweep.plan import KEY_COLUMNS

STORE_NAME = "runs.sqlite"

COLUMNS: tuple[tuple[str, str], ...] = (
    ("act_layer", "TEXT NOT NULL"), ("unit", "INTEGER NOT NULL"), ("xy", "INTEGER NOT NULL"),
    ("seed", "INTEGER NOT NULL"), ("n_iters", "INTEGER NOT NULL"), ("L2", "REAL NOT NULL"),
    ("start_lr", "REAL NOT NULL"), ("end_lr", "REAL NOT NULL"), ("code_mode", "TEXT NOT NULL"),
    ("bound_sha256", "TEXT NOT NULL"),
    ("set_dir", "TEXT NOT NULL"), ("final_act", "REAL NOT NULL"),
    ("iterations", "INTEGER NOT NULL"),
    ("acts", "TEXT NOT NULL"), ("image", "TEXT NOT NULL"), ("jpeg", "TEXT NOT NULL"),
    ("python", "TEXT"), ("numpy", "TEXT"), ("onnx", "TEXT"), ("onnxruntime", "TEXT"),
    ("pillow", "TEXT"), ("provider", "TEXT"), ("threads", "INTEGER"), ("host", "TEXT"),
    ("pid", "INTEGER"), ("executor", "TEXT"), ("batch_size", "INTEGER"), ("built", "INTEGER"),
    ("convert_s", "REAL"), ("batch_s", "REAL"),
    ("finished_at", "TEXT"))
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


class Store:
    """The open store of one OUT_DIR."""

    def __init__(self, out_dir: str | Path, *, create: bool = True) -> None:
        self.path = Path(out_dir) / STORE_NAME
        if not create and not self.path.is_file():
            raise UserError(f"{self.path}: no sweep store here (run a sweep into this folder "
                            "first)")
        try:
            self.connection = sqlite3.connect(self.path, timeout=30.0)
            self.connection.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL: a committed transaction survives a killed process
            self.connection.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._create()
        except sqlite3.DatabaseError as error:
            raise UserError(f"{self.path}: not a usable SQLite store ({error})") from None

    def _create(self) -> None:
        columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
        with self.connection:
            self.connection.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns}, "
                                    f"PRIMARY KEY ({', '.join(KEY_COLUMNS)}))")
            self.connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                                    "value TEXT NOT NULL)")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def claim_nets(self, nets: dict[str, object], flags: dict[str, str] | None = None) -> None:
        """Records the nets on first use; refuses other nets later: one line naming what
        differs (by its flag in `flags`, key → flag, else by its key)."""
        recorded = self.meta("nets")
        if recorded is None:
            self.set_meta("nets", nets)
            return
        given = json.loads(json.dumps(nets))  # as stored: tuples become lists
        differ = sorted(key for key in set(recorded) | set(given)
                        if recorded.get(key) != given.get(key))
        if differ:
            names = ", ".join((flags or {}).get(key, key) for key in differ)
            verb = "differs" if len(differ) == 1 else "differ"
            raise UserError(f"{self.path}: its runs are of other nets or net flags ({names} "
                            f"{verb}); sweep into another OUT_DIR")

    def meta(self, key: str) -> object | None:
        """The JSON value recorded under `key`, or None."""
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: object) -> None:
        """Records (or replaces) `key`'s JSON value."""
        with self.connection:
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                    (key, json.dumps(value, sort_keys=True)))

    def done_keys(self) -> set[tuple]:
        """The key tuples of every stored run."""
        query = f"SELECT {', '.join(KEY_COLUMNS)} FROM runs"
        return {tuple(row) for row in self.connection.execute(query)}

    def insert(self, rows: Iterable[dict[str, object]]) -> None:
        """Inserts rows in one transaction (all or none)."""
        placeholders = ", ".join(f":{name}" for name in COLUMN_NAMES)
        with self.connection:
            self.connection.executemany(
                f"INSERT INTO runs ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})",
                [{name: row.get(name) for name in COLUMN_NAMES} for row in rows])

    def rows(self) -> list[dict[str, object]]:
        """Every row, as column → value, in key order."""
        cursor = self.connection.execute(f"SELECT * FROM runs ORDER BY {', '.join(KEY_COLUMNS)}")
        names = [description[0] for description in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
