"""Benchmark (not a test): ms per DGN-AM iteration, full-size fc6 generator + CaffeNet.

Synthetic weights (seeded, never the official ones) for the project's own prototxts
(models/nets/upconv/fc6/generator.prototxt, models/nets/caffenet.prototxt, act layer fc8,
bound mode) are written as real caffemodels under build/bench_loop/, converted and timed:

* fused: the step graph (one ONNX graph per iteration, state kept in ONNX Runtime);
* unfused: the release's structure on ONNX Runtime: generator forward, net forward+VJP and
  generator forward+VJP as three sessions, the glue in NumPy on the host;
* PyTorch: the same loop with autograd (torch is a benchmark-only extra), same weights/threads;
* batch: the fused step graph for --batch units at once vs one unit (throughput ratio).

Prints ms/iteration and the ratios (goals: fused <= 0.8x PyTorch; batch-64 throughput >= 3x),
and the code after one iteration from the same start code relative to the fused graph. PyTorch
lands ~1e-2 away: its generator output differs from ONNX Runtime's by ~1e-6 (float32 summation
order) and the net's input gradient jumps where a ReLU or max-pool decision flips (fed the same
crop, PyTorch's and the VJP graph's gradients agree to ~1e-6; measured while writing this).
Usage: python benchmarks/bench_loop.py [--iters 5] [--batch 64] [--threads 2] [--no-torch]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from converters.caffe.synthetic import learned_blob_shapes  # noqa: E402
from converters.caffe.to_onnx import caffe_to_onnx  # noqa: E402
from converters.caffe.writer import write_caffemodel  # noqa: E402
from converters.vjp.transform import build_vjp  # noqa: E402
from models.nets import write_prototxts as arch  # noqa: E402
from reproduce.run.job import NetFiles, build_step_model  # noqa: E402
from reproduce.step.rules import Schedule  # noqa: E402
from reproduce.run.runner import StepRunner, session_options  # noqa: E402

NETS = REPO / "models" / "nets"
GENERATOR = NETS / "upconv" / "fc6" / "generator.prototxt"
CAFFENET = NETS / "caffenet.prototxt"
ACT_LAYER = "fc8"
SCHEDULE = Schedule(200, 8.0, 1e-10, 0.99)


def _param(layer: arch.Layer, key: str, default=None):
    return dict(layer.params).get(key, default)


def synthetic_blobs(prototxt: Path, layers, seed: int, last_gain: float) -> dict[str, list[np.ndarray]]:
    """He-scaled normal weights (a Deconvolution output sees c_in·k²/stride² inputs), small biases."""
    rng = np.random.RandomState(seed)
    shapes = learned_blob_shapes(prototxt)
    types = {layer.name: layer for layer in layers}
    last = list(shapes)[-1]
    blobs = {}
    for name, (w_shape, b_shape) in shapes.items():
        if types[name].type == "Deconvolution":
            fan_in = w_shape[0] * w_shape[2] * w_shape[3] / _param(types[name], "stride", 1) ** 2
        else:
            fan_in = np.prod(w_shape[1:])
        scale = math.sqrt(2.0 / fan_in) * (last_gain if name == last else 1.0)
        blobs[name] = [(rng.standard_normal(w_shape) * scale).astype(np.float32),
                       rng.uniform(-0.1, 0.1, b_shape).astype(np.float32)]
    return blobs


def prepare_weights(workdir: Path) -> tuple[Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    gen_weights, net_weights = workdir / "generator.caffemodel", workdir / "caffenet.caffemodel"
    if not gen_weights.is_file():
        write_caffemodel(gen_weights, synthetic_blobs(GENERATOR, arch.generator_layers("fc6"), 1, 40.0))
    if not net_weights.is_file():
        write_caffemodel(net_weights, synthetic_blobs(CAFFENET, arch.caffenet_layers(), 2, 1.0))
    return gen_weights, net_weights


def timed(run, iters: int) -> float:
    """Median ms of run(i) over iters calls after one warm-up call."""
    run(0)
    times = []
    for i in range(1, iters + 1):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def timed_round_robin(steps: dict, iters: int) -> dict[str, float]:
    """Median ms per call of each step(i), the implementations taking turns each iteration.

    Taking turns puts every implementation under the same load when the CPU is shared.
    """
    for step in steps.values():
        step(0)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(1, iters + 1):
        for name, step in steps.items():
            start = time.perf_counter()
            step(i)
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def start_codes(batch: int) -> np.ndarray:
    return np.random.RandomState(0).normal(0, 1, (batch, 4096)).astype(np.float32)


def bounds() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((1, 4096)), np.full((1, 4096), 12.0)


class Stepper:
    """One implementation of the loop: step(i) runs iteration i, code() reads the code, reset()."""

    def __init__(self, step, code, reset) -> None:
        self.step, self.code, self.reset = step, code, reset


def fused_stepper(files: NetFiles, batch: int, threads: int) -> Stepper:
    step_model = build_step_model(files, ACT_LAYER, batch, "bound")
    runner = StepRunner(step_model.model, weights=step_model.weights, threads=threads)

    def reset() -> None:
        runner.start(start_codes(batch), np.arange(batch) % 1000,
                     np.zeros((batch, 3, 227, 227), np.float32), bounds())
    reset()
    return Stepper(lambda i: runner.step(SCHEDULE.step_size(i), SCHEDULE.l2_factor),
                   runner.code, reset)


def unfused_stepper(gen_weights: Path, net_weights: Path, threads: int) -> Stepper:
    """Three sessions and NumPy glue, as a direct port of the release's Caffe calls would run."""
    gen_forward = caffe_to_onnx(GENERATOR, gen_weights, outputs=("deconv0",))
    sessions = [ort.InferenceSession(m.SerializeToString(), session_options(threads),
                                     providers=["CPUExecutionProvider"]) for m in (
        gen_forward, build_vjp(caffe_to_onnx(CAFFENET, net_weights, outputs=(ACT_LAYER,), end=ACT_LAYER),
                               ["data"], [ACT_LAYER]),
        build_vjp(gen_forward, ["feat"], ["deconv0"]))]
    gen, net, gen_vjp = sessions
    lower, upper = bounds()
    state = {"code": start_codes(1)}
    one_hot = np.zeros((1, 1000), np.float32)
    one_hot[0, 0] = 1

    def step(i: int) -> None:
        step_size = SCHEDULE.step_size(i)
        code = state["code"]
        (x0,) = gen.run(None, {"feat": code})
        crop = x0[:, :, 14:241, 14:241]
        _, g = net.run(None, {"data": np.ascontiguousarray(crop), f"{ACT_LAYER}_grad": one_hot})
        x = crop + np.float32(step_size / np.abs(g).mean()) * g
        diff = np.zeros_like(x0)
        diff[:, :, 14:241, 14:241] = x - crop
        _, h = gen_vjp.run(None, {"feat": code, "deconv0_grad": diff})
        code = code + np.float32(step_size / np.abs(h).mean()) * h
        state["code"] = (np.minimum(np.maximum(code.astype(np.float64), lower), upper)
                         * SCHEDULE.l2_factor).astype(np.float32)
    return Stepper(step, lambda: state["code"], lambda: state.update(code=start_codes(1)))


def torch_stepper(gen_weights_blobs, net_weights_blobs, threads: int) -> Stepper:
    """The same loop in PyTorch (autograd, float32), same weights and thread count."""
    import torch
    from torch.nn import functional as F
    torch.set_num_threads(threads)

    def run_layers(layers, blobs, x, end):
        values = {layers[0].bottoms[0]: x}
        for layer in layers:
            v = values[layer.bottoms[0]]
            if layer.type in ("Convolution", "Deconvolution"):
                w, b = blobs[layer.name]
                s, p, g = _param(layer, "stride", 1), _param(layer, "pad", 0), _param(layer, "group", 1)
                v = (F.conv2d if layer.type == "Convolution" else F.conv_transpose2d)(v, w, b, s, p, groups=g)
            elif layer.type == "InnerProduct":
                w, b = blobs[layer.name]
                v = F.linear(v.flatten(1), w, b)
            elif layer.type == "ReLU":
                v = F.leaky_relu(v, _param(layer, "negative_slope", 0.0))
            elif layer.type == "Pooling":
                v = F.max_pool2d(v, _param(layer, "kernel_size"), _param(layer, "stride"), ceil_mode=True)
            elif layer.type == "LRN":
                v = F.local_response_norm(v, 5, 1e-4, 0.75, 1.0)
            elif layer.type == "Reshape":
                v = v.reshape(v.shape[0], 256, 4, 4)
            values[layer.tops[0]] = v
            if layer.name == end:
                return v
        return v

    gen_layers, net_layers = arch.generator_layers("fc6"), arch.caffenet_layers()
    gen_weights_blobs, net_weights_blobs = (
        {name: [torch.from_numpy(np.array(blob)) for blob in layer_blobs] for name, layer_blobs in blobs.items()}
        for blobs in (gen_weights_blobs, net_weights_blobs))
    lower, upper = (torch.from_numpy(b) for b in bounds())
    state = {"code": torch.from_numpy(start_codes(1))}

    def step(i: int) -> None:
        step_size = SCHEDULE.step_size(i)
        code = state["code"].clone().requires_grad_(True)
        x0 = run_layers(gen_layers, gen_weights_blobs, code, "deconv0")
        crop = x0[:, :, 14:241, 14:241].detach().requires_grad_(True)
        act = run_layers(net_layers, net_weights_blobs, crop, ACT_LAYER)[0, 0]
        (g,) = torch.autograd.grad(act, crop)
        with torch.no_grad():
            x = crop + np.float32(step_size / float(g.abs().mean())) * g
            diff = torch.zeros_like(x0)
            diff[:, :, 14:241, 14:241] = x - crop
        (h,) = torch.autograd.grad(x0, code, diff)
        with torch.no_grad():
            new = code + np.float32(step_size / float(h.abs().mean())) * h
            state["code"] = (torch.minimum(torch.maximum(new.double(), lower), upper)
                             * SCHEDULE.l2_factor).float()
    return Stepper(step, lambda: state["code"].numpy(),
                   lambda: state.update(code=torch.from_numpy(start_codes(1))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batch_iters", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default=str(REPO / "build" / "bench_loop"))
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-batch", action="store_true")
    args = parser.parse_args()
    gen_weights, net_weights = prepare_weights(Path(args.workdir))
    files = NetFiles(str(GENERATOR), str(gen_weights), str(CAFFENET), str(net_weights))
    steppers = {"fused": fused_stepper(files, 1, args.threads),
                "unfused": unfused_stepper(gen_weights, net_weights, args.threads)}
    if not args.no_torch:
        from converters.caffe.reader import load_caffe_net
        blobs = [{layer.name: layer.blobs for layer in load_caffe_net(p, w).layers if layer.blobs}
                 for p, w in ((GENERATOR, gen_weights), (CAFFENET, net_weights))]
        steppers["torch"] = torch_stepper(blobs[0], blobs[1], args.threads)
    for name, stepper in steppers.items():  # one iteration from the same start code
        stepper.reset()
        stepper.step(0)
    first = {name: np.array(stepper.code(), np.float64) for name, stepper in steppers.items()}
    for name in first:
        gap = np.abs(first[name] - first["fused"]).max() / np.abs(first["fused"]).max()
        print(f"one iteration, code vs fused: {name:8s} relative max |diff| {gap:.2e}")
    for stepper in steppers.values():
        stepper.reset()
    results = timed_round_robin({name: stepper.step for name, stepper in steppers.items()}, args.iters)
    for name, value in results.items():
        print(f"{name:8s}: {value:9.1f} ms/iteration", flush=True)
    if not args.no_batch:
        del steppers["unfused"]
        steppers.pop("torch", None)
        single, batched = steppers["fused"], fused_stepper(files, args.batch, args.threads)
        single.reset()
        pair = timed_round_robin({"single": single.step, "batch": batched.step}, args.batch_iters)
        results["batch"], results["batch_single"] = pair["batch"], pair["single"]
        print(f"fused, batch {args.batch}: {results['batch']:9.1f} ms/iteration "
              f"({results['batch'] / args.batch:.1f} ms/unit); batch 1 in turn with it: "
              f"{results['batch_single']:.1f} ms", flush=True)
    print(f"ratio fused / unfused          : {results['fused'] / results['unfused']:.2f}x")
    if "torch" in results:
        print(f"ratio fused / PyTorch          : {results['fused'] / results['torch']:.2f}x (goal <= 0.8x)")
    if "batch" in results:
        gain = (args.batch / results["batch"]) / (1 / results["batch_single"])
        print(f"batch-{args.batch} throughput / single  : {gain:.2f}x (goal >= 3x)")
    print(f"(threads {args.threads}, ORT {ort.__version__}, {args.iters} timed iterations, median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
