"""Benchmark (not a test): act_max's start-up at full size, cold and warm step-graph cache.

The fc6 generator + CaffeNet (61 M + 58 M parameters; seeded synthetic weights written as real
caffemodels under build/bench_startup/ by tools/synthetic_weights.py, never the official ones),
act layer fc8, batch 1, bound mode. Each measurement is a fresh Python process that times what
act_max does before its first iteration: convert both nets (weights detached), build or read the
step graph, load the bound file, create the ONNX Runtime session with the weights as external
initializers, and place the start state.

* cold: an empty cache folder (DGN_AM_CACHE): the step graph is built and written;
* warm: the same folder again: the step graph is read back;
* baseline, measured in the same run: an ONNX Runtime session created from the same step graph
  with its weights embedded (what the driver did before, minus everything else).

The caffemodels are read once before timing, so the page cache holds them (a first run after a
reboot adds the disk's read time). Goals (issue 20 item 7): cold <= 4 s, warm <= 2 s.
Usage: python benchmarks/bench_startup.py [--repeat 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tools import synthetic_weights as sw  # noqa: E402

BUILD = REPO / "build" / "bench_startup"
MEASURE = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, {repo!r})
import numpy as np
from reproduce.inputs.bounds import load_bounds
from reproduce.inputs.start_code import as_stored_code, random_start_code
from reproduce.run.job import NetFiles, build_step_model
from reproduce.run.runner import StepRunner
imported = time.perf_counter()
nets = NetFiles({gen_def!r}, {gen_weights!r}, {net_def!r}, {net_weights!r})
model = build_step_model(nets, "fc8", 1, "bound")
built = time.perf_counter()
runner = StepRunner(model.model, weights=model.weights, threads={threads})
session = time.perf_counter()
runner.start(as_stored_code(random_start_code(0, model.shapes.code_size)), np.array([643]),
             np.zeros((1, *model.shapes.net_input), np.float32),
             load_bounds({bound!r}, model.shapes.code_size))
ready = time.perf_counter()
print(json.dumps({{"import": imported - started, "build": built - imported,
                   "session": session - built, "total": ready - started}}))
"""
BASELINE = """
import json, sys, time
sys.path.insert(0, {repo!r})
import onnxruntime as ort
from common.onnx_graph import attached
from reproduce.run.job import NetFiles, build_step_model
from reproduce.run.runner import session_options
nets = NetFiles({gen_def!r}, {gen_weights!r}, {net_def!r}, {net_weights!r})
model = build_step_model(nets, "fc8", 1, "bound", use_cache=False)
data = attached(model.model, model.weights).SerializeToString()
started = time.perf_counter()
ort.InferenceSession(data, session_options({threads}), providers=["CPUExecutionProvider"])
print(json.dumps({{"session": time.perf_counter() - started}}))
"""


def files() -> dict[str, str]:
    BUILD.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, role in (("generator_fc6", "gen"), ("caffenet", "net")):
        path = BUILD / sw.caffemodel_name(sw.NETS[key], "v2")
        if not path.is_file():
            sw.write_synthetic_caffemodels(sw.NETS[key], BUILD, layouts=("v2",))
        path.read_bytes()  # into the page cache
        paths[f"{role}_def"] = str(sw.NETS[key].prototxt_path)
        paths[f"{role}_weights"] = str(path)
    bound = BUILD / "fc6_bound.txt"
    bound.write_text(" ".join(["3.0"] * 4096))
    paths["bound"] = str(bound)
    return paths


def run(script: str, cache: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DGN_AM_CACHE": cache}, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    values = dict(files(), repo=str(REPO), threads=args.threads)
    measure, baseline = MEASURE.format(**values), BASELINE.format(**values)
    cold, warm, session = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-startup-cache-") as cache:
            cold.append(run(measure, cache))
            warm.append(run(measure, cache))
        session.append(run(baseline, tempfile.gettempdir())["session"])
    base = statistics.median(session)
    print(f"full size (fc6 generator + CaffeNet, synthetic weights), batch 1, {args.threads} "
          f"thread(s), median of {args.repeat}; seconds before the first iteration")
    print(f"{'':28s} {'import':>7s} {'build':>7s} {'session':>8s} {'total':>7s} {'vs ORT session':>15s}")
    for label, rows in (("cold (empty cache)", cold), ("warm (cached step graph)", warm)):
        medians = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        print(f"{label:28s} {medians['import']:7.2f} {medians['build']:7.2f} "
              f"{medians['session']:8.2f} {medians['total']:7.2f} {medians['total'] / base:14.2f}x")
    print(f"{'baseline: ORT session alone':28s} {'':7s} {'':7s} {base:8.2f} "
          "(the step graph with its weights embedded)")


if __name__ == "__main__":
    main()
