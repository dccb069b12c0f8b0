"""Benchmark (not a test): cost of the VJP graph relative to the forward graph on this CPU.

Full-size CaffeNet (227x227; d fc8[unit] / d data) and fc6 generator (d deconv0 . v /
d feat) with synthetic weights (seeded random, never the official ones), converted by
caffe_to_onnx and differentiated by build_vjp. Both graphs run on ONNX Runtime with the
same session options; the VJP graph includes its own forward pass, so

    backward / forward = (t_vjp - t_forward) / t_forward      (goal <= 2.0)

Caffe's own backward costs about 12x its forward, since it also computes weight
gradients. Usage: python benchmarks/bench_vjp.py [--repeats N] [--threads N]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from google.protobuf import text_format

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common.progress import progress  # noqa: E402
from converters import build_vjp, caffe_to_onnx  # noqa: E402
from converters.caffe import schema  # noqa: E402
from converters.caffe.writer import write_caffemodel  # noqa: E402

NETS = {  # name: (prototxt, input blob, output blob / end layer, cotangent kind)
    "CaffeNet d fc8[unit]/d data": ("models/nets/caffenet.prototxt", "data", "fc8", "onehot"),
    "fc6 generator d deconv0.v/d feat": ("models/nets/upconv/fc6/generator.prototxt", "feat",
                                         "deconv0", "image"),
}


def _first(values, default: int) -> int:
    if isinstance(values, int):
        return values or default
    return int(values[0]) if len(values) else default


def _weight_shapes(net, end: str) -> dict[str, tuple[tuple[int, ...], int]]:
    """Weight shape and bias length of every weighted layer, walking blob shapes as Caffe
    sizes them (convolution floor, pooling ceil, deconvolution (H-1)s + k - 2p)."""
    shape = tuple(net.input_shape[0].dim)
    shapes = {}
    for layer in net.layer:
        conv, pool = layer.convolution_param, layer.pooling_param
        if layer.type in ("Convolution", "Deconvolution"):
            k, s, p = _first(conv.kernel_size, 1), _first(conv.stride, 1), _first(conv.pad, 0)
            group, m = conv.group or 1, conv.num_output
            if layer.type == "Convolution":
                shapes[layer.name] = ((m, shape[1] // group, k, k), m)
                size = [(d + 2 * p - k) // s + 1 for d in shape[2:]]
            else:
                shapes[layer.name] = ((shape[1], m // group, k, k), m)
                size = [(d - 1) * s + k - 2 * p for d in shape[2:]]
            shape = (shape[0], m, *size)
        elif layer.type == "Pooling":
            k, s, p = pool.kernel_size, pool.stride, pool.pad
            shape = shape[:2] + tuple(math.ceil((d + 2 * p - k) / s) + 1 for d in shape[2:])
        elif layer.type == "InnerProduct":
            m = layer.inner_product_param.num_output
            shapes[layer.name] = ((m, int(np.prod(shape[1:]))), m)
            shape = (shape[0], m)
        elif layer.type == "Reshape":
            shape = tuple(shape[i] if d == 0 else d
                          for i, d in enumerate(layer.reshape_param.shape.dim))
        if layer.name == end:
            return shapes
    raise ValueError(f"no layer {end}")


def synthetic_caffemodel(prototxt: Path, end: str, path: Path, seed: int = 0) -> None:
    net = text_format.Parse(prototxt.read_text(), schema.NetParameter())
    rng = np.random.default_rng(seed)
    blobs = {name: [(rng.standard_normal(w_shape, dtype=np.float32)
                     * np.float32(math.sqrt(2.0 / np.prod(w_shape[1:])))),
                    rng.uniform(-0.1, 0.1, n_bias).astype(np.float32)]
             for name, (w_shape, n_bias) in _weight_shapes(net, end).items()}
    write_caffemodel(path, blobs)


def _median_ms(runs: list[tuple[ort.InferenceSession, dict]], repeats: int) -> list[float]:
    """Median wall time of each (session, feeds), runs interleaved so that load from other
    processes on this machine hits them alike."""
    times: list[list[float]] = [[] for _ in runs]
    for session, feeds in runs:
        session.run(None, feeds)
    for _ in range(repeats):
        for record, (session, feeds) in zip(times, runs):
            start = time.perf_counter()
            session.run(None, feeds)
            record.append(time.perf_counter() - start)
    return [1e3 * statistics.median(record) for record in times]


def measure(name: str, repeats: int, threads: int, batch: int,
            workdir: Path) -> tuple[float, float]:
    prototxt, input_blob, output_blob, cotangent_kind = NETS[name]
    weights = workdir / f"{output_blob}.caffemodel"
    if not weights.exists():
        synthetic_caffemodel(REPO / prototxt, output_blob, weights)
    forward = caffe_to_onnx(REPO / prototxt, weights, end=output_blob, batch="dynamic")
    vjp = build_vjp(forward, [input_blob], [output_blob])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sessions = [ort.InferenceSession(m.SerializeToString(), options,
                                     providers=["CPUExecutionProvider"]) for m in (forward, vjp)]
    rng = np.random.default_rng(1)
    input_shape = [batch] + [d.dim_value for d in
                             forward.graph.input[0].type.tensor_type.shape.dim[1:]]
    output_shape = [batch] + [d.dim_value for d in
                              forward.graph.output[0].type.tensor_type.shape.dim[1:]]
    x = rng.uniform(-100, 100, input_shape).astype(np.float32)
    cotangent = np.zeros(output_shape, np.float32)
    if cotangent_kind == "onehot":  # one unit per row, as the driver batches units
        cotangent.reshape(batch, -1)[np.arange(batch), 643 - np.arange(batch)] = 1.0
    else:
        cotangent[...] = rng.normal(0, 1, output_shape)
    t_forward, t_vjp = _median_ms([(sessions[0], {input_blob: x}),
                                   (sessions[1], {input_blob: x,
                                                  f"{output_blob}_grad": cotangent})], repeats)
    return t_forward, t_vjp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per graph")
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads")
    parser.add_argument("--batch", type=int, action="append",
                        help="rows per run (repeatable; default 1); graphs use a dynamic batch")
    args = parser.parse_args(argv)
    print(f"ONNX Runtime {ort.__version__}, CPU, {args.threads} intra-op thread(s), "
          f"median of {args.repeats} interleaved runs")
    with tempfile.TemporaryDirectory() as workdir:
        for name in progress(NETS, desc="bench_vjp", unit="net"):
            for batch in args.batch or [1]:
                t_forward, t_vjp = measure(name, args.repeats, args.threads, batch,
                                           Path(workdir))
                ratio = (t_vjp - t_forward) / t_forward
                verdict = "meets" if ratio <= 2.0 else "MISSES"
                print(f"{name}, batch {batch}: forward {t_forward:.1f} ms, forward+backward "
                      f"{t_vjp:.1f} ms, backward/forward {ratio:.2f} ({verdict} the 2.0 goal), "
                      f"vjp graph/forward {t_vjp / t_forward:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
