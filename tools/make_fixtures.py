"""Record real Caffe's outputs for the project-written nets as compact test fixtures.

Run under the pycaffe that tools/reference_caffe/build.sh builds:

    build/caffe-venv/bin/python tools/make_fixtures.py [--out tests/fixtures]

1. The project's own Python (.venv) writes seeded synthetic caffemodels with the project's
   writer (tools/synthetic_weights.py; V2, V1 and V0 layouts) into build/fixture_weights/.
2. Caffe loads each net (models/nets/*.prototxt) with the weights in its first layout and
   records: every blob after a full forward (sampled), chosen blobs after forward(end=L),
   input gradients for one-hot units at L (backward from L, as the release does), and for
   the generator the code gradient of a random output gradient. The other layouts must
   give bit-identical outputs in Caffe (checked here, not stored). Gradient records run
   layer by layer with kink units held (tools/reference_caffe/kinks.py) and list them.
3. Short DGN-AM trajectories: the loop of docs/method.md ("One run") written with pycaffe
   calls like the release's act_max.py, recording the code after every iteration, and each
   iteration repeated from the same code with kink units held.

Fixtures: tests/fixtures/caffe_<net>.npz and caffe_dgn_am_<net>.npz (never weights).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

import caffe  # noqa: E402  (pycaffe from build/caffe-venv)

from tools.reference_caffe import fixture_format as ff  # noqa: E402
from tools import synthetic_weights as sw  # noqa: E402
from tools.reference_caffe.kinks import KinkedNet, PlainNet  # noqa: E402

log = logging.getLogger("make_fixtures")

# (layer to stop at, blob read after forward(end=layer)): before the in-place ReLU after it.
FORWARD_ENDS = {
    "caffenet": ["conv5", "fc6", "fc8"],
    "places205": ["conv5", "fc7", "fc8"],
    "googlenet": ["inception_4c/1x1", "inception_5b/output", "loss3/classifier"],
    "generator_fc6": ["defc7", "deconv1", "deconv0"],
}
# One-hot input gradients: (layer, unit, xy); xy is None for flat (fc) layers.
GRADIENT_UNITS = {
    "caffenet": [("fc8", 643, None), ("fc8", 945, None), ("conv5", 8, 6)],
    "places205": [("conv5", 55, 6), ("fc8", 7, None)],
    "googlenet": [("loss3/classifier", 643, None), ("inception_4c/output", 100, 7)],
}


@dataclass(frozen=True)
class Trajectory:
    """One short DGN-AM run (fc6 generator, bounds, L2 decay) on a net."""

    net: str
    layer: str
    unit: int
    xy: int
    n_iters: int
    lr_start: float
    lr_end: float
    l2: float = 0.99
    start_seed: int = 0
    bounds_seed: int = 7


TRAJECTORIES = [
    Trajectory("caffenet", "fc8", 643, 0, 5, 8.0, 1e-10),
    Trajectory("places205", "conv5", 55, 6, 5, 8.0, 1e-10),
    Trajectory("googlenet", "loss3/classifier", 643, 0, 5, 2.0, 1e-10),
]


def write_weights(weights_dir: Path, python: Path) -> None:
    """Step 1, in the project's environment (its protobuf and NumPy), not pycaffe's."""
    subprocess.run([str(python), "-m", "tools.synthetic_weights", str(weights_dir)],
                   cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)


def load(net: sw.SyntheticNet, weights_dir: Path, layout: str) -> caffe.Net:
    return caffe.Net(str(net.prototxt_path), str(weights_dir / sw.caffemodel_name(net, layout)),
                     caffe.TEST)


def real_blobs(net: caffe.Net) -> list[str]:
    """Blob names of the prototxt (Caffe's automatically inserted split blobs left out)."""
    return [name for name in net.blobs if "_split_" not in name]


def kinked(net: caffe.Net, net_spec: sw.SyntheticNet) -> KinkedNet:
    return KinkedNet(net, net_spec.layers())


def store_kinks(out: dict[str, np.ndarray], record: str, runner: PlainNet) -> None:
    """The units held during one record: per kink layer, flat indices into its top and
    Caffe's values there."""
    for layer, indices in runner.masks.items():
        if indices.size:
            out[ff.key("kinks", record, layer)] = indices
            out[ff.key("held", record, layer)] = runner.held[layer]


def one_hot_gradient(runner: PlainNet, layer: str, unit: int, xy: int | None) -> np.ndarray:
    """Forward to `layer`, one-hot diff on the unit, backward from `layer`: d act / d input."""
    net = runner.net
    runner.forward(end=layer)
    top = net.top_names[layer][0]
    net.blobs[top].diff[...] = ff.one_hot(net.blobs[top].data.shape, unit, xy)
    runner.backward(start=layer)
    return net.blobs[net.inputs[0]].diff.copy()


def record_net(net_spec: sw.SyntheticNet, weights_dir: Path) -> dict[str, np.ndarray]:
    """Forward blobs, forward(end=...) blobs and input gradients of one net."""
    net = load(net_spec, weights_dir, net_spec.layouts[0])
    input_name = net.inputs[0]
    net.blobs[input_name].data[...] = sw.synthetic_input(net_spec)
    out: dict[str, np.ndarray] = {}
    net.forward()
    for blob in real_blobs(net):
        data = net.blobs[blob].data
        out[ff.key("forward", blob)] = ff.sampled(data)
        out[ff.key("shape", blob)] = np.array(data.shape, np.int64)
        out[ff.key("norm", blob)] = np.array(np.linalg.norm(data.astype(np.float64)))
    last_blob = net.outputs[0]
    reference_output = net.blobs[last_blob].data.copy()
    for layer in FORWARD_ENDS[net_spec.key]:
        net.forward(end=layer)
        top = net.top_names[layer][0]
        out[ff.key("end", layer, top)] = ff.sampled(net.blobs[top].data)
    runner = kinked(net, net_spec)
    for layer, unit, xy in GRADIENT_UNITS.get(net_spec.key, []):
        record = ff.record_id("grad", layer, unit, -1 if xy is None else xy)
        out[ff.key("grad", layer, unit, -1 if xy is None else xy)] = one_hot_gradient(
            runner, layer, unit, xy)
        store_kinks(out, record, runner)
    if net_spec.input_name == "feat":  # generator: code gradient of a random output gradient
        runner.forward()
        top = net.outputs[0]
        net.blobs[top].diff[...] = sw.synthetic_cotangent(net_spec, net.blobs[top].data.shape)
        runner.backward()
        out[ff.key("vjp", top, input_name)] = net.blobs[input_name].diff.copy()
        store_kinks(out, ff.record_id("vjp", top, input_name), runner)
    for layout in net_spec.layouts[1:]:  # Caffe reads the other layouts identically
        other = load(net_spec, weights_dir, layout)
        other.blobs[input_name].data[...] = sw.synthetic_input(net_spec)
        other.forward()
        if not np.array_equal(other.blobs[last_blob].data, reference_output):
            raise SystemExit(f"{net_spec.key}: the {layout} caffemodel gives other outputs")
        log.info("%s: %s layout gives identical %s", net_spec.key, layout, last_blob)
    return out


def dgn_am_iteration(generator: PlainNet, net: PlainNet, code: np.ndarray, step: float,
                     run: Trajectory, bounds: tuple[np.ndarray, np.ndarray]) -> dict:
    """One iteration of the release's loop (docs/method.md, "One run", step 4) from `code`."""
    gen_in, gen_out = "feat", "deconv0"
    gen_blobs, net_blobs = generator.net.blobs, net.net.blobs
    gen_blobs[gen_in].data[...] = code
    generator.forward()
    x0 = gen_blobs[gen_out].data.copy()
    _, _, height, width = net_blobs["data"].data.shape
    top, left = (x0.shape[2] - height) // 2, (x0.shape[3] - width) // 2
    crop = x0[:, :, top:top + height, left:left + width].copy()
    net_blobs["data"].data[...] = crop
    net.forward(end=run.layer)
    act_blob = net_blobs[net.net.top_names[run.layer][0]]
    one_hot = ff.one_hot(act_blob.data.shape, run.unit, None if act_blob.data.ndim == 2 else run.xy)
    act = act_blob.data[one_hot == 1][0]
    act_blob.diff[...] = one_hot
    net.backward(start=run.layer)
    g = net_blobs["data"].diff.copy()
    net_norm = np.linalg.norm(g)
    if np.isnan(net_norm) or net_norm == 0:
        stepped, act = crop, 0.0
        net_norm = 1e-12 if np.isnan(net_norm) else net_norm
    else:
        stepped = crop + step / np.abs(g).mean() * g
    updated_x0 = x0.copy()
    updated_x0[:, :, top:top + height, left:left + width] = stepped
    gen_blobs[gen_out].diff[...] = updated_x0 - x0
    generator.backward()
    h = gen_blobs[gen_in].diff.copy()
    gen_norm = np.linalg.norm(h)
    new_code = gen_blobs[gen_in].data.copy()
    if not (np.isnan(gen_norm) or gen_norm == 0):
        new_code = new_code + step / np.abs(h).mean() * h
    gen_norm = 1e-12 if np.isnan(gen_norm) else gen_norm
    new_code = np.minimum(np.maximum(new_code, bounds[0]), bounds[1])
    if 0 < run.l2 < 1:
        new_code = new_code * run.l2
    gen_blobs[gen_in].data[...] = new_code  # the store into the float32 blob rounds
    return {"code": gen_blobs[gen_in].data.copy(), "act": act, "net_grad_norm": net_norm,
            "gen_grad_norm": gen_norm, "image": crop}


def dgn_am_trajectory(generator: caffe.Net, net: caffe.Net,
                      run: Trajectory) -> dict[str, np.ndarray]:
    """The release's loop with bounds and L2: the code after each iteration. Each iteration
    is repeated from the same code with kink units held (reference_caffe/kinks.py); the tests check
    single iterations against those repeats (their kink units listed per iteration)."""
    bounds = sw.synthetic_bounds(run.bounds_seed)
    np.random.seed(run.start_seed)
    code = np.random.normal(0, 1, (1, 4096)).astype(np.float32)  # the float32 input blob
    plain = (PlainNet(generator), PlainNet(net))
    kinky = (kinked(generator, sw.NETS["generator_fc6"]), kinked(net, sw.NETS[run.net]))
    codes, steps, records, kinked_records = [code], [], [], []
    out: dict[str, np.ndarray] = {}
    for i in range(run.n_iters):
        step = run.lr_start + ((run.lr_end - run.lr_start) * i) / run.n_iters
        kinked_records.append(dgn_am_iteration(*kinky, code, step, run, bounds))
        for part, runner in zip(("gen", "net"), kinky):
            store_kinks(out, ff.record_id("step", i, part), runner)
        record = dgn_am_iteration(*plain, code, step, run, bounds)
        code = record["code"]
        codes.append(code)
        steps.append(step)
        records.append(record)
        if record["gen_grad_norm"] == 0 or record["net_grad_norm"] == 0:
            break
    for prefix, recs in (("", records), ("kinked_", kinked_records)):
        for name in ("act", "net_grad_norm", "gen_grad_norm"):
            out[prefix + name + "s"] = np.array([r[name] for r in recs], np.float32)
        out[prefix + "images"] = np.stack([ff.sampled(r["image"]) for r in recs])
    out["kinked_codes"] = np.concatenate([r["code"] for r in kinked_records])
    out.update(codes=np.concatenate(codes), steps=np.array(steps),
               run=np.array(json.dumps(asdict(run))))
    return out


def provenance() -> dict[str, str]:
    return {"caffe": f"pycaffe {caffe.__version__} from PyPI sdist brocolli-caffe 9.0.2 "
                     "(CPU_ONLY, OpenBLAS)",
            "numpy": np.__version__, "tool": "tools/make_fixtures.py",
            "weights": "tools/synthetic_weights.py (regenerated from seeds, not stored)"}


def save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed npz, written atomically."""
    arrays = {**arrays, "provenance": np.array(json.dumps(provenance()))}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    log.info("%s: %.2f MB", path, path.stat().st_size / 1e6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "tests" / "fixtures")
    parser.add_argument("--weights-dir", type=Path, default=REPO_ROOT / "build" / "fixture_weights")
    parser.add_argument("--project-python", type=Path,
                        default=REPO_ROOT / ".venv" / "bin" / "python")
    parser.add_argument("--skip-weights", action="store_true",
                        help="reuse the caffemodels already in --weights-dir")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    caffe.set_mode_cpu()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.skip_weights:
        write_weights(args.weights_dir, args.project_python)
    for key, net_spec in sw.NETS.items():
        save(args.out / f"caffe_{key}.npz", record_net(net_spec, args.weights_dir))
    generator_spec = sw.NETS["generator_fc6"]
    generator = load(generator_spec, args.weights_dir, generator_spec.layouts[0])
    for run in TRAJECTORIES:
        net_spec = sw.NETS[run.net]
        net = load(net_spec, args.weights_dir, net_spec.layouts[0])
        save(args.out / f"caffe_dgn_am_{run.net}.npz", dgn_am_trajectory(generator, net, run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
