"""Registry from Caffe layer type to the function converting one such layer to ONNX nodes.

A converter has the signature `convert(graph, layer, bottoms) -> tops`: it receives the
GraphBuilder, the CaffeLayer and the ONNX tensors of its bottoms, adds nodes, and returns
one Tensor per top. It is registered with `@register("Type", onnx_ops=(...))`, naming the
ONNX ops it may emit (to_onnx checks each conversion against them, and the VJP tests derive
from them the ops that need a gradient rule).

Adding a layer type is adding one module to this package (or one decorated function in an
existing one): every module here is imported by discovery (pkgutil), so there is no list to
edit. Registering a type twice raises DuplicateRegistrationError. The prototxt schema
already holds the parameter message of every LayerParameter field of caffe.proto, and the
V1/V0 type tables (legacy_types) are Caffe's frozen ones, so neither needs an edit.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from converters.caffe.graph import GraphBuilder, Tensor
from converters.caffe.reader import CaffeLayer
from converters.registry import Registry, import_package_modules, origin_of

LayerConverter = Callable[[GraphBuilder, CaffeLayer, list[Tensor]], list[Tensor]]


@dataclass(frozen=True)
class RegisteredConverter:
    """A converter and the ONNX op types its nodes may have."""
    convert: LayerConverter
    onnx_ops: frozenset[str]


_REGISTRY: Registry[RegisteredConverter] = Registry("converters of Caffe layer type")
CONVERTERS: dict[str, RegisteredConverter] = _REGISTRY.entries


def register(*caffe_types: str, onnx_ops: Sequence[str] = ()) \
        -> Callable[[LayerConverter], LayerConverter]:
    """Decorator registering a converter for the given Caffe type names; `onnx_ops` are the
    op types of the nodes it may add (none for a layer that only passes tensors on)."""
    def add(function: LayerConverter) -> LayerConverter:
        for caffe_type in caffe_types:
            _REGISTRY.add(caffe_type, RegisteredConverter(function, frozenset(onnx_ops)),
                          origin_of(function))
        return function
    return add


def emitted_onnx_ops() -> frozenset[str]:
    """Every op type a converted Caffe net may hold: the converters' declared ops plus the
    Identity that to_onnx adds to rename a passed-on tensor (GraphBuilder.rename_output)."""
    return frozenset().union(*(entry.onnx_ops for entry in CONVERTERS.values()),
                             GraphBuilder.GLUE_OPS)


import_package_modules(__name__, __path__)
SUPPORTED_TYPES = frozenset(CONVERTERS)
