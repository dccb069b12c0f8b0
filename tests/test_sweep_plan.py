"""The sweep's parts that need no nets: SPEC syntax, hyperparameter sets, keys and folders, the
plan, the store (WAL, one transaction per batch, nets claim), the lock, the CSV/Parquet export."""
from __future__ import annotations

import csv
import math
import multiprocessing
import sqlite3

import pytest

from common.errors import UserError
from reproduce.sweep.export import export_rows
from reproduce.sweep.lock import exclusive
from reproduce.sweep.plan import (Fixed, HyperSet, RunKey, hyper_sets, key_tuple, make_plan,
                                  safe_name)
from reproduce.sweep.spec import parse_spec
from reproduce.sweep.store import COLUMN_NAMES, Store

FIXED = Fixed("fc8", 0, "bound", "ab" * 32)


@pytest.mark.parametrize("text, expected", [
    ("5", (5,)), ("0-3", (0, 1, 2, 3)), ("3,1,2", (3, 1, 2)),
    ("0-2,100,500-502", (0, 1, 2, 100, 500, 501, 502)), (" 1 , 2-3 ", (1, 2, 3)),
    ("2,0-3", (2, 0, 1, 3)),  # a value given twice keeps its first place
    ("all", tuple(range(1000))), ("ALL", tuple(range(1000)))])
def test_spec_lists_values_in_order(text, expected):
    assert parse_spec(text, "--units", count=1000) == expected


@pytest.mark.parametrize("text, words", [
    ("", "bad item"), ("1,,2", "bad item"), ("a", "bad item"), ("-1", "bad item"),
    ("1.5", "bad item"), ("1-2-3", "bad item"), ("3-1", "empty range"), ("0-6", "out of range"),
    ("all,1", "stand alone"), ("1 2", "bad item")])
def test_bad_spec_is_one_line_naming_the_flag(text, words):
    with pytest.raises(UserError) as error:
        parse_spec(text, "--units", count=6)
    message = str(error.value)
    assert message.startswith(f"--units {text}") and words in message and "\n" not in message


def test_seeds_have_no_all_and_no_upper_limit_here():
    with pytest.raises(UserError, match="not allowed"):
        parse_spec("all", "--seeds")
    assert parse_spec("4000000000", "--seeds") == (4000000000,)


def test_hyper_sets_are_the_product_with_end_lr_resolved_and_duplicates_dropped():
    sets = hyper_sets(20, [0.99, 0.9], [8.0], [1e-10, -1.0, 8.0])
    assert sets == [HyperSet(20, 0.99, 8.0, 1e-10), HyperSet(20, 0.99, 8.0, 8.0),
                    HyperSet(20, 0.9, 8.0, 1e-10), HyperSet(20, 0.9, 8.0, 8.0)]


def test_each_hyperparameter_set_has_its_own_folder_and_act_max_file_names():
    key = RunKey(FIXED, HyperSet(200, 0.99, 8.0, 1e-10), 643, 0)
    assert key.jpeg == ("fc8_xy0_n200_L2_0.99_lr_8.0_1e-10_bound-abababab/"
                        "fc8_0643_200_0.99_8.0__0.jpg")
    assert key.image == key.jpeg[:-4] + ".png"
    other_end = RunKey(FIXED, HyperSet(200, 0.99, 8.0, 8.0), 643, 0)
    clipped = RunKey(Fixed("fc8", 0, "clip"), HyperSet(200, 0.99, 8.0, 1e-10), 643, 0)
    assert len({key.jpeg, other_end.jpeg, clipped.jpeg}) == 3  # same release name, other folders
    assert key.jpeg.rsplit("/", 1)[1] == other_end.jpeg.rsplit("/", 1)[1]


def test_layer_names_with_a_slash_stay_one_folder():
    assert "/" not in safe_name("loss3/classifier") and safe_name("fc8") == "fc8"
    assert safe_name("loss3/classifier") != safe_name("loss3_classifier")
    key = RunKey(Fixed("loss3/classifier", 0, "none"), HyperSet(5, 0.99, 2.0, 2.0), 1, 0)
    folder, name = key.jpeg.split("/", 1)
    # act_max's own name: the layer as one safe component (reproduce.outputs.names), no sub-folder
    assert name == f"{safe_name('loss3/classifier')}_0001_05_0.99_2.0__0.jpg" and "/" not in name


def test_plan_skips_done_runs_and_cuts_batches_within_a_set():
    sets = [HyperSet(5, 0.99, 8.0, 1e-10), HyperSet(5, 0.9, 8.0, 1e-10)]
    done = {key_tuple(RunKey(FIXED, sets[0], unit, seed).as_columns())
            for unit, seed in ((0, 0), (1, 1))}
    plan = make_plan(FIXED, sets, [0, 1, 2], [0, 1], done, batch=3)
    assert (plan.total, plan.done, plan.to_run) == (12, 2, 10)
    assert [(batch.hyper.l2, batch.samples) for batch in plan.batches] == [
        (0.99, ((0, 1), (1, 0), (2, 0))), (0.99, ((2, 1),)),
        (0.9, ((0, 0), (0, 1), (1, 0))), (0.9, ((1, 1), (2, 0), (2, 1)))]
    whole_sets = make_plan(FIXED, sets, [0, 1, 2], [0, 1], done, batch=0)
    assert [len(batch.samples) for batch in whole_sets.batches] == [4, 6]


def row_for(key: RunKey, final_act: float = 1.5) -> dict:
    return {**key.as_columns(), "set_dir": key.hyper.folder(key.fixed), "final_act": final_act,
            "iterations": 5, "acts": "[1.5]", "image": key.image, "jpeg": key.jpeg}


def test_store_is_wal_and_a_batch_goes_in_whole_or_not_at_all(tmp_path):
    hyper = HyperSet(5, 0.99, 8.0, 1e-10)
    with Store(tmp_path) as store:
        store.insert([row_for(RunKey(FIXED, hyper, 0, 0))])
        with pytest.raises(sqlite3.IntegrityError):  # the second row repeats the first's key
            store.insert([row_for(RunKey(FIXED, hyper, 1, 0)), row_for(RunKey(FIXED, hyper, 0, 0))])
        assert store.done_keys() == {key_tuple(RunKey(FIXED, hyper, 0, 0).as_columns())}
    connection = sqlite3.connect(tmp_path / "runs.sqlite")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [row[1] for row in connection.execute("PRAGMA table_info(runs)")]
    for required in ("act_layer", "unit", "xy", "seed", "n_iters", "L2", "start_lr", "end_lr",
                     "final_act", "image", "onnxruntime", "provider", "threads", "batch_s"):
        assert required in columns


def test_store_refuses_runs_of_other_nets(tmp_path):
    with Store(tmp_path) as store:
        store.claim_nets({"net_weights": "aa", "generator_weights": "bb"})
        store.claim_nets({"net_weights": "aa", "generator_weights": "bb"})
        with pytest.raises(UserError, match="net_weights"):
            store.claim_nets({"net_weights": "cc", "generator_weights": "bb"})


def test_not_a_store_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no sweep store"):
        Store(tmp_path, create=False)
    (tmp_path / "runs.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(UserError, match="not a usable SQLite store"):
        Store(tmp_path)


def _try_lock(directory, answers) -> None:
    try:
        with exclusive(directory):
            answers.put("got it")
    except UserError as error:
        answers.put(str(error))


def test_a_second_writer_is_refused_while_the_lock_is_held(tmp_path):
    answers = multiprocessing.get_context("fork").Queue()
    with exclusive(tmp_path):
        process = multiprocessing.get_context("fork").Process(target=_try_lock,
                                                              args=(tmp_path, answers))
        process.start()
        process.join(30)
        refused = answers.get(timeout=5)
    assert "another sweep is writing here" in refused and "pid" in refused
    process = multiprocessing.get_context("fork").Process(target=_try_lock,
                                                          args=(tmp_path, answers))
    process.start()
    process.join(30)
    assert answers.get(timeout=5) == "got it"  # released with its holder


def test_export_csv_reads_back_exactly_and_parquet_keeps_types(tmp_path):
    hyper = HyperSet(5, 0.99, 8.0, 1e-10)
    rows = [{name: None for name in COLUMN_NAMES} | row_for(RunKey(FIXED, hyper, unit, 0), act)
            for unit, act in ((0, 0.1 + 0.2), (1, -3.0e-7))]
    export_rows(rows, tmp_path / "runs.csv")
    with open(tmp_path / "runs.csv", newline="") as stream:
        read = list(csv.DictReader(stream))
    assert [float(row["final_act"]) for row in read] == [0.1 + 0.2, -3.0e-7]
    assert list(read[0]) == list(COLUMN_NAMES)
    with pytest.raises(UserError, match="unknown format"):
        export_rows(rows, tmp_path / "runs.xlsx")
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet", reason="pyarrow not installed (optional extra: requirements-sweep.txt)")
    export_rows(rows, tmp_path / "runs.parquet")
    table = pyarrow_parquet.read_table(tmp_path / "runs.parquet")
    assert table.column_names == list(COLUMN_NAMES)
    assert table.column("final_act").to_pylist() == [0.1 + 0.2, -3.0e-7]
    assert str(table.schema.field("unit").type) == "int64"
    assert not any(math.isnan(value) for value in table.column("L2").to_pylist())
