"""The converter, the VJP graphs and the DGN-AM step reproduce real Caffe's numbers.

tests/fixtures/caffe_*.npz hold what BVLC Caffe (pycaffe, CPU; tools/make_fixtures.py)
computed for the project-written nets with seeded synthetic weights. Here the same weights
are regenerated from the seeds (tools/synthetic_weights.py), written by the project's
writer, converted with caffe_to_onnx and run on ONNX Runtime. Every comparison is the
infinity-norm relative error max|ours − Caffe| / max|Caffe| ≤ 1e-4:

- every blob after a full forward (sampled), and chosen blobs after forward(end=LAYER);
- input gradients of one-hot units (build_vjp), and the generator's code gradient;
- single DGN-AM iterations (reproduce.step.graph) started from Caffe's stored codes.

Gradients: ReLU inputs within 1e-4 * max of 0 and max-pool windows whose two largest
inputs are that close have no well-defined derivative (float32 rounding decides the side,
and one such unit moves a GoogLeNet input gradient by ~1e-3). The fixture lists those units
per record with Caffe's values; both Caffe (tools/reference_caffe/kinks.py) and the graphs
here (tools/reference_caffe/onnx_holds.py) hold them at that value (y * 0 + held), so no
gradient flows through them on either side.
"""
from __future__ import annotations

import functools
import json
import logging
import shutil

import numpy as np
import pytest

from common.numerics import relative_error
from support.paths import REPO_ROOT
from tools import synthetic_weights as sw
from tools.reference_caffe import fixture_format as ff
from tools.reference_caffe.onnx_holds import (HELD, MASK, kink_feeds, kink_layers,
                                              with_kink_holds)

onnx = pytest.importorskip("onnx", reason="onnx not installed (requirements.txt; ./run_tests.sh installs it)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (requirements.txt; ./run_tests.sh installs it)")

FIXTURES = REPO_ROOT / "tests" / "fixtures"
TOLERANCE = 1e-4
log = logging.getLogger(__name__)


def fixture(name: str) -> dict[str, np.ndarray]:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {path} absent (tools/make_fixtures.py writes it)")
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def keys(data: dict[str, np.ndarray], kind: str) -> list[list[str]]:
    return [ff.split_key(k)[1:] for k in data if ff.split_key(k)[0] == kind]


def net_fixture_params(kind: str) -> list:
    """(net key, key parts) for every record of `kind` in the stored fixtures."""
    params = []
    for net_key in sw.NETS:
        path = FIXTURES / f"caffe_{net_key}.npz"
        if path.is_file():
            with np.load(path) as data:
                params += [pytest.param(net_key, parts, id=f"{net_key}:{'|'.join(parts)}")
                           for parts in keys(dict.fromkeys(data.files), kind)]
    return params or [pytest.param(None, None, marks=pytest.mark.skip("no tests/fixtures/caffe_*.npz (tools/make_fixtures.py writes them with pycaffe)"))]


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """Synthetic caffemodels (about 750 MB), removed when the module is done."""
    folder = tmp_path_factory.mktemp("synthetic_caffemodels")
    yield folder
    for cache in (vjp, converted, _caffemodel):
        cache.cache_clear()
    shutil.rmtree(folder, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def _caffemodel(net_key: str, folder: str) -> str:
    net = sw.NETS[net_key]
    return str(sw.write_synthetic_caffemodels(net, folder, net.layouts[:1])[0])


@functools.lru_cache(maxsize=4)
def converted(net_key: str, folder: str, end: str | None, outputs: tuple[str, ...]):
    from converters.caffe.to_onnx import caffe_to_onnx
    net = sw.NETS[net_key]
    return caffe_to_onnx(net.prototxt_path, _caffemodel(net_key, folder), outputs=outputs,
                         end=end)


@functools.lru_cache(maxsize=3)
def vjp(net_key: str, folder: str, end: str | None, of: str):
    """build_vjp of the converted graph (cut after `end`) with kink holds fed per record."""
    from converters.vjp.transform import build_vjp
    return build_vjp(with_kink_holds(converted(net_key, folder, end, (of,)), net_key),
                     wrt=[sw.NETS[net_key].input_name], of=[of])


def session_options():
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the held-unit inputs are overridable initializers
    return options


def run(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), session_options(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def check(what: str, actual: np.ndarray, expected: np.ndarray) -> float:
    error = relative_error(actual, expected)
    log.info("relative error %.3g  %s", error, what)
    assert error <= TOLERANCE, f"{what}: relative error {error:.3g} > {TOLERANCE}"
    return error


@pytest.mark.parametrize("net_key", list(sw.NETS))
def test_every_blob_after_full_forward_equals_caffes(net_key, weights_dir):
    data = fixture(f"caffe_{net_key}.npz")
    net = sw.NETS[net_key]
    blobs = [parts[0] for parts in keys(data, "forward")]
    outputs = run(converted(net_key, str(weights_dir), None, tuple(blobs)),
                  {net.input_name: sw.synthetic_input(net)})
    worst = 0.0
    for blob in blobs:
        ours = outputs[blob]
        assert list(ours.shape) == list(data[ff.key("shape", blob)]), blob
        worst = max(worst, check(f"{net_key} forward {blob}", ff.sampled(ours),
                                 data[ff.key("forward", blob)]))
        check(f"{net_key} norm {blob}", np.linalg.norm(ours.astype(np.float64)),
              data[ff.key("norm", blob)])
    log.info("worst forward relative error %s: %.3g", net_key, worst)


@pytest.mark.parametrize("net_key,parts", net_fixture_params("end"))
def test_blob_after_forward_end_equals_caffes(net_key, parts, weights_dir):
    """Caffe's forward(end=L): L's top as L produced it (before an in-place ReLU after L)."""
    layer, blob = parts
    data = fixture(f"caffe_{net_key}.npz")
    net = sw.NETS[net_key]
    outputs = run(converted(net_key, str(weights_dir), layer, (blob,)),
                  {net.input_name: sw.synthetic_input(net)})
    check(f"{net_key} forward(end={layer}) {blob}", ff.sampled(outputs[blob]),
          data[ff.key("end", layer, blob)])


@pytest.mark.parametrize("net_key,parts", net_fixture_params("grad"))
def test_one_hot_input_gradient_equals_caffes(net_key, parts, weights_dir):
    """Backward from L with a one-hot gradient on one unit (flat index, or [0, u, xy, xy])."""
    layer, unit, xy = parts[0], int(parts[1]), int(parts[2])
    data = fixture(f"caffe_{net_key}.npz")
    net = sw.NETS[net_key]
    model = vjp(net_key, str(weights_dir), layer, layer_top(net_key, layer))
    top = layer_top(net_key, layer)
    top_shape = [d.dim_value for d in next(
        o for o in model.graph.output if o.name == top).type.tensor_type.shape.dim]
    one_hot = ff.one_hot(top_shape, unit, xy)
    kinks = ff.kinks_of(data, ff.record_id("grad", layer, unit, xy))
    outputs = run(model, {net.input_name: sw.synthetic_input(net), f"{top}_grad": one_hot,
                          **kink_feeds(model, net_key, kinks)})
    check(f"{net_key} d{layer}[{unit},{xy}]/d{net.input_name}",
          outputs[f"{net.input_name}_grad"], data[ff.key("grad", layer, unit, xy)])


@pytest.mark.parametrize("net_key,parts", net_fixture_params("vjp"))
def test_code_gradient_of_a_random_output_gradient_equals_caffes(net_key, parts, weights_dir):
    top, input_name = parts
    data = fixture(f"caffe_{net_key}.npz")
    net = sw.NETS[net_key]
    model = vjp(net_key, str(weights_dir), None, top)
    shape = tuple(data[ff.key("shape", top)])
    kinks = ff.kinks_of(data, ff.record_id("vjp", top, input_name))
    outputs = run(model, {input_name: sw.synthetic_input(net),
                          f"{top}_grad": sw.synthetic_cotangent(net, shape),
                          **kink_feeds(model, net_key, kinks)})
    check(f"{net_key} vjp {top} -> {input_name}", outputs[f"{input_name}_grad"],
          data[ff.key("vjp", top, input_name)])


@functools.lru_cache(maxsize=None)
def layer_top(net_key: str, layer: str) -> str:
    return next(l.tops[0] for l in sw.NETS[net_key].layers() if l.name == layer)


TRAJECTORY_NETS = ["caffenet", "places205", "googlenet"]


@pytest.mark.parametrize("net_key", TRAJECTORY_NETS)
def test_single_dgn_am_iterations_from_caffe_states_give_caffes_next_codes(net_key, weights_dir):
    """Each iteration i, started from Caffe's code i, gives Caffe's code i+1 (docs/method.md, "One run")."""
    from reproduce.step.graph import build_step_graph
    from reproduce.run.runner import StepRunner
    data = fixture(f"caffe_dgn_am_{net_key}.npz")
    run_spec = json.loads(str(data["run"]))
    layer, unit, xy = run_spec["layer"], run_spec["unit"], run_spec["xy"]
    top = layer_top(net_key, layer)
    net_vjp = vjp(net_key, str(weights_dir), layer, top)
    gen_vjp = vjp("generator_fc6", str(weights_dir), None, "deconv0")
    step_model = build_step_graph(gen_vjp, net_vjp, act_layer=top, mode="bound")
    # The held-unit masks become plain inputs (IO binding cannot feed an initializer),
    # bound per iteration below.
    holds = [init for init in step_model.graph.initializer
             if init.name.split("/", 1)[-1].startswith((MASK, HELD))]
    step_model.graph.input.extend(
        onnx.helper.make_tensor_value_info(init.name, onnx.TensorProto.FLOAT, list(init.dims))
        for init in holds)
    hold_names = {init.name for init in holds}
    kept = [init for init in step_model.graph.initializer if init.name not in hold_names]
    del step_model.graph.initializer[:]
    step_model.graph.initializer.extend(kept)
    act_shape = [d.dim_value for d in next(
        o for o in net_vjp.graph.output if o.name == top).type.tensor_type.shape.dim]
    flat_unit = unit if len(act_shape) == 2 else np.ravel_multi_index(
        (0, unit, xy, xy), act_shape)
    runner = StepRunner(step_model)
    bounds = sw.synthetic_bounds(run_spec["bounds_seed"])
    codes = data["codes"]
    image_shape = tuple(sw.NETS[net_key].input_shape[1:])
    for i, step in enumerate(data["steps"]):
        runner.start(codes[i:i + 1], np.array([flat_unit]), np.zeros((1, *image_shape)), bounds)
        feeds = {**kink_feeds(gen_vjp, "generator_fc6",
                              ff.kinks_of(data, ff.record_id("step", i, "gen")), "gen/"),
                 **kink_feeds(net_vjp, net_key,
                              ff.kinks_of(data, ff.record_id("step", i, "net")), "net/")}
        for name, value in feeds.items():
            runner.binding.bind_cpu_input(name, value)
        report = runner.step(float(step), run_spec["l2"] if 0 < run_spec["l2"] < 1 else 1.0,
                             fetch_code=True)
        check(f"{net_key} iteration {i} act", report.act, data["kinked_acts"][i:i + 1])
        check(f"{net_key} iteration {i} net grad norm", report.net_grad_norm,
              data["kinked_net_grad_norms"][i:i + 1])
        check(f"{net_key} iteration {i} gen grad norm", report.gen_grad_norm,
              data["kinked_gen_grad_norms"][i:i + 1])
        check(f"{net_key} iteration {i} image", ff.sampled(runner.held_image()),
              data["kinked_images"][i])
        check(f"{net_key} iteration {i} code", report.code, data["kinked_codes"][i:i + 1])


MAX_HELD_FRACTION = 0.05


@pytest.mark.parametrize("net_key", list(sw.NETS))
def test_held_kink_units_are_few(net_key):
    """Holding kink units (see the module docstring) must not hide the gradient being
    tested: per record at most 5% of the ReLU/MAX outputs are held."""
    data = fixture(f"caffe_{net_key}.npz")
    tops = {layer.name: layer.tops[0] for layer in sw.NETS[net_key].layers()}
    units = sum(int(np.prod(data[ff.key("shape", tops[layer])])) for layer in kink_layers(net_key))
    records = {ff.split_key(k)[1] for k in data if ff.split_key(k)[0] == "kinks"}
    for record in records:
        held = sum(len(indices) for indices, _ in ff.kinks_of(data, record).values())
        log.info("%s %s: %d of %d kink units held", net_key, record, held, units)
        assert held <= MAX_HELD_FRACTION * units, f"{net_key} {record}: {held} of {units} held"
