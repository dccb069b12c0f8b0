"""GPU benchmark (not a test), prepared for a session that is lent a GPU machine.

NOT MEASURED YET: no GPU was available when this was written; never quote a figure from it
that was not printed by an actual run.

On the device machine (onnxruntime-gpu 1.31.1 targets CUDA 13; its cp312 wheel, ~255 MB, is
larger than one 64 MiB carry, so it travels in pieces under 60 MB over consecutive calls to the
same warm machine; ignored files stay between calls):

    here:   split -b 55M onnxruntime_gpu-1.31.1-*.whl .whl/ort_gpu.part.
    device: python benchmarks/bench_gpu.py install .whl      # reassembles + pip installs
    device: python benchmarks/bench_gpu.py run --iters 20    # the measurements below

`run` writes synthetic full-size weights (as benchmarks/bench_loop.py does), then prints:
ms/iteration of the fused step graph on CUDA vs CPU, the batch-64 CUDA throughput ratio, and
the CPU-vs-CUDA one-iteration agreement (relative max |Δ| of the code and the activation from
the same start code).
"""
from __future__ import annotations

import argparse
import glob
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def install(pieces_dir: str) -> int:
    """Concatenates `*.part.*` pieces (sorted) into the wheel and pip-installs it."""
    pieces = sorted(glob.glob(str(Path(pieces_dir) / "*.part.*")))
    if not pieces:
        print(f"no pieces (*.part.*) in {pieces_dir}", file=sys.stderr)
        return 2
    wheel_name = Path(pieces[0]).name.split(".part.")[0]
    if not wheel_name.endswith(".whl"):
        wheel_name = "onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
    with tempfile.TemporaryDirectory() as temp:
        wheel = Path(temp) / wheel_name
        with wheel.open("wb") as out:
            for piece in pieces:
                out.write(Path(piece).read_bytes())
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "onnxruntime"], check=False)
        return subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", str(wheel)]).returncode


def run(iters: int, batch: int, workdir: str, cpu_stand_in: bool = False) -> int:
    import onnxruntime as ort

    from bench_loop import CAFFENET, GENERATOR, SCHEDULE, bounds, prepare_weights, start_codes, timed
    from reproduce.run.job import NetFiles, build_step_model
    from reproduce.run.runner import StepRunner
    providers = ort.get_available_providers()
    print(f"onnxruntime {ort.__version__}, providers {providers}")
    gpu = "CUDAExecutionProvider"
    if cpu_stand_in:
        gpu = "CPUExecutionProvider"
        print("CHECK RUN: the CPU provider stands in for CUDA; no figure below is a GPU figure")
    elif gpu not in providers:
        print("CUDAExecutionProvider is not available: nothing measured", file=sys.stderr)
        return 2
    gen_weights, net_weights = prepare_weights(Path(workdir))
    files = NetFiles(str(GENERATOR), str(gen_weights), str(CAFFENET), str(net_weights))

    def runner_for(size: int, provider: str) -> StepRunner:
        step_model = build_step_model(files, "fc8", size, "bound")
        runner = StepRunner(step_model.model, weights=step_model.weights, providers=[provider, "CPUExecutionProvider"])
        runner.start(start_codes(size), np.arange(size) % 1000, np.zeros((size, 3, 227, 227), np.float32),
                     bounds())
        return runner

    first: dict[str, tuple[np.ndarray, float]] = {}
    times: dict[str, float] = {}
    gpu_label = "stand-in" if cpu_stand_in else gpu
    for label, provider in (("CPUExecutionProvider", "CPUExecutionProvider"), (gpu_label, gpu)):
        runner = runner_for(1, provider)
        report = runner.step(SCHEDULE.step_size(0), SCHEDULE.l2_factor, fetch_code=True)
        first[label] = (report.code[0].astype(np.float64), float(report.act[0]))
        times[label] = timed(lambda i: runner.step(SCHEDULE.step_size(i), SCHEDULE.l2_factor), iters)
        print(f"{label}: {times[label]:.2f} ms/iteration (batch 1)", flush=True)
    cpu_code, cpu_act = first["CPUExecutionProvider"]
    gpu_code, gpu_act = first[gpu_label]
    print(f"one iteration CPU vs CUDA: code relative max |diff| "
          f"{np.abs(gpu_code - cpu_code).max() / np.abs(cpu_code).max():.2e}, act relative diff "
          f"{abs(gpu_act - cpu_act) / max(abs(cpu_act), 1e-30):.2e}")
    batch_runner = runner_for(batch, gpu)
    batched = timed(lambda i: batch_runner.step(SCHEDULE.step_size(i), SCHEDULE.l2_factor), iters)
    print(f"CUDA batch {batch}: {batched:.2f} ms/iteration; throughput vs batch 1: "
          f"{(batch / batched) / (1 / times[gpu_label]):.2f}x")
    print(f"CUDA / CPU time per iteration (batch 1): "
          f"{times[gpu_label] / times['CPUExecutionProvider']:.3f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True)
    installer = actions.add_parser("install", help="reassemble the wheel pieces and pip install")
    installer.add_argument("pieces_dir")
    runner = actions.add_parser("run", help="measure CUDA vs CPU")
    runner.add_argument("--iters", type=int, default=20)
    runner.add_argument("--batch", type=int, default=64)
    runner.add_argument("--workdir", default=str(REPO / "build" / "bench_loop"))
    runner.add_argument("--cpu_stand_in", action="store_true",
                        help="check the script without a GPU (the CPU provider stands in for CUDA)")
    args = parser.parse_args()
    if args.action == "install":
        return install(args.pieces_dir)
    return run(args.iters, args.batch, args.workdir, args.cpu_stand_in)


if __name__ == "__main__":
    sys.exit(main())
