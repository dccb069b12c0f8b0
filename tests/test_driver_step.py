"""The step graph and loop against the plain-NumPy reference (spec "One run", step 4).

Fidelity is checked iteration by iteration from the same state: the code (elementwise), the
activation and both gradient norms agree within λ·√2·σ, σ each value's float32 error scale
computed from the test's own tensors (tests/support/float32_error.py; the analysis, the measured
errors and why a fixed relative bound fails across CPUs: tests/TOLERANCES.md). Whole runs are
compared the same way, each iteration against the reference step from the run's own previous
code (short runs are chaotic: a 1e-7 difference at iteration 1 may grow to any size later).
"""
from __future__ import annotations

import numpy as np
import pytest

from reproduce.run.job import NetFiles, build_step_model, run_samples, unit_index
from reproduce.step.rules import Schedule
from reproduce.run.runner import StepRunner
from support.tiny_nets import (CODE_SIZE, TinyClassifier, assert_close, assert_run_follows_reference,
                              assert_step_matches, reference_run, reference_step, tiny_weights,
                              write_tiny_nets)

BOUNDS = (np.zeros((1, CODE_SIZE)), np.full((1, CODE_SIZE), 3.0))


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    return write_tiny_nets(tmp_path_factory.mktemp("tiny"))


def files_of(nets) -> NetFiles:
    return NetFiles(str(nets.generator_prototxt), str(nets.generator_caffemodel),
                    str(nets.classifier_prototxt), str(nets.classifier_caffemodel))


def start_code(seed: int) -> np.ndarray:
    return np.random.RandomState(seed).normal(0, 1, (1, CODE_SIZE)).astype(np.float32)


CASES = [("fc8", 2, 0, "bound", 0.99), ("fc8", 4, 0, "none", 0.99), ("fc8", 0, 0, "clip", 0.5),
         ("conv1", 1, 2, "bound", 0.99), ("conv1", 3, 0, "none", 1.0)]


@pytest.mark.parametrize("act_layer,unit,xy,mode,l2", CASES)
def test_one_iteration_from_the_same_state_matches_numpy(nets, ort_threads, act_layer, unit, xy, mode, l2):
    """From each state of a reference run, one step gives the reference's next state."""
    step_model = build_step_model(files_of(nets), act_layer, 1, mode)
    runner = StepRunner(step_model.model, threads=ort_threads)
    flat = unit_index(step_model.shapes, act_layer, unit, xy)
    schedule = Schedule(6, 8.0, 1e-10, l2)
    bounds = BOUNDS if mode == "bound" else None
    reference = reference_run(nets, start_code(7), act_layer=act_layer, unit=unit, xy=xy, n_iters=6,
                              lr_start=8.0, lr_end=1e-10, l2=l2, bounds=bounds, clip=mode == "clip")
    states = [start_code(7)[0]] + reference.codes[:-1]
    for iteration, state in enumerate(states):
        expected = reference_step(nets, state, act_layer=act_layer, unit=unit, xy=xy,
                                  step=schedule.step_size(iteration), l2=schedule.l2_factor,
                                  bounds=bounds, clip=mode == "clip")
        runner.start(state[None], np.array([flat]), np.zeros((1, 3, 9, 9), np.float32), bounds)
        report = runner.step(schedule.step_size(iteration), schedule.l2_factor, fetch_code=True)
        assert_step_matches(f"iteration {iteration}", expected, report.code[0], report.act[0],
                            report.net_grad_norm[0], report.gen_grad_norm[0])


def test_short_run_follows_numpy(nets, ort_threads):
    """A whole 8-iteration run (fresh start code, schedule, bounds, L2) follows the reference."""
    step_model = build_step_model(files_of(nets), "fc8", 1, "bound")
    schedule = Schedule(8, 8.0, 1e-10, 0.99)
    result = run_samples(step_model, start_code(0), [2], schedule, bounds=BOUNDS, record_codes=True,
                         threads=ort_threads)
    assert result.iterations[0] == 8
    assert_run_follows_reference(nets, start_code(0), result.codes[0], result.acts[0], result.net_grad_norms[0],
                                 result.gen_grad_norms[0], result.last_crops, schedule, act_layer="fc8",
                                 unit=2, xy=0, bounds=BOUNDS)


def test_batch_equals_each_sample_alone(nets, ort_threads):
    """Per-sample normalisation: one step of a batch of 3 (units × seeds) from given states equals
    each sample's step alone from the same state; the batched run stops when each lone run does."""
    samples = [(2, 0), (4, 1), (0, 2)]
    schedule = Schedule(6, 8.0, 1e-10, 0.99)
    batch_model = build_step_model(files_of(nets), "fc8", 3, "bound")
    batched = run_samples(batch_model, np.concatenate([start_code(s) for _, s in samples]),
                          [u for u, _ in samples], schedule, bounds=BOUNDS, record_codes=True,
                          threads=ort_threads)
    single_model = build_step_model(files_of(nets), "fc8", 1, "bound")
    batch_runner = StepRunner(batch_model.model, threads=ort_threads)
    alone_runner = StepRunner(single_model.model, threads=ort_threads)
    for iteration in range(6):
        states = np.stack([batched.codes[index][iteration - 1] if iteration else start_code(seed)[0]
                           for index, (_, seed) in enumerate(samples)])
        batch_runner.start(states, np.array([u for u, _ in samples]), np.zeros((3, 3, 9, 9), np.float32),
                           BOUNDS)
        together = batch_runner.step(schedule.step_size(iteration), schedule.l2_factor, fetch_code=True)
        for index, (unit, seed) in enumerate(samples):
            alone_runner.start(states[index:index + 1], np.array([unit]), np.zeros((1, 3, 9, 9), np.float32),
                               BOUNDS)
            alone = alone_runner.step(schedule.step_size(iteration), schedule.l2_factor, fetch_code=True)
            expected = reference_step(nets, states[index], act_layer="fc8", unit=unit, xy=0,
                                      step=schedule.step_size(iteration), l2=schedule.l2_factor, bounds=BOUNDS)
            # both against each other, with the reference's error scales (TOLERANCES.md, "Batch")
            assert_close(f"sample {index} code", alone.code[0], together.code[index], expected.code_error)
            assert_close(f"sample {index} act", alone.act[0], together.act[index], expected.act_error)
    for index, (unit, seed) in enumerate(samples):
        alone_run = run_samples(single_model, start_code(seed), [unit], schedule, bounds=BOUNDS,
                                threads=ort_threads)
        assert batched.iterations[index] == alone_run.iterations[0]


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
    first = reference_step(nets, start_code(0), act_layer="conv1", unit=3, xy=1, step=8.0, l2=0.99,
                           bounds=BOUNDS)
    assert_close("returned image", first.crop, result.last_crops[0:1], first.crop_error)
    assert_run_follows_reference(nets, start_code(0), result.codes[1], result.acts[1], result.net_grad_norms[1],
                                 result.gen_grad_norms[1], result.last_crops[1:2], Schedule(5, 8.0, 1e-10, 0.99),
                                 act_layer="conv1", unit=1, xy=1, bounds=BOUNDS)


def test_loop_model_equals_the_driven_loop(nets, ort_threads):
    """The exported ONNX Loop gives the driver's run (per-iteration acts, codes, final image).

    Not bit-identical: ONNX Runtime optimises a Loop body separately from a top-level graph, so
    both runs are checked iteration by iteration against the reference step from their own
    previous code (TOLERANCES.md, "Whole runs").
    """
    import onnxruntime as ort

    from reproduce.run.runner import session_options
    from reproduce.step.loop_export import build_loop_model
    step_model = build_step_model(files_of(nets), "fc8", 2, "bound")
    codes = np.concatenate([start_code(0), start_code(1)])
    schedule = Schedule(5, 8.0, 1e-10, 0.99)
    driven = run_samples(step_model, codes, [2, 3], schedule, bounds=BOUNDS, record_codes=True,
                         threads=ort_threads)
    session = ort.InferenceSession(build_loop_model(step_model.model).SerializeToString(),
                                   session_options(ort_threads), providers=["CPUExecutionProvider"])
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {
        "code": codes, "unit": np.array([2, 3]), "n_iters": np.array(5), "lr_start": np.array(8.0),
        "lr_end": np.array(1e-10), "L2": np.array(0.99), "lower": BOUNDS[0], "upper": BOUNDS[1]})))
    assert outputs["acts"].shape == (5, 2)
    for sample, unit in enumerate((2, 3)):
        flags = dict(act_layer="fc8", unit=unit, xy=0, bounds=BOUNDS)
        assert_run_follows_reference(nets, codes[sample], driven.codes[sample], driven.acts[sample],
                                     driven.net_grad_norms[sample], driven.gen_grad_norms[sample],
                                     driven.last_crops[sample:sample + 1], schedule, **flags)
        assert_run_follows_reference(nets, codes[sample], outputs["codes"][:, sample], outputs["acts"][:, sample],
                                     None, None, outputs["final_image"][sample:sample + 1], schedule, **flags)


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
