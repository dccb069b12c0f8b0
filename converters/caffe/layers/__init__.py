"""Registry from Caffe layer type to the function converting one such layer to ONNX nodes.

A converter has the signature `convert(graph, layer, bottoms) -> tops`: it receives the
GraphBuilder, the CaffeLayer and the ONNX tensors of its bottoms, adds nodes, and returns
one Tensor per top. Adding a layer type is adding a decorated function in a family module
listed in `_FAMILY_MODULES`.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.reader import CaffeLayer

LayerConverter = Callable[[GraphBuilder, CaffeLayer, list[Tensor]], list[Tensor]]
CONVERTERS: dict[str, LayerConverter] = {}
_FAMILY_MODULES = ("convolution", "inner_product", "pooling", "normalization", "activation",
                   "structure", "elementwise", "io")


def register(*caffe_types: str) -> Callable[[LayerConverter], LayerConverter]:
    """Decorator registering a converter for the given Caffe type names."""
    def add(function: LayerConverter) -> LayerConverter:
        for caffe_type in caffe_types:
            CONVERTERS[caffe_type] = function
        return function
    return add


for _module in _FAMILY_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

SUPPORTED_TYPES = frozenset(CONVERTERS)


def unsupported_type_message(layer_name: str, layer_type: str) -> str:
    """The one line shown for a layer type without converter."""
    return (f"layer {layer_name}: unsupported Caffe layer type '{layer_type}' "
            f"(supported: {', '.join(sorted(SUPPORTED_TYPES))})")
