"""Benchmark (not a test): ms per DGN-AM iteration of the same step graph in every installed
runtime, in one run: the demo pair (models/demo) and full size (the fc6 generator + CaffeNet with
bench_loop.py's seeded synthetic weights, never the official ones), act layer fc8, bound mode,
batch 1, one thread each.

The iteration is iteration 0 of the published schedule from seed 0's start code; each runtime
loads the exported step graph (`python -m reproduce export_step`), runs it once, then --repeat
times (median reported; node and the browser time inside JavaScript, so process start and data
transfer are not counted). Also printed: each runtime's new code relative to ONNX Runtime in
Python (the one-step agreement `python -m reproduce conformance` checks), and ONNX Runtime on
the same graph without the weight copies (reproduce.step.weight_copies) and without its layout
optimiser (what a Loop body gets), to show what those cost it.
Usage: python benchmarks/bench_runtimes.py [--sizes demo full] [--repeat 10] [--runtimes NAME ...]
    [--table FILE]   (also write the results as a Markdown table: tools/regenerate_tables.py)
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from common.atomic import atomic_write_bytes  # noqa: E402
from converters.caffe.onnx_file import save_onnx  # noqa: E402
from reproduce.conformance.cases import Case  # noqa: E402
from common.numerics import relative_error  # noqa: E402
from reproduce.conformance.runtimes import (RUNTIMES, OnnxRuntimePython,  # noqa: E402
                                            OnnxRuntimePythonNoLayout, Runtime, RuntimeFailure)
from reproduce.inputs.bounds import load_bounds  # noqa: E402
from reproduce.inputs.start_code import as_stored_code, random_start_code  # noqa: E402
from reproduce.run.job import NetFiles, build_step_model  # noqa: E402
from reproduce.step.graph import CodeMode  # noqa: E402

DEMO = REPO / "models" / "demo"
NETS = REPO / "models" / "nets"
BENCH_RUNTIMES = ("onnxruntime", "onnxruntime-node", "onnxruntime-web-node",
                  "onnxruntime-web-chromium", "openvino", "tract")


def net_files(size: str, workdir: Path) -> tuple[NetFiles, Path | None]:
    """The nets and the bound file (None: a synthetic bound) of a size."""
    if size == "demo":
        return NetFiles(str(DEMO / "generator.prototxt"), str(DEMO / "generator.caffemodel"),
                        str(DEMO / "classifier.prototxt"), str(DEMO / "classifier.caffemodel")), DEMO / "fc6_3x.txt"
    from bench_loop import prepare_weights
    gen_weights, net_weights = prepare_weights(workdir / "weights")
    return NetFiles(str(NETS / "upconv" / "fc6" / "generator.prototxt"), str(gen_weights),
                    str(NETS / "caffenet.prototxt"), str(net_weights)), None


def iteration_case(model: onnx.ModelProto, bound_file: Path | None) -> Case:
    shapes = {value.name: [d.dim_value for d in value.type.tensor_type.shape.dim] for value in model.graph.input}
    code_size = shapes["code"][1]
    if bound_file is not None:
        lower, upper = load_bounds(bound_file, code_size)
    else:
        lower, upper = np.zeros((1, code_size)), np.full((1, code_size), 3.0)
    feeds = {"code": as_stored_code(random_start_code(0, code_size)), "step": np.array(8.0),
             "unit": np.array([1], np.int64), "l2": np.array(0.99), "active": np.ones(1, np.bool_),
             "best": np.zeros(shapes["best"], np.float32), "lower": lower, "upper": upper}
    return Case("iteration 0", feeds, ("new_code", "act", "image"))


TableRow = tuple[str, str, str, str, str, str]  # size, runtime, model, ms/iter, vs ORT, code vs ORT


def bench_size(size: str, runtimes: list[Runtime], repeat: int, workdir: Path,
               table: list[TableRow]) -> None:
    """Prints the size's results and appends them to `table`."""
    files, bound_file = net_files(size, workdir)
    step_model = build_step_model(files, "fc8", 1, CodeMode.BOUND)
    step = step_model.exported()
    path, shared_path = workdir / f"{size}_step.onnx", workdir / f"{size}_step_shared.onnx"
    save_onnx(step, str(path))
    save_onnx(step_model.exported(weight_copies=False), str(shared_path))
    case = iteration_case(step, bound_file)
    reference = OnnxRuntimePython().run(path, [case], workdir)[0]
    rows = [(OnnxRuntimePython(), path, "as exported"), (OnnxRuntimePython(), shared_path, "without weight copies"),
            (OnnxRuntimePythonNoLayout(), path, "as exported")]
    rows += [(runtime, path, "as exported") for runtime in runtimes if not isinstance(runtime, OnnxRuntimePython)]
    print(f"\n{size}: {path.stat().st_size / 1e6:.0f} MB step graph, batch 1, one thread, median of {repeat}")
    print(f"{'runtime':44s} {'model':22s} {'ms/iter':>9s} {'vs ORT':>7s} {'code vs ORT':>12s}")
    baseline = None
    for runtime, model_path, label in rows:
        reason = runtime.unavailable()
        if reason:
            print(f"{runtime.name:44s} skipped: {reason}")
            table.append((size, runtime.name, label, "skipped", "–", "–"))
            continue
        try:
            ms = runtime.time_case(model_path, case, repeat, workdir / "work")
            code = runtime.run(model_path, [case], workdir / "work")[0]["new_code"]
        except RuntimeFailure as failure:
            print(f"{runtime.name:44s} {label:22s} fails: {failure}")
            table.append((size, f"{runtime.name} {runtime.version()}", label, "fails", "–", "–"))
            continue
        baseline = baseline or ms
        error = relative_error(code, reference['new_code'])
        print(f"{runtime.name:44s} {label:22s} {ms:9.2f} {ms / baseline:6.2f}x {error:12.1e}")
        table.append((size, f"{runtime.name} {runtime.version()}", label, f"{ms:.2f}",
                      f"{ms / baseline:.2f}x", f"{error:.1e}"))


def markdown_table(rows: list[TableRow], repeat: int) -> str:
    """The results as the README's table."""
    lines = [f"| size | runtime | model | ms/iteration (median of {repeat}) | vs ONNX Runtime | "
             "new code vs ONNX Runtime |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=("demo", "full"), default=["demo", "full"])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--runtimes", nargs="+", choices=list(RUNTIMES), default=list(BENCH_RUNTIMES))
    parser.add_argument("--table", type=Path, help="also write the results as a Markdown table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runtimes = [RUNTIMES[name]() for name in args.runtimes]
    workdir = REPO / "build" / "bench_runtimes"
    workdir.mkdir(parents=True, exist_ok=True)
    table: list[TableRow] = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as scratch:
            bench_size(size, runtimes, args.repeat, Path(scratch) if size == "demo" else workdir, table)
    if args.table:
        atomic_write_bytes(args.table, markdown_table(table, args.repeat).encode())


if __name__ == "__main__":
    main()
