"""`sweep` takes every net flag act_max takes: `--net_onnx` with the adapter flags (the demo
classifier exported to ONNX gives the Caffe path's bytes), `--runtime openvino`; the store
records them and a resumed sweep with other net flags is refused with one line; the provider
line comes once per sweep and the progress says its rate. About 15 s on 2 cores."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reproduce.sweep.store import Store
from support.demo_onnx import DEMO, DEMO_CROP, export_demo_classifier
from support.sweep import HYPER, reproduce, result_files, results_of, store_rows
GENERATOR = ["--generator_definition", str(DEMO / "generator.prototxt"),
             "--generator_weights", str(DEMO / "generator.caffemodel")]
COMMON = [*GENERATOR, "--bound", str(DEMO / "fc6_3x.txt"), "--act_layer", "fc8", *HYPER,
          "--threads", "1", "--units", "0-3", "--seeds", "0,1", "--batch", "4"]
CAFFE = ["--net_definition", str(DEMO / "classifier.prototxt"),
         "--net_weights", str(DEMO / "classifier.caffemodel")]


@pytest.fixture(scope="module")
def demo_onnx(tmp_path_factory) -> Path:
    return export_demo_classifier(tmp_path_factory.mktemp("onnx") / "demo_classifier.onnx")


@pytest.fixture(scope="module")
def caffe_sweep(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out_dir = tmp_path_factory.mktemp("caffe") / "sweep"
    done = reproduce("sweep", str(out_dir), *CAFFE, *COMMON)
    assert done.returncode == 0, done.stderr
    return out_dir, done


def test_net_onnx_sweep_gives_the_caffe_sweeps_bytes_and_records_its_flags(demo_onnx, caffe_sweep,
                                                                          tmp_path):
    out_dir = tmp_path / "onnx"
    done = reproduce("sweep", str(out_dir), "--net_onnx", str(demo_onnx), "--crop_size", DEMO_CROP,
                     *COMMON)
    assert done.returncode == 0, done.stderr
    assert result_files(out_dir) == result_files(caffe_sweep[0])
    assert results_of(store_rows(out_dir)) == results_of(store_rows(caffe_sweep[0]))
    with Store(out_dir, create=False) as store:
        nets, flags = store.meta("nets"), store.meta("act_max_flags")
    assert len(nets["net_onnx"]) == 64 and "net_weights" not in nets
    assert (nets["crop_size"], nets["net_rgb"], nets["net_std"]) == (56, False, None)
    assert flags[flags.index("--net_onnx") + 1].endswith("demo_classifier.onnx")
    assert flags[flags.index("--crop_size") + 1] == "56"
    rows = store_rows(out_dir)
    refused = reproduce("sweep", str(out_dir), "--net_onnx", str(demo_onnx), "--crop_size", DEMO_CROP,
                        "--net_rgb", *COMMON, "--seeds", "0-2")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert "other nets or net flags (--net_rgb differs)" in refused.stderr
    assert store_rows(out_dir) == rows


def test_a_resume_with_the_other_kind_of_net_is_refused(demo_onnx, caffe_sweep, tmp_path):
    refused = reproduce("sweep", str(caffe_sweep[0]), "--net_onnx", str(demo_onnx),
                        "--crop_size", DEMO_CROP, *COMMON)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    named = refused.stderr.split("(")[1].split(" differ)")[0].split(", ")
    assert {"--net_onnx", "--net_definition", "--net_weights", "--crop_size"} <= set(named)


def test_the_provider_line_comes_once_and_the_bar_says_its_rate(caffe_sweep):
    output = caffe_sweep[1].stdout + caffe_sweep[1].stderr
    assert output.count("step graph on") == 1, output  # two batches, each with its own session
    (last,) = [line for line in output.splitlines() if line.startswith("runs: 8/8 in ")]
    assert "/s" in last


def test_runtime_openvino_sweep_is_recorded_and_a_resume_on_onnxruntime_refused(tmp_path):
    pytest.importorskip("openvino", reason="OpenVINO not installed (requirements-conformance.txt)")
    out_dir = tmp_path / "openvino"
    done = reproduce("sweep", str(out_dir), *CAFFE, *COMMON, "--runtime", "openvino")
    assert done.returncode == 0, done.stderr
    rows = store_rows(out_dir)
    assert len(rows) == 8 and all(row["provider"].startswith("OpenVINO ") for row in rows)
    with Store(out_dir, create=False) as store:
        assert store.meta("nets")["runtime"] == "openvino"
        assert store.meta("act_max_flags")[-4:] == ["--runtime", "openvino", "--threads", "1"]
    refused = reproduce("sweep", str(out_dir), *CAFFE, *COMMON)
    assert refused.returncode == 2 and "(--runtime differs)" in refused.stderr
    assert store_rows(out_dir) == rows
    assert json.loads(rows[0]["acts"])  # every row has its trace
