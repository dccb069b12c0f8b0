"""Benchmark (not a test): how long building the step graph of a `--net_onnx` model takes.

    python benchmarks/bench_step_build.py --net_onnx MODEL.onnx --act_layer NAME
        [--net_preset torchvision] [--generator_definition P --generator_weights W]
        [--repeats N] [--before]

Measured in one process, on the same model: the baseline, ONNX Runtime creating a session for
the model's forward graph (what any run of the model costs anyway); the step graph's build
cold (`--no_cache`: load, VJP, compose) and warm (from the step-graph cache,
reproduce.step.cache, in a fresh temporary cache folder). `--before` also times the cold build
with the name allocator that issue 22 replaced (common.onnx_graph.UniqueNames searching
`stem_2, stem_3, ...` from 2 on every call: quadratic in the names a VJP emits under one stem).
The generator defaults to the demo's (models/demo; crop: act_max's default for it).

Goal (issue 22, item 6): the cold build of torchvision's efficientnet_b0 in ≤ 3 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import onnxruntime as ort  # noqa: E402

from common import onnx_graph  # noqa: E402
from reproduce.run.job import NetFiles, build_step_model  # noqa: E402
from reproduce.step.graph import CodeMode  # noqa: E402
from reproduce.step.onnx_net import OnnxNet, adapter_from_flags  # noqa: E402

DEMO = REPO / "models" / "demo"


def _seconds(action, repeats: int) -> float:
    """The median wall time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def _quadratic_names():
    """UniqueNames.fresh as it was before issue 22 (the search restarts at 2 every call)."""
    def fresh(self, stem: str) -> str:
        name, count = stem, 1
        while name in self._taken:
            count += 1
            name = f"{stem}_{count}"
        self._taken.add(name)
        return name
    original = onnx_graph.UniqueNames.fresh
    onnx_graph.UniqueNames.fresh = fresh
    try:
        yield
    finally:
        onnx_graph.UniqueNames.fresh = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net_onnx", required=True)
    parser.add_argument("--act_layer", required=True)
    parser.add_argument("--net_preset", default="torchvision")
    parser.add_argument("--generator_definition", default=str(DEMO / "generator.prototxt"))
    parser.add_argument("--generator_weights", default=str(DEMO / "generator.caffemodel"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", action="store_true",
                        help="also time the cold build with the old quadratic name allocator")
    args = parser.parse_args()
    net = OnnxNet(args.net_onnx, adapter=adapter_from_flags(args.net_preset))
    files = NetFiles(args.generator_definition, args.generator_weights, "", "", net_onnx=net)

    def build(use_cache: bool) -> None:
        build_step_model(files, args.act_layer, args.batch, CodeMode.BOUND, use_cache=use_cache)

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = _seconds(lambda: ort.InferenceSession(args.net_onnx, options,
                                                    providers=["CPUExecutionProvider"]),
                       args.repeats)
    cold = _seconds(lambda: build(False), args.repeats)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DGN_AM_CACHE"] = cache
        build(True)  # fills the cache
        warm = _seconds(lambda: build(True), args.repeats)
    rows = [("baseline: ORT session (forward model)", session), ("step graph, cold", cold),
            ("step graph, warm (cache)", warm)]
    if args.before:
        with _quadratic_names():
            rows.append(("step graph, cold, before the fix", _seconds(lambda: build(False), 1)))
    print(f"{Path(args.net_onnx).name}, act layer {args.act_layer}, batch {args.batch}, "
          f"median of {args.repeats}")
    for label, seconds in rows:
        print(f"  {label:36s} {seconds:7.2f} s  ({seconds / session:5.1f}x the baseline)")


if __name__ == "__main__":
    main()
