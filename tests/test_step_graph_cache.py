"""The on-disk cache of built step graphs (reproduce.step.cache): a second build of the same
setting is read back, runs bit for bit as a fresh build, and only the sources, flags and builder
decide the key; corrupt entries are rebuilt, --no_cache neither reads nor writes, concurrent runs
are safe."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from reproduce.inputs.demo import demo_settings
from reproduce.run import job as job_module
from reproduce.run.job import Job, NetFiles, build_step_model, run_job
from reproduce.step.graph import CodeMode
from reproduce.step.rules import Schedule
from support.paths import REPO_ROOT
from support.tiny_nets import write_tiny_nets


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("DGN_AM_CACHE", str(folder))
    return folder / "step_graphs"


def demo_nets() -> NetFiles:
    demo = demo_settings()
    return NetFiles(demo.generator_definition, demo.generator_weights, demo.net_definition,
                    demo.net_weights)


def demo_job(**options) -> Job:
    demo = demo_settings()
    return Job.product(demo_nets(), "fc8", [3, 5], [0], Schedule.from_flags(5, 8.0, 1e-10, 0.99),
                       bound=demo.bound, threads=1, progress=False, **options)


def no_builds(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the step graph was built although the cache holds it")
    monkeypatch.setattr(job_module, "_built", fail)


def test_a_second_build_reads_the_entry_and_runs_bit_for_bit(cache_dir, monkeypatch):
    fresh = run_job(demo_job(use_cache=False))
    assert not cache_dir.exists() or not any(cache_dir.iterdir())
    first = run_job(demo_job())
    (entry,) = cache_dir.glob("*.onnx")
    assert entry.stat().st_size < 200_000  # weight-free: the demo's weights are ~3 MB
    no_builds(monkeypatch)
    second = run_job(demo_job())
    for runs in (first, second):
        for expected, got in zip(fresh, runs, strict=True):
            assert expected.acts == got.acts
            assert np.array_equal(expected.saved, got.saved)


def test_the_key_follows_the_flags(cache_dir):
    nets = demo_nets()
    build_step_model(nets, "fc8", 1, CodeMode.BOUND)
    build_step_model(nets, "fc8", 2, CodeMode.BOUND)
    build_step_model(nets, "fc8", 1, CodeMode.CLIP)
    build_step_model(nets, "conv5", 1, CodeMode.BOUND)
    assert len(list(cache_dir.glob("*.onnx"))) == 4


def test_other_small_weights_are_another_key(cache_dir, tmp_path):
    """The tiny nets' weights are below the detach threshold, so they are part of the source
    graphs' bytes: other values, another entry (never a stale graph)."""
    for seed in (0, 1):
        nets = write_tiny_nets(tmp_path / f"seed{seed}", seed=seed)
        build_step_model(NetFiles(str(nets.generator_prototxt), str(nets.generator_caffemodel),
                                  str(nets.classifier_prototxt), str(nets.classifier_caffemodel)),
                         "fc8", 1, CodeMode.BOUND)
    assert len(list(cache_dir.glob("*.onnx"))) == 2


def test_a_corrupt_entry_is_rebuilt(cache_dir):
    expected = build_step_model(demo_nets(), "fc8", 1, CodeMode.BOUND)
    (entry,) = cache_dir.glob("*.onnx")
    entry.write_bytes(entry.read_bytes()[:100])
    rebuilt = build_step_model(demo_nets(), "fc8", 1, CodeMode.BOUND)
    assert rebuilt.model.SerializeToString() == expected.model.SerializeToString()
    assert entry.stat().st_size > 100


def test_no_cache_neither_reads_nor_writes(cache_dir, tmp_path):
    done = subprocess.run([sys.executable, "-m", "reproduce", "act_max", "--demo", "--unit", "3",
                           "--n_iters", "1", "--no_cache", "--output_dir", str(tmp_path / "out")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_concurrent_runs_share_one_entry(cache_dir, tmp_path):
    runs = [subprocess.Popen([sys.executable, "-m", "reproduce", "act_max", "--demo", "--unit", "3",
                              "--n_iters", "2", "--threads", "1",
                              "--output_dir", str(tmp_path / f"out{index}")],
                             cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for index in range(3)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    (entry,) = cache_dir.glob("*.onnx")
    assert not list(cache_dir.glob(".*.tmp"))
    images = {(tmp_path / f"out{index}" / "fc8_0003_02_1.0_2.0__0.png").read_bytes()
              for index in range(3)}
    assert len(images) == 1
