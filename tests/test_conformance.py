"""The exports on OpenVINO, tract and onnx's ReferenceEvaluator, the export choices that make
them run, the flip diagnosis, the Loop-vs-step difference inside ONNX Runtime, and the
`conformance` command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from reproduce.conformance.cases import Case
from reproduce.conformance.compare import RTOL, ModelUnderTest, check
from reproduce.conformance.diagnose import diagnose
from reproduce.conformance.run import export_models
from reproduce.conformance.runtimes import RUNTIMES
from reproduce.conformance.run import _samples
from reproduce.conformance.states import State, quantities, reference_states, step_case
from reproduce.step.rules import Schedule
from reproduce.step.weight_copies import merge_weight_copies, separate_transposed_weights
from support.conformance import available_runtime, by_model, demo_setup, results_for
from support.paths import REPO_ROOT


@pytest.fixture(scope="module")
def python_results():
    names = tuple(name for name in ("openvino", "tract") if RUNTIMES[name]().unavailable() is None)
    return results_for(("onnxruntime",) + names)


@pytest.fixture(scope="module")
def demo_models(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo_models")
    return {batch: export_models(demo_setup(), batch, directory / f"batch{batch}") for batch in (1, 2, 4)}


# --- the runtimes on the exports -----------------------------------------------------------

def test_openvino_runs_step_graph_and_loop_within_tolerance(python_results):
    results = by_model(python_results, available_runtime("openvino"))
    assert len(results) == 4
    for model, result in results.items():
        assert result.status == "agrees", (model, result.status, result.detail)
        assert max(result.errors.values()) <= RTOL


def test_tract_runs_the_step_graph_and_reports_it_has_no_loop(python_results):
    results = by_model(python_results, available_runtime("tract"))
    for batch in (1, 4):
        assert results[f"step graph, batch {batch}"].status == "agrees"
        loop = results[f"Loop, batch {batch}"]
        assert loop.status == "unsupported" and "Loop" in loop.detail


def test_loop_model_on_onnxruntime_is_within_rounding_of_the_step_graph(python_results):
    results = by_model(python_results, RUNTIMES["onnxruntime"]())
    for batch in (1, 4):
        assert results[f"step graph, batch {batch}"].errors == {"code": 0.0, "act": 0.0, "image": 0.0}
        assert results[f"Loop, batch {batch}"].status == "agrees"


# --- export choices -------------------------------------------------------------------------

def _gemm_pair(rows: int, cols: int) -> onnx.ModelProto:
    """y = x·Wᵀ and h = g·W on one initializer W (a forward op and its input-gradient op)."""
    weight = np.random.default_rng(0).standard_normal((rows, cols)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["y"], transB=1),
         helper.make_node("Gemm", ["g", "W"], ["h"], transB=0)], "pair",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cols]),
         helper.make_tensor_value_info("g", TensorProto.FLOAT, [1, rows])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, rows]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, cols])],
        initializer=[numpy_helper.from_array(weight, "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _ort(model: onnx.ModelProto, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_square_weight_read_transposed_gets_its_own_copy_and_same_results():
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal((1, 32)).astype(np.float32),
             "g": rng.standard_normal((1, 32)).astype(np.float32)}
    model = _gemm_pair(32, 32)
    before = _ort(model, feeds)
    assert separate_transposed_weights(model) == 1
    onnx.checker.check_model(model)
    assert [node.input[1] for node in model.graph.node] == ["W", "W/Gemm_transB0"]
    after = _ort(model, feeds)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    rectangular = _gemm_pair(32, 16)
    assert separate_transposed_weights(rectangular) == 0


def _conv_pair(channels: int, group: int) -> onnx.ModelProto:
    """y = Conv(x, W) and h = ConvTranspose(g, W) on one initializer (channels → channels)."""
    weight = np.random.default_rng(0).standard_normal((channels, channels // group, 3, 3)).astype(np.float32)
    shape = [1, channels, 8, 8]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "W"], ["y"], pads=[1, 1, 1, 1], group=group),
         helper.make_node("ConvTranspose", ["g", "W"], ["h"], pads=[1, 1, 1, 1], group=group)], "pair",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in ("x", "g")],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in ("y", "h")],
        initializer=[numpy_helper.from_array(weight, "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("model, shape", [(_gemm_pair(32, 32), (1, 32)),
                                          (_conv_pair(32, 1), (1, 32, 8, 8)),
                                          (_conv_pair(32, 2), (1, 32, 8, 8))],
                         ids=["gemm", "conv", "grouped conv"])
def test_copied_weights_make_openvino_agree_on_the_two_node_models(model, shape, tmp_path):
    runtime = available_runtime("openvino")
    rng = np.random.default_rng(2)
    case = Case("pair", {name: rng.standard_normal(shape).astype(np.float32) for name in ("x", "g")},
                ("y", "h"))
    assert separate_transposed_weights(model) == 1
    onnx.save(model, tmp_path / "pair.onnx")
    expected = _ort(model, dict(case.feeds))
    got = runtime.run(tmp_path / "pair.onnx", [case], tmp_path)[0]
    for name, value in zip(("y", "h"), expected):
        assert np.max(np.abs(got[name] - value)) <= RTOL * np.max(np.abs(value))


def test_loop_body_defines_no_name_of_the_outer_graph(demo_models):
    for batch in (1, 4):
        loop = onnx.load(str(demo_models[batch][1].path))
        onnx.checker.check_model(loop, full_check=True)
        outer = ({value.name for value in loop.graph.input} | {t.name for t in loop.graph.initializer}
                 | {name for node in loop.graph.node for name in node.output})
        body = next(node for node in loop.graph.node if node.op_type == "Loop").attribute[0].g
        defined = {value.name for value in body.input} | {name for node in body.node for name in node.output}
        assert not defined & outer


def test_reference_evaluator_gets_the_loops_scan_outputs_right(demo_models):
    from onnx.reference import ReferenceEvaluator
    setup, (step, loop, image_shape) = demo_setup(), demo_models[2]
    samples = _samples(setup, 2, image_shape)
    feeds = {"code": samples.start_codes, "unit": samples.units, "n_iters": np.array(2, np.int64),
             "lr_start": np.array(8.0), "lr_end": np.array(1e-10), "L2": np.array(0.99),
             "lower": samples.bounds[0], "upper": samples.bounds[1]}
    names = ["codes", "acts", "actives", "final_code"]
    session = ort.InferenceSession(str(loop.path), providers=["CPUExecutionProvider"])
    expected = dict(zip(names, session.run(names, feeds)))
    got = dict(zip(names, ReferenceEvaluator(str(loop.path)).run(names, feeds)))
    for name in names:
        assert got[name].shape == expected[name].shape, name
    assert expected["codes"].shape == (2, 2, samples.start_codes.shape[1])
    np.testing.assert_array_equal(got["codes"][-1], got["final_code"])


def test_reference_evaluator_difference_is_traced_to_its_lrn(demo_models, tmp_path):
    runtime, reference_runtime = RUNTIMES["reference"](), RUNTIMES["onnxruntime"]()
    setup, (step, _, image_shape) = demo_setup(), demo_models[1]
    samples = _samples(setup, 1, image_shape)
    state = reference_states(step.path.read_bytes(), samples, setup.schedule, [0])[0]
    case = step_case(samples, state, setup.schedule)
    expected = [quantities("step", reference_runtime.run(step.path, [case], tmp_path)[0], 1)]
    result = check(runtime, reference_runtime, step, [case], [case], expected, tmp_path)
    assert result.status == "runtime bug", (result.status, result.detail)
    assert "LRN" in result.detail


# --- the flip diagnosis ---------------------------------------------------------------------

def test_a_decision_that_lands_on_the_other_side_is_reported_as_a_flip(tmp_path):
    """s = x·W (512-term sums: ONNX Runtime and NumPy round differently); the threshold t sits
    exactly at the smaller of the two runtimes' values of one element, so `s > t` flips there and
    only there, and y = where(s > t, 1000, 0) differs by 1000."""
    reference_runtime, other = RUNTIMES["onnxruntime"](), RUNTIMES["reference"]()
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((512, 64)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["s"]), helper.make_node("Greater", ["s", "t"], ["mask"]),
         helper.make_node("Where", ["mask", "big", "zero"], ["y"])], "flip",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512]),
         helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        initializer=[numpy_helper.from_array(weight, "W"), numpy_helper.from_array(np.float32(1000), "big"),
                     numpy_helper.from_array(np.float32(0), "zero")])
    path = tmp_path / "flip.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    probe_model = onnx.load(str(path))
    probe_model.graph.output.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 64]))
    onnx.save(probe_model, tmp_path / "probe.onnx")
    for attempt in range(50):
        x = rng.standard_normal((1, 512)).astype(np.float32)
        case = Case("sums", {"x": x, "t": np.zeros((1, 64), np.float32)}, ("s",))
        s_a = reference_runtime.run(tmp_path / "probe.onnx", [case], tmp_path)[0]["s"]
        s_b = other.run(tmp_path / "probe.onnx", [case], tmp_path)[0]["s"]
        differing = np.flatnonzero(s_a != s_b)
        if differing.size:
            break
    else:
        pytest.skip("the two runtimes' sums agree bit for bit on every draw")
    element = differing[0]
    threshold = np.minimum(s_a, s_b) - 10.0  # every other element clearly above: mask True
    threshold.reshape(-1)[element] = min(s_a.reshape(-1)[element], s_b.reshape(-1)[element])
    case = Case("flip", {"x": x, "t": threshold.astype(np.float32)}, ("y",))
    origins = diagnose(path, case, lambda p, c: reference_runtime.run(p, [c], tmp_path)[0],
                       lambda p, c: other.run(p, [c], tmp_path)[0], tmp_path, RTOL)
    assert len(origins) == 1 and origins[0].op_type == "Greater" and origins[0].is_decision
    assert origins[0].mismatched == 1 and origins[0].margin <= 1e-6
    assert "flip" in origins[0].describe()


# --- the Loop-vs-step difference inside ONNX Runtime ----------------------------------------

def _session(path: Path, level) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = level
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_loop_equals_the_step_graph_bit_for_bit_without_layout_optimisation(demo_models):
    """ORT's layout optimiser (NCHWc Conv kernels, ORT_ENABLE_ALL) rewrites the main graph but
    not a Loop body: with it off in both, 20 iterations of the Loop model and of the step graph
    driven from Python give identical bits, at batch 4 too (with it on they differ by rounding,
    which the chaotic loop amplifies)."""
    setup, (step, loop, image_shape) = demo_setup(), demo_models[4]
    samples = _samples(setup, 4, image_shape)
    level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    n_iters = 20
    step_session = _session(step.path, level)
    code, best = samples.start_codes, np.zeros((4, *image_shape), np.float32)
    codes = []
    schedule = Schedule.from_flags(n_iters, 8.0, 1e-10, 0.99)
    for iteration in range(n_iters):
        state = State(iteration, schedule.step_size(iteration), code, best)
        code, best = step_session.run(["new_code", "image"], dict(step_case(samples, state, schedule).feeds))
        codes.append(code)
    loop_feeds = {"code": samples.start_codes, "unit": samples.units, "n_iters": np.array(n_iters, np.int64),
                  "lr_start": np.array(8.0), "lr_end": np.array(1e-10), "L2": np.array(0.99),
                  "lower": samples.bounds[0], "upper": samples.bounds[1]}
    loop_codes = _session(loop.path, level).run(["codes"], loop_feeds)[0]
    np.testing.assert_array_equal(loop_codes, np.stack(codes))


# --- the command ----------------------------------------------------------------------------

def conformance(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reproduce", "conformance", *flags], cwd=REPO_ROOT,
                          capture_output=True, text=True)


def test_command_prints_and_writes_the_table(tmp_path):
    table = tmp_path / "table.md"
    done = conformance("--demo", "--batch_sizes", "1", "--runtimes", "onnxruntime", "tract",
                       "--iterations", "0", "--table", str(table))
    assert done.returncode == 0, done.stderr
    text = table.read_text()
    assert text in done.stdout
    assert "| onnxruntime (Python)" in text and "step graph, batch 1" in text and "Loop, batch 1" in text
    assert "tract" in text


@pytest.mark.parametrize("flags, names", [
    (("--demo", "--iterations", "200"), "--iterations"),
    (("--demo", "--batch_sizes", "0"), "--batch_sizes"),
    (("--demo", "--runtimes", "nosuch"), "--runtimes"),
    (("--generator_definition", "models/demo/generator.prototxt", "--generator_weights",
      "models/demo/generator.caffemodel", "--net_definition", "models/demo/classifier.prototxt",
      "--net_weights", "missing.caffemodel", "--unit", "1"), "--net_weights")])
def test_bad_input_is_one_line_and_status_2(flags, names):
    done = conformance(*flags)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and names in done.stderr


# --- act_max --runtime openvino -------------------------------------------------------------

def test_openvino_runner_first_iteration_agrees_with_onnxruntime(demo_models):
    available_runtime("openvino")
    from reproduce.run.loop import run_loop
    from reproduce.run.openvino_runner import OpenVinoStepRunner
    from reproduce.run.runner import StepRunner
    setup, (step, _, image_shape) = demo_setup(), demo_models[4]
    samples = _samples(setup, 4, image_shape)
    schedule = Schedule.from_flags(3, 8.0, 1e-10, 0.99)
    model = step.path.read_bytes()
    runs = [run_loop(runner, samples.start_codes, samples.units, schedule, image_shape,
                     bounds=samples.bounds, record_codes=True)
            for runner in (StepRunner(model, threads=1), OpenVinoStepRunner(model, threads=1))]
    expected, got = runs
    for sample in range(4):
        assert expected.iterations[sample] == got.iterations[sample] == 3
        first = expected.codes[sample][0]
        assert np.max(np.abs(got.codes[sample][0] - first)) <= RTOL * np.max(np.abs(first))
        assert abs(got.acts[sample][0] - expected.acts[sample][0]) <= RTOL * abs(expected.acts[sample][0])


def test_act_max_runtime_openvino_writes_the_release_named_image(tmp_path):
    available_runtime("openvino")
    demo = REPO_ROOT / "models" / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "reproduce", "act_max", "--runtime", "openvino", "--unit", "3",
         "--n_iters", "3", "--L2", "0.99", "--start_lr", "8.0", "--end_lr", "1e-10",
         "--bound", str(demo / "fc6_3x.txt"), "--net_definition", str(demo / "classifier.prototxt"),
         "--net_weights", str(demo / "classifier.caffemodel"),
         "--generator_definition", str(demo / "generator.prototxt"),
         "--generator_weights", str(demo / "generator.caffemodel"), "--output_dir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fc8_0003_03_0.99_8.0__0.jpg").is_file()
    assert (tmp_path / "fc8_0003_03_0.99_8.0__0.png").is_file()


def test_merging_the_copies_back_restores_one_initializer_per_weight_and_the_same_bits():
    rng = np.random.default_rng(4)
    feeds = {"x": rng.standard_normal((1, 32)).astype(np.float32),
             "g": rng.standard_normal((1, 32)).astype(np.float32)}
    original = _gemm_pair(32, 32)
    copied = _gemm_pair(32, 32)
    separate_transposed_weights(copied)
    merged = merge_weight_copies(copied)
    assert [t.name for t in merged.graph.initializer] == ["W"]
    assert [node.input[1] for node in merged.graph.node] == ["W", "W"]
    assert all(np.array_equal(a, b) for a, b in zip(_ort(original, feeds), _ort(merged, feeds)))
