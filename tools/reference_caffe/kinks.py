"""pycaffe forward/backward that hold units sitting on a kink off, for gradient fixtures.

A ReLU whose input is within float32 rounding of 0, or a max-pooling window whose two
largest inputs are that close, has no well-defined derivative: Caffe and any other float32
implementation may take different sides, and one such unit changes a whole input gradient
by about 1e-3 (measured: GoogLeNet inception_4c/3x3 at -2.8e-6, upconv deconv1 at -2.8e-7).
For gradient fixtures those units are held in both implementations: their output keeps
Caffe's value as a constant (y = y * 0 + held, in the other implementation), so no gradient
flows through them and the forward pass is unchanged. A unit is
ambiguous when |x| < TAU * max|x| (ReLU input) or 0 < top1 − top2 < TAU * max|x| (MAX window).
Exact ties of 0 (ReLU zeros, resolved to the first by both, and killed by the ReLU behind)
are not ambiguous; exact ties of other values are: they come from pooling pooled outputs
(both twins are one input, so the choice does not change the input gradient), and a held
value upstream can turn such a tie into a near-tie in the other implementation.

`KinkedNet` runs pycaffe layer by layer (``_forward(i, i)``, ``_backward(i, i)``),
records those units per layer (``masks``: layer name → flat indices into its top blob;
``held``: their values after the layer) and zeroes their top diff before each such layer's
backward.
`PlainNet` is the same interface over pycaffe's ordinary calls (the release's behaviour).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from converters.caffe.layers.pooling import caffe_pooled_size
from tools import synthetic_weights as sw

TAU = 1e-4


class PlainNet:
    """pycaffe's own forward(end=...) / backward(start=...)."""

    def __init__(self, net) -> None:
        self.net = net
        self.masks: dict[str, np.ndarray] = {}
        self.held: dict[str, np.ndarray] = {}

    def forward(self, end: str | None = None) -> None:
        self.net.forward(end=end)

    def backward(self, start: str | None = None) -> None:
        self.net.backward(start=start)


class KinkedNet(PlainNet):
    """Layer-by-layer pycaffe with ambiguous ReLU units and MAX windows held off."""

    def __init__(self, net, layers: list[sw.arch.Layer], tau: float = TAU) -> None:
        super().__init__(net)
        self.names = list(net._layer_names)
        self.specs = {layer.name: layer for layer in layers}
        self.tau = tau

    def _index(self, name: str | None, default: int) -> int:
        return default if name is None else self.names.index(name)

    def _kind(self, name: str) -> str | None:
        spec = self.specs.get(name)
        if spec is None:
            return None
        if spec.type == "ReLU":
            return "relu"
        if spec.type == "Pooling" and str(dict(spec.params)["pool"]) == "MAX":
            return "max"
        return None

    def forward(self, end: str | None = None) -> None:
        self.masks, self.held = {}, {}
        for i in range(self._index(end, len(self.names) - 1) + 1):
            name = self.names[i]
            kind = self._kind(name)
            top = self.net.top_names[name][0] if kind else None
            if kind == "relu":
                ambiguous = relu_ambiguous(self.net.blobs[top].data, self.tau)
            self.net._forward(i, i)
            if kind == "max":
                bottom = self.net.bottom_names[name][0]
                ambiguous = max_pool_ambiguous(self.net.blobs[bottom].data, self.specs[name],
                                               self.tau)
            if kind:
                self.masks[name] = ambiguous
                self.held[name] = self.net.blobs[top].data.reshape(-1)[ambiguous].copy()

    def backward(self, start: str | None = None) -> None:
        for i in range(self._index(start, len(self.names) - 1), -1, -1):
            name = self.names[i]
            if name in self.masks:
                self.net.blobs[self.net.top_names[name][0]].diff.reshape(-1)[self.masks[name]] = 0.0
            self.net._backward(i, i)


def relu_ambiguous(pre_activation: np.ndarray, tau: float) -> np.ndarray:
    """Flat indices of ReLU inputs within tau * max|x| of 0."""
    flat = pre_activation.reshape(-1)
    scale = float(np.abs(flat).max()) if flat.size else 0.0
    return np.flatnonzero(np.abs(flat) < tau * scale).astype(np.int32)


def max_pool_ambiguous(bottom: np.ndarray, layer: sw.arch.Layer, tau: float) -> np.ndarray:
    """Flat output indices of MAX windows (Caffe's geometry) whose top two differ by less
    than tau * max, or tie exactly on a value other than 0."""
    params = dict(layer.params)
    kernel, stride, pad = (int(params["kernel_size"]), int(params.get("stride", 1)),
                           int(params.get("pad", 0)))
    _, _, height, width = bottom.shape
    pooled = [caffe_pooled_size(size, kernel, pad, stride) for size in (height, width)]
    extra = [max(0, (n - 1) * stride + kernel - pad - size)
             for n, size in zip(pooled, (height, width))]
    borders = ((0, 0), (0, 0), (pad, extra[0]), (pad, extra[1]))

    def windows(array: np.ndarray, fill: object) -> np.ndarray:
        view = sliding_window_view(np.pad(array, borders, constant_values=fill),
                                   (kernel, kernel), axis=(2, 3))
        view = view[:, :, ::stride, ::stride][:, :, :pooled[0], :pooled[1]]
        return view.reshape(*view.shape[:4], -1)

    values = windows(bottom.astype(np.float64), -math.inf)
    top_two = -np.partition(-values, 1, axis=-1)[..., :2]
    gap = top_two[..., 0] - top_two[..., 1]
    ambiguous = (gap > 0) & (gap < tau * float(np.abs(bottom).max()))
    ambiguous |= (gap == 0) & (top_two[..., 0] != 0)
    return np.flatnonzero(ambiguous).astype(np.int32)
