"""PyTorch twins of the demo Caffe layer tables, for training only (torch is an extra).

`CaffeChain` runs a layer table the way Caffe's forward does (in-place layers overwrite
their blob; MAX pooling with Caffe's ceil output size, which with pad 0 is torch's
ceil_mode; LRN across channels with k = 1 and alpha / n, as torch's LocalResponseNorm) and
returns every blob. `caffe_blobs` hands back the weights in Caffe's layouts (Convolution
(out, in, kh, kw), Deconvolution (in, out, kh, kw), InnerProduct (out, in)); torch uses the
same layouts, so only the input/output scale factors used in training are folded in.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.nets.write_prototxts import Layer


def _param(layer: Layer, key: str, default: object = None) -> object:
    return dict(layer.params).get(key, default)


def _pool_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Caffe's pooled size: ceil, minus one when the last window starts in the padding."""
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if pad > 0 and (out - 1) * stride >= size + pad:
        out -= 1
    return out


class CaffeChain(nn.Module):
    """A single-input Caffe layer table as a torch module; forward returns all blobs."""

    def __init__(self, layers: Sequence[Layer], input_name: str, input_shape: Sequence[int]):
        super().__init__()
        self.layers = list(layers)
        self.input_name = input_name
        self.modules_by_name = nn.ModuleDict()
        shapes = {input_name: tuple(input_shape[1:])}
        for layer in self.layers:
            shape = shapes[layer.bottoms[0]]
            module, out_shape = self._build(layer, shape)
            if module is not None:
                self.modules_by_name[layer.name] = module
            shapes[layer.tops[0]] = out_shape
        self.shapes = shapes

    @staticmethod
    def _build(layer: Layer, shape: tuple[int, ...]) -> tuple[nn.Module | None, tuple]:
        if layer.type in ("Convolution", "Deconvolution"):
            out, k = _param(layer, "num_output"), _param(layer, "kernel_size")
            s, p = _param(layer, "stride", 1), _param(layer, "pad", 0)
            if layer.type == "Convolution":
                size = (shape[1] + 2 * p - k) // s + 1
                return nn.Conv2d(shape[0], out, k, s, p), (out, size, size)
            size = (shape[1] - 1) * s - 2 * p + k
            return nn.ConvTranspose2d(shape[0], out, k, s, p), (out, size, size)
        if layer.type == "InnerProduct":
            out = _param(layer, "num_output")
            return nn.Linear(int(np.prod(shape)), out), (out,)
        if layer.type == "Pooling":
            k, s, p = (_param(layer, n, d) for n, d in
                       (("kernel_size", 1), ("stride", 1), ("pad", 0)))
            size = _pool_size(shape[1], k, s, p)
            return None, (shape[0], size, size)
        if layer.type == "Reshape":
            dims = [d for _, d in _param(layer, "shape")][1:]
            return None, tuple(dims)
        if layer.type == "Dropout":
            return nn.Dropout(_param(layer, "dropout_ratio", 0.5)), shape
        return None, shape

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Blob name -> value after the full forward; "after LAYER" -> that layer's output
        (an in-place blob as its layer left it, e.g. "after relu6" before drop6)."""
        blobs = {self.input_name: x}
        for layer in self.layers:
            bottom = blobs[layer.bottoms[0]]
            blobs[layer.tops[0]] = blobs[f"after {layer.name}"] = self._apply(layer, bottom)
        return blobs

    def _apply(self, layer: Layer, x: torch.Tensor) -> torch.Tensor:
        if layer.name in self.modules_by_name:
            module = self.modules_by_name[layer.name]
            return module(x.flatten(1) if isinstance(module, nn.Linear) else x)
        if layer.type == "ReLU":
            return F.leaky_relu(x, _param(layer, "negative_slope", 0.0))
        if layer.type == "Pooling":
            k, s, p = (_param(layer, n, d) for n, d in
                       (("kernel_size", 1), ("stride", 1), ("pad", 0)))
            if p:
                raise NotImplementedError("padded pooling: torch's rule differs from Caffe's")
            return F.max_pool2d(x, k, s, 0, ceil_mode=True)
        if layer.type == "LRN":
            return F.local_response_norm(x, _param(layer, "local_size"),
                                         _param(layer, "alpha"), _param(layer, "beta"), 1.0)
        if layer.type == "Reshape":
            return x.reshape(x.shape[0], *self.shapes[layer.tops[0]])
        if layer.type == "Softmax":
            return F.softmax(x, dim=1)
        raise NotImplementedError(f"layer {layer.name}: type {layer.type}")

    def caffe_blobs(self) -> dict[str, list[np.ndarray]]:
        """Layer name -> [weight, bias] as float32 arrays in Caffe layout."""
        return {name: [module.weight.detach().numpy().astype(np.float32),
                       module.bias.detach().numpy().astype(np.float32)]
                for name, module in self.modules_by_name.items()
                if not isinstance(module, nn.Dropout)}
