"""Synthetic weights of the right shapes for any convertible Caffe net (for benchmarks,
demos and tests: never a stand-in for official weights)."""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from converters.caffe.reader import CaffeLayer, load_caffe_net
from converters.caffe.to_onnx import net_to_onnx
from converters.caffe.weights import fill_missing_blobs


def _blob(rng: np.random.Generator, shape: tuple[int, ...], role: str) -> np.ndarray:
    if role == "weights":
        fan_in = int(np.prod(shape[1:])) or 1
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    if role in ("variance", "scale", "scale factor"):
        return np.ones(shape, np.float32)
    return np.zeros(shape, np.float32)


def synthetic_weights(prototxt: str | os.PathLike, seed: int = 0,
                      batch: int = 1) -> dict[str, list[np.ndarray]]:
    """Layer name → blobs for every learned layer of the net: He-scaled Gaussian weights,
    zero biases and means, unit variances/scales; shapes exactly as the prototxt implies."""
    rng = np.random.default_rng(seed)
    net = load_caffe_net(prototxt)

    def make(layer: CaffeLayer, shapes: Sequence[tuple[int, ...]], roles: Sequence[str]):
        return [_blob(rng, shape, role) for shape, role in zip(shapes, roles, strict=True)]

    with fill_missing_blobs(make):
        net_to_onnx(net, batch=batch)
    return {layer.name: layer.blobs for layer in net.layers if layer.blobs}


def learned_blob_shapes(prototxt: str | os.PathLike,
                        batch: int = 1) -> dict[str, list[tuple[int, ...]]]:
    """Layer name → shapes of its learned blobs in Caffe's order (weights, bias, ...), in
    layer order, exactly as the converter infers them from the prototxt."""
    net = load_caffe_net(prototxt)
    shapes: dict[str, list[tuple[int, ...]]] = {}

    def record(layer: CaffeLayer, blob_shapes: Sequence[tuple[int, ...]], roles: Sequence[str]):
        shapes[layer.name] = list(blob_shapes)
        return [np.zeros(shape, np.float32) for shape in blob_shapes]

    with fill_missing_blobs(record):
        net_to_onnx(net, batch=batch)
    return {layer.name: shapes[layer.name] for layer in net.layers if layer.name in shapes}
