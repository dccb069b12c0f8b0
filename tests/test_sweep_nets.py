"""`sweep` takes every net flag act_max takes: `--net_onnx` with the adapter flags (the demo
classifier exported to ONNX gives the Caffe path's bytes), `--runtime openvino`; the store
records them and a resumed sweep with other net flags is refused with one line; the provider
line comes once per sweep and the progress says its rate. About 15 s on 2 cores."""
from __future__ import annotations

import argparse
import dataclasses
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


def test_a_caffe_sweeps_identity_is_what_stores_before_net_onnx_recorded():
    """Stores written before --net_onnx/--runtime hold exactly these keys: they still resume."""
    from reproduce.cli.net_flags import net_files_from
    from reproduce.cli.sweep import add_sweep_arguments
    from reproduce.sweep.setup import RunSetup, nets_identity
    parser = argparse.ArgumentParser()
    add_sweep_arguments(parser)
    setup = RunSetup(net_files_from(parser.parse_args(["OUT", *CAFFE, *GENERATOR])))
    assert set(nets_identity(setup)) == {"generator_definition", "generator_weights",
                                         "net_definition", "net_weights", "gen_in", "gen_out"}


@pytest.mark.parametrize("adapter", [
    ["--net_preset", "torchvision"],
    ["--net_preset", "tf", "--net_input_size", "64", "80", "--crop_size", "56"],
    ["--net_rgb", "--net_mean", "1.5", "2", "3", "--net_input", "image"],
], ids=["torchvision", "tf-resized", "explicit"])
def test_act_max_flags_of_a_setup_give_act_max_the_same_nets(adapter, demo_onnx):
    """The unit pages' command lines (reproduce.sweep.setup.act_max_flags), read by act_max's
    own parser, describe the same nets, adapter and runtime as the sweep's flags."""
    from reproduce.cli.act_max import add_act_max_arguments, job_from
    from reproduce.cli.sweep import add_sweep_arguments, setup_from
    from reproduce.sweep.setup import act_max_flags
    sweep_parser = argparse.ArgumentParser()
    add_sweep_arguments(sweep_parser)
    setup, _ = setup_from(sweep_parser.parse_args(["OUT", "--net_onnx", str(demo_onnx), *adapter,
                                                   *GENERATOR, "--threads", "1"]))
    act_max_parser = argparse.ArgumentParser()
    add_act_max_arguments(act_max_parser)
    job = job_from(act_max_parser.parse_args(["--unit", "0", *act_max_flags(setup)]))
    assert (resolved(job.nets), job.runtime, job.threads) == (resolved(setup.nets), setup.runtime,
                                                              setup.threads)


def resolved(nets):
    """The nets with absolute paths (command lines show them relative to the current folder)."""
    paths = {role: str(Path(getattr(nets, role)).resolve()) for role in
             ("generator_definition", "generator_weights", "net_definition", "net_weights")}
    onnx_net = dataclasses.replace(nets.net_onnx, path=str(Path(nets.net_onnx.path).resolve()))
    return dataclasses.replace(nets, **paths, net_onnx=onnx_net)
