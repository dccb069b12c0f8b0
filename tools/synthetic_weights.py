"""Seeded synthetic weights and inputs for the project-written nets (never the real weights).

Both the fixture tool (tools/make_fixtures.py, run under real Caffe) and the CI tests
(tests/test_caffe_fixtures*.py) build the same weights from the same seeds through this
module, so fixtures store only Caffe's outputs, never weights.

Weights are uniform with a He-style scale (std = gain * sqrt(2 / fan_in)), drawn with
NumPy's legacy ``RandomState`` (its stream is fixed across NumPy versions); biases are
uniform with std 0.1. Inputs are uniform in the pixel range of mean-subtracted images.
Blob shapes are the converter's, read from models/nets/*.prototxt (written from the
architecture tables whose layer order fixes the order of the draws).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from converters.caffe.synthetic import learned_blob_shapes
from models.nets import write_prototxts as arch

REPO_ROOT = Path(__file__).resolve().parent.parent
NETS_DIR = REPO_ROOT / "models" / "nets"
PIXEL_RANGE = 120.0  # mean-subtracted BGR pixels span roughly ±120


@dataclass(frozen=True)
class SyntheticNet:
    """A project-written net, the seed of its synthetic weights and the caffemodel layout."""

    key: str
    prototxt: str  # relative to models/nets/
    layers: Callable[[], list[arch.Layer]]
    input_name: str
    input_shape: tuple[int, ...]
    seed: int
    layouts: tuple[str, ...]  # caffemodel layouts written; the first is the one tests use
    output_gain: float = 1.0  # extra factor on the last weighted layer

    @property
    def prototxt_path(self) -> Path:
        return NETS_DIR / self.prototxt


NETS: dict[str, SyntheticNet] = {net.key: net for net in (
    SyntheticNet("caffenet", "caffenet.prototxt", arch.caffenet_layers, "data",
                 (1, 3, 227, 227), seed=1001, layouts=("v2", "v1", "v0")),
    SyntheticNet("googlenet", "googlenet.prototxt", arch.googlenet_layers, "data",
                 (1, 3, 224, 224), seed=1002, layouts=("v1", "v2", "v0")),
    SyntheticNet("places205", "places205_alexnet_v0.prototxt",
                 lambda: arch.alexnet_layers(205, with_dropout=True), "data",
                 (1, 3, 227, 227), seed=1003, layouts=("v0", "v1", "v2")),
    SyntheticNet("generator_fc6", "upconv/fc6/generator.prototxt",
                 lambda: arch.generator_layers("fc6"), "feat", (1, 4096), seed=1004,
                 layouts=("v2", "v1"), output_gain=40.0),  # no V0 Deconvolution
)}


def _param(layer: arch.Layer, key: str, default: object = None) -> object:
    return dict(layer.params).get(key, default)


def synthetic_weights(net: SyntheticNet) -> dict[str, list[np.ndarray]]:
    """Layer name -> [weights, bias] (float32), in layer order, from the net's seed."""
    layers = net.layers()
    shapes = learned_blob_shapes(net.prototxt_path)
    rng = np.random.RandomState(net.seed)
    last = list(shapes)[-1]
    weights: dict[str, list[np.ndarray]] = {}
    for layer in layers:
        if layer.name not in shapes:
            continue
        w_shape, b_shape = shapes[layer.name]
        if layer.type == "Deconvolution":  # each output sees c_in * (k / stride)^2 inputs
            stride = int(_param(layer, "stride", 1))
            fan_in = w_shape[0] * w_shape[2] * w_shape[3] / stride ** 2
        else:
            fan_in = int(np.prod(w_shape[1:]))
        gain = net.output_gain if layer.name == last else 1.0
        weights[layer.name] = [_uniform(rng, w_shape, gain * math.sqrt(2.0 / fan_in)),
                               _uniform(rng, b_shape, 0.1)]
    return weights


def _uniform(rng: np.random.RandomState, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Uniform in [-a, a] with a = sqrt(3) * std, as float32."""
    half_width = math.sqrt(3.0) * std
    return ((rng.random_sample(shape) * 2.0 - 1.0) * half_width).astype(np.float32)


def synthetic_input(net: SyntheticNet, seed_offset: int = 0) -> np.ndarray:
    """The net's input blob: uniform pixels (images) or a standard normal code (generators)."""
    rng = np.random.RandomState(net.seed + 100 + seed_offset)
    if net.input_name == "feat":
        return rng.standard_normal(net.input_shape).astype(np.float32)
    return _uniform(rng, net.input_shape, PIXEL_RANGE / math.sqrt(3.0))


def synthetic_bounds(seed: int, code_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) code bounds like the release's act_range files: zeros and positives."""
    upper = np.random.RandomState(seed).uniform(1.0, 15.0, (1, code_size))
    return np.zeros((1, code_size)), upper


def layer_types(net: SyntheticNet) -> dict[str, str]:
    """Layer name -> Caffe type (the legacy caffemodel layouts need one per layer)."""
    return {layer.name: layer.type for layer in net.layers()}


def synthetic_cotangent(net: SyntheticNet, shape: Sequence[int]) -> np.ndarray:
    """A standard normal output gradient (e.g. for the generator's deconv0), from the seed."""
    return np.random.RandomState(net.seed + 200).standard_normal(tuple(shape)).astype(np.float32)


def caffemodel_name(net: SyntheticNet, layout: str) -> str:
    return f"{net.key}.{layout}.caffemodel"


def write_synthetic_caffemodels(net: SyntheticNet, out_dir: str | os.PathLike,
                                layouts: Sequence[str] | None = None) -> list[Path]:
    """Writes the net's synthetic weights with the project's writer, one file per layout."""
    from converters.caffe.writer import write_caffemodel
    weights, types = synthetic_weights(net), layer_types(net)
    paths = []
    for layout in layouts or net.layouts:
        path = Path(out_dir) / caffemodel_name(net, layout)
        write_caffemodel(path, weights, layout=layout, layer_types=types, net_name=net.key)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: write every (or the named) net's synthetic caffemodels into a folder."""
    import argparse
    parser = argparse.ArgumentParser(description="write seeded synthetic caffemodels")
    parser.add_argument("out_dir")
    parser.add_argument("nets", nargs="*", help=f"some of: {', '.join(NETS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [key for key in args.nets if key not in NETS]
    if unknown:
        parser.error(f"unknown net {unknown[0]!r}; known: {', '.join(NETS)}")
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    for key in args.nets or NETS:
        for path in write_synthetic_caffemodels(NETS[key], args.out_dir):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
