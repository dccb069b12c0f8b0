"""`--export FILE.csv|FILE.parquet`: the store's `runs` table for pandas users.

CSV with the standard library (a header line, then one line per run; floats written with
repr, so they read back exactly); Parquet through pyarrow (an optional extra), with the
store's column types (TEXT → string, INTEGER → int64, REAL → float64). Either is written
atomically. `pandas.read_csv(FILE)` / `pandas.read_parquet(FILE)` read them.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from common.atomic import atomic_output
from common.errors import UserError
from reproduce.sweep.store import COLUMNS, COLUMN_NAMES

FORMATS = (".csv", ".parquet")


def export_rows(rows: Sequence[dict[str, object]], path: str | Path) -> Path:
    """Writes the rows as CSV or Parquet, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"--export {path}: unknown format (give a .csv or .parquet file)")
    if not path.parent.is_dir():
        raise UserError(f"--export {path}: folder {path.parent} does not exist")
    if suffix == ".csv":
        _write_csv(rows, path)
    else:
        _write_parquet(rows, path)
    return path


def _write_csv(rows: Sequence[dict[str, object]], path: Path) -> None:
    with atomic_output(path) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(COLUMN_NAMES)
        for row in rows:
            writer.writerow(["" if row[name] is None else row[name] for name in COLUMN_NAMES])
        text.flush()
        text.detach()


def _write_parquet(rows: Sequence[dict[str, object]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(f"--export {path}: Parquet needs pyarrow (pip install pyarrow; see "
                        "requirements-sweep.txt)") from None
    kinds = {"TEXT": pa.string(), "INTEGER": pa.int64(), "REAL": pa.float64()}
    schema = pa.schema([(name, kinds[kind.split()[0]]) for name, kind in COLUMNS])
    table = pa.Table.from_pylist([{name: row[name] for name in COLUMN_NAMES} for row in rows],
                                 schema=schema)
    with atomic_output(path) as stream:
        pq.write_table(table, stream)
