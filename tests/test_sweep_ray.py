"""`sweep --ray` on a local Ray instance (2 CPUs): the same files and rows as the local executor,
one step-graph build per worker process and batch size, a killed worker's batch retried.
Ray is an optional extra (requirements-sweep.txt); CI installs it (tools/setup_tests.sh)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from support.demo_onnx import DEMO, DEMO_CROP, export_demo_classifier
from support.paths import REPO_ROOT
from support.ports import free_port
from support.sweep import HYPER, SWEEP, env, result_files, results_of, store_rows

pytest.importorskip("ray", reason="Ray not installed (optional extra: requirements-sweep.txt)")

RUNS = ["--units", "0-7", "--seeds", "0", "--batch", "2", "--n_iters", "200"]  # 4 batches of ~1 s


def batch_task_processes() -> list[int]:
    """Ray workers running a batch right now (Ray titles a busy worker `ray::<task name>`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(
                    b"ray::batch_task"):
                pids.append(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
    return pids


def test_ray_equals_local_and_retries_a_killed_workers_batch(tmp_path):
    local = subprocess.run([sys.executable, "-m", "reproduce", "sweep", str(tmp_path / "local"),
                            *SWEEP, *RUNS], cwd=REPO_ROOT, env=env(), capture_output=True,
                           text=True, timeout=120)
    assert local.returncode == 0, local.stderr
    command = [sys.executable, "-m", "reproduce", "sweep", str(tmp_path / "ray"), *SWEEP, *RUNS,
               "--ray"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**env(), "RAY_ADDRESS": ""},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    deadline = time.monotonic() + 90
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        busy = batch_task_processes()
        if busy:
            time.sleep(0.3)  # well inside its batch (about a second of iterations)
            killed = busy[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert killed is not None, "no worker was seen running a batch"
    assert "ray executor" in output
    assert result_files(tmp_path / "ray") == result_files(tmp_path / "local")
    rows = store_rows(tmp_path / "ray")
    assert results_of(rows) == results_of(store_rows(tmp_path / "local"))
    assert {row["executor"] for row in rows} == {"ray"}
    assert killed not in {row["pid"] for row in rows}  # its batch was run again elsewhere
    built = defaultdict(int)
    for row in rows:
        built[row["pid"], row["batch_size"]] += row["built"]
    # each worker process built its step graph once: exactly its first batch's rows say so
    assert all(count == batch_size for (_, batch_size), count in built.items()), built


def test_ray_runs_an_onnx_net_as_the_local_executor_does(tmp_path):
    """--net_onnx with its adapter flags travels to the workers (the model through the object
    store): the same files and rows as the local executor."""
    model = export_demo_classifier(tmp_path / "demo_classifier.onnx")
    flags = ["--net_onnx", str(model), "--crop_size", DEMO_CROP,
             "--generator_definition", str(DEMO / "generator.prototxt"),
             "--generator_weights", str(DEMO / "generator.caffemodel"),
             "--bound", str(DEMO / "fc6_3x.txt"), "--act_layer", "fc8", *HYPER, "--threads", "1",
             "--units", "0-3", "--seeds", "0", "--batch", "2", "--n_iters", "10"]
    runs = {}
    for name, executor in (("local", []), ("ray", ["--ray"])):
        done = subprocess.run([sys.executable, "-m", "reproduce", "sweep", str(tmp_path / name),
                               *flags, *executor], cwd=REPO_ROOT, env={**env(), "RAY_ADDRESS": ""},
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        runs[name] = store_rows(tmp_path / name)
    assert {row["executor"] for row in runs["ray"]} == {"ray"}
    assert results_of(runs["ray"]) == results_of(runs["local"])
    assert result_files(tmp_path / "ray") == result_files(tmp_path / "local")


def test_joins_a_running_cluster_by_address(tmp_path):
    """`--ray ADDRESS`: a head node started apart (`ray start --head`), joined by the sweep."""
    port = free_port()
    cluster_env = {**env(), "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""}
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
                             f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats"], env=cluster_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        for line in head.stdout:  # until the head says it is up
            if "Ray runtime started" in line:
                break
        runs = ["--units", "0-3", "--seeds", "0", "--n_iters", "20"]
        local = subprocess.run([sys.executable, "-m", "reproduce", "sweep", str(tmp_path / "local"),
                                *SWEEP, *runs], cwd=REPO_ROOT, env=env(), capture_output=True,
                               text=True, timeout=120)
        assert local.returncode == 0, local.stderr
        joined = subprocess.run([sys.executable, "-m", "reproduce", "sweep",
                                 str(tmp_path / "joined"), *SWEEP, *runs,
                                 "--ray", f"127.0.0.1:{port}"], cwd=REPO_ROOT, env=cluster_env,
                                capture_output=True, text=True, timeout=120)
        assert joined.returncode == 0, joined.stderr
        assert result_files(tmp_path / "joined") == result_files(tmp_path / "local")
        assert (results_of(store_rows(tmp_path / "joined"))
                == results_of(store_rows(tmp_path / "local")))
    finally:
        head.terminate()  # `ray start --block` stops the processes it started
        head.communicate(timeout=60)
