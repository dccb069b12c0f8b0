"""Registry from Caffe layer type to the function converting one such layer to ONNX nodes.

A converter has the signature `convert(graph, layer, bottoms) -> tops`: it receives the
CaffeGraph, the CaffeLayer and the ONNX tensors of its bottoms, adds nodes, and returns
one Tensor per top. It is registered with `@register("Type", onnx_ops=(...))`, naming the
ONNX ops it may emit (to_onnx checks each conversion against them, and the VJP tests derive
from them the ops that need a gradient rule), and with the type's bottom and top counts as
Caffe's layer class declares them (ExactNum/Min/MaxBottomBlobs, ...; checked by to_onnx
before the converter runs, as Layer::CheckBlobCounts does) and whether it may run in place.

Adding a layer type is adding one module to this package (or one decorated function in an
existing one): every module here is imported by discovery (pkgutil), so there is no list to
edit. Registering a type twice raises DuplicateRegistrationError. The prototxt schema
already holds the parameter message of every LayerParameter field of caffe.proto, and the
V1/V0 type tables (legacy_types) are Caffe's frozen ones, so neither needs an edit.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from converters.caffe.files import CaffeError
from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.reader import CaffeLayer
from converters.registry import Registry, import_package_modules, origin_of

LayerConverter = Callable[[CaffeGraph, CaffeLayer, list[Tensor]], list[Tensor]]


Count = int | tuple[int, int | None]  # exactly n, or (at least, at most / None: any)


@dataclass(frozen=True)
class RegisteredConverter:
    """A converter, the ONNX op types its nodes may have, and Caffe's blob-count rules."""
    convert: LayerConverter
    onnx_ops: frozenset[str]
    bottoms: Count = 1
    tops: Count = 1
    equal_bottoms_tops: bool = False
    in_place: bool = True

    def check_blob_counts(self, layer: CaffeLayer) -> None:
        """Layer::CheckBlobCounts, Layer::SetLossWeights' and Net::Init's counts of
        loss_weight and propagate_down, and the CHECK_NE(top, bottom) of the layer types that
        do not allow in-place computation; raises one CaffeError line."""
        for what, count, names in (("bottom", self.bottoms, layer.bottoms),
                                   ("top", self.tops, layer.tops)):
            low, high = (count, count) if isinstance(count, int) else count
            if len(names) < low or (high is not None and len(names) > high):
                wanted = (f"{low}" if low == high else f"at least {low}" if high is None
                          else f"{low} to {high}")
                raise CaffeError(f"layer {layer.name} ({layer.type}): takes {wanted} {what} "
                                 f"blob(s), the prototxt gives {len(names)}")
        if self.equal_bottoms_tops and len(layer.bottoms) != len(layer.tops):
            raise CaffeError(f"layer {layer.name} ({layer.type}): needs one top per bottom, "
                             f"the prototxt gives {len(layer.bottoms)} bottom(s) and "
                             f"{len(layer.tops)} top(s)")
        if layer.param.loss_weight and len(layer.param.loss_weight) != len(layer.tops):
            raise CaffeError(f"layer {layer.name} ({layer.type}): loss_weight is given "
                             f"{len(layer.param.loss_weight)} times for {len(layer.tops)} "
                             "top(s) (Caffe: not at all, or once per top)")
        if layer.param.propagate_down and len(layer.param.propagate_down) != len(layer.bottoms):
            raise CaffeError(f"layer {layer.name} ({layer.type}): propagate_down is given "
                             f"{len(layer.param.propagate_down)} times for "
                             f"{len(layer.bottoms)} bottom(s) (Caffe: not at all, or once per "
                             "bottom)")
        if not self.in_place and set(layer.tops) & set(layer.bottoms):
            raise CaffeError(f"layer {layer.name} ({layer.type}): top "
                             f"'{sorted(set(layer.tops) & set(layer.bottoms))[0]}' is also a "
                             f"bottom; {layer.type} does not allow in-place computation")


_REGISTRY: Registry[RegisteredConverter] = Registry("converters of Caffe layer type")
CONVERTERS: dict[str, RegisteredConverter] = _REGISTRY.entries


def register(*caffe_types: str, onnx_ops: Sequence[str] = (), bottoms: Count = 1,
             tops: Count = 1, equal_bottoms_tops: bool = False,
             in_place: bool = True) -> Callable[[LayerConverter], LayerConverter]:
    """Decorator registering a converter for the given Caffe type names; `onnx_ops` are the
    op types of the nodes it may add (none for a layer that only passes tensors on); the
    counts, `equal_bottoms_tops` and `in_place` restate the Caffe layer class's."""
    def add(function: LayerConverter) -> LayerConverter:
        entry = RegisteredConverter(function, frozenset(onnx_ops), bottoms, tops,
                                    equal_bottoms_tops, in_place)
        for caffe_type in caffe_types:
            _REGISTRY.add(caffe_type, entry, origin_of(function))
        return function
    return add


def emitted_onnx_ops() -> frozenset[str]:
    """Every op type a converted Caffe net may hold: the converters' declared ops plus the
    Identity that to_onnx adds to rename a passed-on tensor (CaffeGraph.rename_output)."""
    return frozenset().union(*(entry.onnx_ops for entry in CONVERTERS.values()),
                             CaffeGraph.GLUE_OPS)


import_package_modules(__name__, __path__)

from converters.caffe.layers._params import check_blob_shape  # noqa: E402  (Blob::Reshape's checks, for to_onnx)
SUPPORTED_TYPES = frozenset(CONVERTERS)
