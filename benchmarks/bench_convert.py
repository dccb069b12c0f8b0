"""Benchmark (not a test): time and peak memory of converting a CaffeNet-size net.

Synthetic weights (61 M parameters, He-scaled) for models/nets/caffenet.prototxt are written
as a V1-layout caffemodel (~244 MB, the layout of BVLC's reference CaffeNet); then, each in
a fresh subprocess so that peak RSS (ru_maxrss) is per run:
  baseline  python + the converter's imports, nothing converted;
  read      reading the caffemodel's bytes (the I/O floor);
  api       caffe_to_onnx(prototxt, caffemodel) -> ModelProto in memory;
  cli       python -m converters caffe2onnx ... -o net.onnx (convert + serialise + write).
Each step runs --repeat times (fastest time, largest peak shown). Prints seconds, peak RSS, peak RSS above the baseline, and ratios to the weight file's size,
against the goals: under 10 s and under 3x the weight file's size.

    .venv/bin/python benchmarks/bench_convert.py [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOAL_SECONDS, GOAL_MEMORY_RATIO = 10.0, 3.0
# Every child reports its own high-water mark (VmHWM, reset by exec, unlike ru_maxrss).
REPORT_PEAK = ("import atexit; atexit.register(lambda: open(PEAK_FILE, 'w').write("
               "[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]))")
IMPORTS = "import numpy, onnx, converters.caffe.to_onnx, converters.caffe.cli"
PROGRAMS = {
    "baseline": f"{IMPORTS}",
    "read": f"{IMPORTS}; from pathlib import Path; Path(CAFFEMODEL).read_bytes()",
    "api": f"{IMPORTS}; from converters import caffe_to_onnx; caffe_to_onnx(PROTOTXT, CAFFEMODEL)",
    "cli": "import runpy, sys; sys.argv = ['converters', 'caffe2onnx', PROTOTXT, CAFFEMODEL, "
           "'-o', ONNX]; runpy.run_module('converters', run_name='__main__')",
}


def _measure(preamble: str, program: str, env: dict[str, str], peak_file: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in bytes) of one child process running `program`."""
    code = f"{preamble}PEAK_FILE = {str(peak_file)!r}; {REPORT_PEAK}; {program}"
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                               stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"benchmark step failed: {program}")
    return seconds, float(peak_file.read_text().split()[1]) * 1024.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prototxt", default=str(REPO / "models/nets/caffenet.prototxt"))
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per step: the fastest time and the largest peak are shown")
    args = parser.parse_args()
    if not Path(args.prototxt).is_file():
        print(f"bench_convert: {args.prototxt} not found", file=sys.stderr)
        return 1
    from converters.caffe.synthetic import synthetic_weights
    from converters.caffe.writer import write_caffemodel

    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.keep or temporary)
        work.mkdir(parents=True, exist_ok=True)
        caffemodel = work / "caffenet_synthetic.caffemodel"
        weights = synthetic_weights(args.prototxt, seed=0)
        parameters = sum(blob.size for blobs in weights.values() for blob in blobs)
        write_caffemodel(caffemodel, weights, layout="v1",
                         layer_types={name: "Convolution" if name.startswith("conv")
                                      else "InnerProduct" for name in weights})
        del weights
        file_size = caffemodel.stat().st_size
        env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
        preamble = (f"PROTOTXT = {str(args.prototxt)!r}; CAFFEMODEL = {str(caffemodel)!r}; "
                    f"ONNX = {str(work / 'caffenet.onnx')!r}; ")
        results = {}
        for name, program in PROGRAMS.items():
            runs = [_measure(preamble, program, env, work / "peak.txt")
                    for _ in range(args.repeat)]
            results[name] = (min(r[0] for r in runs), max(r[1] for r in runs))
        onnx_size = (work / "caffenet.onnx").stat().st_size

    mb = 1e6
    base_seconds, base_rss = results["baseline"]
    print(f"net: {args.prototxt}; {parameters / 1e6:.1f} M parameters; caffemodel (V1 layout) "
          f"{file_size / mb:.0f} MB; ONNX written {onnx_size / mb:.0f} MB")
    print(f"{'run':9s} {'seconds':>8s} {'peak RSS MB':>12s} {'above base MB':>14s} "
          f"{'RSS/file':>9s} {'(above)/file':>13s}")
    for name, (seconds, rss) in results.items():
        print(f"{name:9s} {seconds:8.2f} {rss / mb:12.0f} {(rss - base_rss) / mb:14.0f} "
              f"{rss / file_size:9.2f} {(rss - base_rss) / file_size:13.2f}")
    for name in ("api", "cli"):
        seconds, rss = results[name]
        convert_seconds = seconds - base_seconds
        print(f"{name}: {seconds:.2f} s ({convert_seconds:.2f} s beyond start-up) vs goal "
              f"< {GOAL_SECONDS:.0f} s: {'met' if seconds < GOAL_SECONDS else 'MISSED'}; peak RSS "
              f"{rss / file_size:.2f}x file ({(rss - base_rss) / file_size:.2f}x above start-up) "
              f"vs goal < {GOAL_MEMORY_RATIO:.0f}x: "
              f"{'met' if rss / file_size < GOAL_MEMORY_RATIO else 'MISSED'}")
        print(f"{name}: time vs reading the file: {results[name][0] / results['read'][0]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
