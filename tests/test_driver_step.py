"""The step graph and loop against the plain-NumPy reference (spec "One run", step 4).

Fidelity is checked iteration by iteration from the same state (relative error ≤ 1e-5 for the
code, the activation and both gradient norms), and whole short runs stay close to the reference.
"""
from __future__ import annotations

import numpy as np
import pytest

from test_driver_numpy_reference import (CODE_SIZE, TinyClassifier, reference_run, tiny_weights,
                                         write_tiny_nets)
from reproduce.run.job import NetFiles, build_step_model, run_samples, unit_index
from reproduce.step.rules import Schedule
from reproduce.run.runner import StepRunner

RTOL = 1e-5
BOUNDS = (np.zeros((1, CODE_SIZE)), np.full((1, CODE_SIZE), 3.0))


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    return write_tiny_nets(tmp_path_factory.mktemp("tiny"))


def files_of(nets) -> NetFiles:
    return NetFiles(str(nets.generator_prototxt), str(nets.generator_caffemodel),
                    str(nets.classifier_prototxt), str(nets.classifier_caffemodel))


def start_code(seed: int) -> np.ndarray:
    return np.random.RandomState(seed).normal(0, 1, (1, CODE_SIZE)).astype(np.float32)


def rel(reference, value) -> float:
    reference = np.asarray(reference, np.float64)
    return float(np.max(np.abs(np.asarray(value, np.float64) - reference)) / np.max(np.abs(reference)))


CASES = [("fc8", 2, 0, "bound", 0.99), ("fc8", 4, 0, "none", 0.99), ("fc8", 0, 0, "clip", 0.5),
         ("conv1", 1, 2, "bound", 0.99), ("conv1", 3, 0, "none", 1.0)]


@pytest.mark.parametrize("act_layer,unit,xy,mode,l2", CASES)
def test_one_iteration_from_the_same_state_matches_numpy(nets, act_layer, unit, xy, mode, l2):
    """From each state of a reference run, one step gives the reference's next state."""
    step_model = build_step_model(files_of(nets), act_layer, 1, mode)
    runner = StepRunner(step_model.model)
    flat = unit_index(step_model.shapes, act_layer, unit, xy)
    schedule = Schedule(6, 8.0, 1e-10, l2)
    bounds = BOUNDS if mode == "bound" else None
    reference = reference_run(nets, start_code(7), act_layer=act_layer, unit=unit, xy=xy, n_iters=6,
                              lr_start=8.0, lr_end=1e-10, l2=l2, bounds=bounds, clip=mode == "clip")
    states = [start_code(7)[0]] + reference.codes[:-1]
    for iteration, state in enumerate(states):
        runner.start(state[None], np.array([flat]), np.zeros((1, 3, 9, 9), np.float32), bounds)
        report = runner.step(schedule.step_size(iteration), schedule.l2_factor, fetch_code=True)
        assert rel(reference.codes[iteration], report.code[0]) <= RTOL
        assert rel([reference.acts[iteration]], report.act) <= RTOL
        assert rel([reference.net_norms[iteration]], report.net_grad_norm) <= RTOL
        assert rel([reference.gen_norms[iteration]], report.gen_grad_norm) <= RTOL


def test_short_run_follows_numpy(nets):
    """A whole 8-iteration run (fresh start code, schedule, bounds, L2) stays with the reference."""
    step_model = build_step_model(files_of(nets), "fc8", 1, "bound")
    result = run_samples(step_model, start_code(0), [2], Schedule(8, 8.0, 1e-10, 0.99),
                         bounds=BOUNDS, record_codes=True)
    reference = reference_run(nets, start_code(0), act_layer="fc8", unit=2, n_iters=8, lr_start=8.0,
                              lr_end=1e-10, l2=0.99, bounds=BOUNDS)
    assert result.iterations[0] == 8
    assert rel(reference.acts, result.acts[0]) <= 1e-4
    assert rel(np.stack(reference.codes), np.stack(result.codes[0])) <= 1e-4
    assert rel(reference.best, result.last_crops) <= 1e-4


def test_batch_equals_each_sample_alone(nets):
    """Per-sample normalisation: a batch of 3 (units × seeds) equals the three runs alone."""
    samples = [(2, 0), (4, 1), (0, 2)]
    batched = run_samples(build_step_model(files_of(nets), "fc8", 3, "bound"),
                          np.concatenate([start_code(s) for _, s in samples]), [u for u, _ in samples],
                          Schedule(6, 8.0, 1e-10, 0.99), bounds=BOUNDS, record_codes=True)
    single_model = build_step_model(files_of(nets), "fc8", 1, "bound")
    for index, (unit, seed) in enumerate(samples):
        alone = run_samples(single_model, start_code(seed), [unit], Schedule(6, 8.0, 1e-10, 0.99),
                            bounds=BOUNDS, record_codes=True)
        assert batched.iterations[index] == alone.iterations[0]
        assert rel(alone.acts[0], batched.acts[index]) <= 1e-5
        assert rel(np.stack(alone.codes[0]), np.stack(batched.codes[index])) <= 1e-5
        assert rel(alone.last_crops[0], batched.last_crops[index]) <= 1e-5


@pytest.fixture(scope="module")
def dead_channel_nets(tmp_path_factory):
    """conv1 channel 3 has zero weights: its gradient is 0, so its run stops after one iteration."""
    from converters.caffe.writer import write_caffemodel
    nets = write_tiny_nets(tmp_path_factory.mktemp("dead"))
    _, weights = tiny_weights(0)
    weights["conv1"][0][3] = 0
    write_caffemodel(nets.classifier_caffemodel, weights,
                     layer_types={"conv1": "Convolution", "fc6": "InnerProduct", "fc8": "InnerProduct"})
    nets.classifier = TinyClassifier(weights)
    return nets


def test_zero_gradient_stops_that_sample_only(dead_channel_nets):
    """Norm 0 → image unchanged, act 0, the code still bounded and decayed; early stop per sample."""
    nets = dead_channel_nets
    step_model = build_step_model(files_of(nets), "conv1", 2, "bound")
    units = [unit_index(step_model.shapes, "conv1", unit, 1) for unit in (3, 1)]
    result = run_samples(step_model, np.concatenate([start_code(0), start_code(0)]), units,
                         Schedule(5, 8.0, 1e-10, 0.99), bounds=BOUNDS, record_codes=True)
    assert list(result.iterations) == [1, 5]
    assert result.acts[0] == [0.0] and result.net_grad_norms[0] == [0.0]
    assert result.gen_grad_norms[0] == [0.0]
    expected = (np.minimum(np.maximum(start_code(0).astype(np.float64), BOUNDS[0]), BOUNDS[1])
                * 0.99).astype(np.float32)
    np.testing.assert_array_equal(result.codes[0][0], expected[0])
    reference = reference_run(nets, start_code(0), act_layer="conv1", unit=3, xy=1, n_iters=5,
                              lr_start=8.0, lr_end=1e-10, l2=0.99, bounds=BOUNDS)
    assert len(reference.acts) == 1
    assert rel(reference.best, result.last_crops[0:1]) <= 1e-5
    alive = reference_run(nets, start_code(0), act_layer="conv1", unit=1, xy=1, n_iters=5,
                          lr_start=8.0, lr_end=1e-10, l2=0.99, bounds=BOUNDS)
    assert rel(np.stack(alive.codes), np.stack(result.codes[1])) <= 1e-4


def test_loop_model_equals_the_driven_loop(nets):
    """The exported ONNX Loop gives the driver's run (per-iteration acts, codes, final image).

    Not bit-identical: ONNX Runtime optimises a Loop body separately from a top-level graph.
    """
    import onnxruntime as ort

    from reproduce.step.loop_export import build_loop_model
    step_model = build_step_model(files_of(nets), "fc8", 2, "bound")
    codes = np.concatenate([start_code(0), start_code(1)])
    driven = run_samples(step_model, codes, [2, 3], Schedule(5, 8.0, 1e-10, 0.99), bounds=BOUNDS,
                         record_codes=True)
    session = ort.InferenceSession(build_loop_model(step_model.model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {
        "code": codes, "unit": np.array([2, 3]), "n_iters": np.array(5), "lr_start": np.array(8.0),
        "lr_end": np.array(1e-10), "L2": np.array(0.99), "lower": BOUNDS[0], "upper": BOUNDS[1]})))
    assert outputs["acts"].shape == (5, 2)
    for sample in range(2):
        assert rel(driven.acts[sample], outputs["acts"][:, sample]) <= 1e-5
        assert rel(np.stack(driven.codes[sample]), outputs["codes"][:, sample]) <= 1e-5
    assert rel(driven.last_crops, outputs["final_image"]) <= 1e-5


def test_nan_gradient_skips_the_update_and_reports_act_0_norm_1e_12(tmp_path):
    """‖g‖ NaN → image unchanged, act recorded as 0, norm 1e-12; then h = 0 stops the run."""
    from converters.caffe.writer import write_caffemodel
    nets = write_tiny_nets(tmp_path)
    _, weights = tiny_weights(0)
    weights["conv1"][0][3] = np.nan
    write_caffemodel(nets.classifier_caffemodel, weights,
                     layer_types={"conv1": "Convolution", "fc6": "InnerProduct", "fc8": "InnerProduct"})
    nets.classifier = TinyClassifier(weights)
    step_model = build_step_model(files_of(nets), "conv1", 1, "bound")
    result = run_samples(step_model, start_code(0), [unit_index(step_model.shapes, "conv1", 3, 1)],
                         Schedule(5, 8.0, 1e-10, 0.99), bounds=BOUNDS, record_codes=True)
    reference = reference_run(nets, start_code(0), act_layer="conv1", unit=3, xy=1, n_iters=5,
                              lr_start=8.0, lr_end=1e-10, l2=0.99, bounds=BOUNDS)
    assert reference.net_norms == [1e-12] and reference.gen_norms == [0.0]
    assert list(result.iterations) == [1] and result.acts[0] == [0.0]
    assert result.net_grad_norms[0] == [float(np.float32(1e-12))] and result.gen_grad_norms[0] == [0.0]
    np.testing.assert_array_equal(result.codes[0][0], reference.codes[0])
