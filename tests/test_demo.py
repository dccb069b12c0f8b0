"""The project's own DGN pair (models/demo/) end to end, without torch.

The shipped Caffe files go through the same path as the official ones: Caffe -> ONNX
converter -> VJP graphs -> step graph -> the published loop. Checked: the dataset is
deterministic, the classifier's accuracy on freshly drawn held-out images, the 3x bound is
mean + 3 std of fc6 over the training images, and DGN-AM's class hit rate (how many of the
synthesised images the classifier assigns to the class they were made for).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from models.demo import architecture as arch
from models.demo.dataset import CLASS_NAMES, make_dataset, make_image, to_net_input
from support.paths import REPO_ROOT

DEMO = REPO_ROOT / "models" / "demo"
SETTINGS = DEMO / "demo.json"
HELD_OUT_SEED = 7  # training used seed 0, validation seed 1
needs_demo = pytest.mark.skipif(not SETTINGS.is_file(),
                                reason="models/demo/demo.json absent: demo pair not exported "
                                       "(python -m models.demo.train_demo)")


@pytest.fixture(scope="module")
def settings() -> dict:
    return json.loads(SETTINGS.read_text())


@pytest.fixture(scope="module")
def classifier(settings):
    """ONNX Runtime session of the shipped classifier (dynamic batch), outputs fc6, fc8."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (requirements.txt)")
    from converters import caffe_to_onnx
    model = caffe_to_onnx(DEMO / settings["net_definition"], DEMO / settings["net_weights"],
                          outputs=("fc6", "fc8"), batch="dynamic")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda data: dict(zip(("fc6", "fc8"), session.run(["fc6", "fc8"], {"data": data})))


def test_dataset_is_deterministic_per_image():
    first, labels = make_dataset(36, seed=3)
    again, labels_again = make_dataset(36, seed=3)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(labels, labels_again)
    image, label = make_image(3, 29)
    np.testing.assert_array_equal(image, first[29])
    assert label == labels[29] == 29 % len(CLASS_NAMES)
    other, _ = make_dataset(36, seed=4)
    assert not np.array_equal(first, other)


def test_dataset_has_ten_or_more_varied_classes():
    images, labels = make_dataset(4 * len(CLASS_NAMES), seed=5)
    assert len(CLASS_NAMES) >= 10 and images.shape[1:] == (64, 64, 3)
    assert sorted(set(labels.tolist())) == list(range(len(CLASS_NAMES)))
    for label in range(len(CLASS_NAMES)):
        same = images[labels == label].astype(np.float32)
        assert np.abs(same[0] - same[1]).mean() > 10  # instances differ (colour, place, ...)


@needs_demo
def test_shipped_files_follow_the_contract(settings):
    for key in ("net_definition", "net_weights", "generator_definition", "generator_weights",
                "bound", "labels"):
        assert (DEMO / settings[key]).is_file(), key
    assert settings["act_layer"] == "fc8" and settings["opt_layer"] == "fc6"
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total <= 20 * 2 ** 20
    labels = (DEMO / settings["labels"]).read_text().splitlines()
    assert labels == list(CLASS_NAMES)
    bound = np.loadtxt(DEMO / settings["bound"], ndmin=2)
    assert bound.shape == (1, arch.FC6_SIZE) and (bound >= 0).all()
    assert (bound > 0).mean() > 0.25  # units never active over the dataset get bound 0


@needs_demo
def test_classifier_is_95_percent_accurate_on_fresh_held_out_images(classifier):
    images, labels = make_dataset(50 * len(CLASS_NAMES), seed=HELD_OUT_SEED)
    data = to_net_input(images, arch.CLASSIFIER_INPUT, arch.PIXEL_MEAN)
    predicted = np.concatenate([classifier(chunk)["fc8"].argmax(1)
                                for chunk in np.array_split(data, 6)])
    assert (predicted == labels).mean() >= 0.95


@needs_demo
def test_bound_is_mean_plus_three_std_of_fc6_over_training_images(settings, classifier):
    """A 1/8 subsample of the training images gives nearly the shipped per-unit bound."""
    images, _ = make_dataset(100 * len(CLASS_NAMES), seed=0)
    data = to_net_input(images, arch.CLASSIFIER_INPUT, arch.PIXEL_MEAN)
    codes = np.concatenate([classifier(chunk)["fc6"] for chunk in np.array_split(data, 6)])
    estimate = codes.mean(0) + 3 * codes.std(0)
    shipped = np.loadtxt(DEMO / settings["bound"])
    active = shipped > 0
    np.testing.assert_array_equal(estimate[~active], 0)  # never active: bound 0
    relative = np.abs(estimate[active] - shipped[active]) / shipped[active]
    assert np.median(relative) < 0.05


@needs_demo
def test_dgn_am_synthesises_each_class(settings, classifier):
    """The published loop with demo.json's settings: >= 90% of the units' images are
    classified as their unit's class."""
    from reproduce.inputs.bounds import load_bounds
    from reproduce.run.job import NetFiles, build_step_model, run_samples
    from reproduce.step.rules import Schedule
    from reproduce.inputs.start_code import as_stored_code, random_start_code

    units = settings["units"]
    files = NetFiles(*(str(DEMO / settings[key]) for key in (
        "generator_definition", "generator_weights", "net_definition", "net_weights")))
    step_model = build_step_model(files, settings["act_layer"], len(units), "bound")
    code_size = step_model.shapes.code_size
    start = as_stored_code(random_start_code(settings["seed"], code_size))
    schedule = Schedule(settings["n_iters"], settings["start_lr"], settings["end_lr"],
                        settings["L2"])
    result = run_samples(step_model, np.repeat(start, len(units), 0), units, schedule,
                         bounds=load_bounds(DEMO / settings["bound"], code_size), threads=2)
    predicted = classifier(result.last_crops)["fc8"].argmax(1)
    hits = int((predicted == np.asarray(units)).sum())
    assert hits >= 0.9 * len(units), f"hit rate {hits}/{len(units)}: {predicted.tolist()}"
