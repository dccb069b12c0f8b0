"""Reads a Caffe net (deploy prototxt + optional caffemodel) into a CaffeNetModel.

Matches what Caffe's Net does on load in the TEST phase:
- V0 (`layers { layer { type: "conv" ... } }`) and V1 (`layers { type: CONVOLUTION }`) files
  are upgraded to V2 layers as upgrade_proto.cpp does, folding V0 "padding" layers into the
  pad of the convolution/pooling that consumes them;
- deprecated `input` + `input_shape` / four `input_dim` become an Input layer named "input";
- layers are filtered by their include/exclude NetStateRules against phase TEST;
- weights are attached by layer name (CopyTrainedLayersFrom): layers of the caffemodel that
  the prototxt lacks are ignored. Blob shapes are checked against each layer's needs by the
  converter (converters.caffe.weights), which knows the bottom shapes.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
from google.protobuf import text_format

from converters.caffe import schema
from converters.caffe.caffemodel import read_caffemodel
from converters.caffe.files import CaffeError, read_bytes
from converters.caffe.legacy_types import V0_NAME_TO_V1_ENUM, V1_ENUM_TO_TYPE

log = logging.getLogger(__name__)
TEST_PHASE = 1


@dataclass
class CaffeLayer:
    """One layer after upgrade and filtering; `param` is a V2 LayerParameter without blobs."""
    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    param: schema.LayerParameter
    blobs: list[np.ndarray] = field(default_factory=list)
    # True when the caffemodel gave num/channels/height/width instead of a BlobShape.
    legacy_blob_shapes: bool = False


@dataclass
class CaffeNetModel:
    """A Caffe net as Caffe's Net holds it after Init (TEST phase) and CopyTrainedLayersFrom."""
    name: str
    layers: list[CaffeLayer]
    prototxt: str
    caffemodel: str | None = None

    def layer(self, name: str) -> CaffeLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


# ----------------------------------------------------------------------------- prototxt

def _decode_text(path: str | os.PathLike) -> str:
    raw = read_bytes(path, "prototxt")
    if b"\x00" in raw[:4096]:
        raise CaffeError(f"{path}: not a text prototxt (binary data; is it a caffemodel?)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CaffeError(f"{path}: not a text prototxt (invalid UTF-8 at byte {error.start})") \
            from None


class UnknownFieldError(CaffeError):
    """A prototxt field the schema does not know. `layer_types` lists every layer of the file
    as (name, V2 type), read skipping unknown fields, so that the converter, which knows the
    supported types, can report a layer of an unsupported type (whose parameters are what the
    schema lacks) instead; str() is the parser's own line."""

    def __init__(self, message: str, layer_types: list[tuple[str, str]]):
        super().__init__(message)
        self.layer_types = layer_types


def v2_type_name(layer_type: str) -> str:
    """The V2 name of a layer type written in any generation (V1 enum, V0 name or V2)."""
    return (V1_ENUM_TO_TYPE.get(layer_type)
            or V1_ENUM_TO_TYPE.get(V0_NAME_TO_V1_ENUM.get(layer_type, ""), layer_type))


def _layer_types(net: schema.NetParameter) -> list[tuple[str, str]]:
    """(name, V2 type) of every layer; V0 "padding" layers (folded by the upgrade) left out."""
    found = [(layer.name, layer.type) for layer in net.layer]
    for entry in net.layers:
        if entry.HasField("layer"):
            found.append((entry.layer.name, entry.layer.type))
        else:
            found.append((entry.name, schema.V1LayerParameter.LayerType.Name(entry.type)))
    return [(name, v2_type_name(layer_type)) for name, layer_type in found
            if layer_type != "padding"]


def parse_prototxt(path: str | os.PathLike) -> schema.NetParameter:
    """Parses a text prototxt; a syntax error becomes one line `FILE:LINE:COL : problem`.

    The schema holds the parameters of every layer type of caffe.proto. When a field is
    unknown to it, the file is re-read skipping unknown fields and UnknownFieldError carries
    its layers' types (see there); if even that fails, the error is a plain CaffeError."""
    text = _decode_text(path)
    net = schema.NetParameter()
    try:
        text_format.Parse(text, net)
    except text_format.ParseError as error:
        lenient = schema.NetParameter()
        try:
            text_format.Parse(text, lenient, allow_unknown_field=True)
        except text_format.ParseError:
            raise CaffeError(f"{path}:{error}") from None
        raise UnknownFieldError(f"{path}:{error}", _layer_types(lenient)) from None
    return net


# ----------------------------------------------------------------------------- upgrades

_V0_COPIED_FIELDS = {
    "Convolution": ("convolution_param", {"num_output": "num_output", "biasterm": "bias_term",
                                          "weight_filler": "weight_filler",
                                          "bias_filler": "bias_filler", "pad": "pad",
                                          "kernelsize": "kernel_size", "group": "group",
                                          "stride": "stride"}),
    "InnerProduct": ("inner_product_param", {"num_output": "num_output", "biasterm": "bias_term",
                                             "weight_filler": "weight_filler",
                                             "bias_filler": "bias_filler"}),
    "Pooling": ("pooling_param", {"pool": "pool", "pad": "pad", "kernelsize": "kernel_size",
                                  "stride": "stride"}),
    "Dropout": ("dropout_param", {"dropout_ratio": "dropout_ratio"}),
    "LRN": ("lrn_param", {"local_size": "local_size", "alpha": "alpha", "beta": "beta",
                          "k": "k"}),
    "Concat": ("concat_param", {"concat_dim": "concat_dim"}),
}


def _upgrade_v0_layer(v0: schema.V0LayerParameter, bottoms: list[str],
                      tops: list[str]) -> schema.LayerParameter:
    """UpgradeV0LayerParameter: string type → V2 type, flat fields → the type's *_param."""
    layer_type = v2_type_name(v0.type)
    layer = schema.LayerParameter(name=v0.name, type=layer_type, bottom=bottoms, top=tops)
    if layer_type in _V0_COPIED_FIELDS:
        param_name, fields = _V0_COPIED_FIELDS[layer_type]
        param = getattr(layer, param_name)
        for v0_field, value in v0.ListFields():
            target = fields.get(v0_field.name)
            if target is None:
                continue
            target_field = param.DESCRIPTOR.fields_by_name[target]
            if target_field.message_type is not None:
                getattr(param, target).CopyFrom(value)
            elif target_field.is_repeated:
                getattr(param, target).append(value)
            else:
                setattr(param, target, value)
        param.SetInParent()
    return layer


def _upgrade_v0_net(net: schema.NetParameter, path: str | os.PathLike) -> list[schema.LayerParameter]:
    """UpgradeV0PaddingLayers + UpgradeV0LayerParameter over a V0 net's `layers`."""
    padding_producers: dict[str, schema.V1LayerParameter] = {}
    upgraded: list[schema.LayerParameter] = []
    for entry in net.layers:
        v0 = schema.V0LayerParameter()
        v0.CopyFrom(entry.layer)
        bottoms = list(entry.bottom)
        if v0.type == "padding":
            if len(entry.bottom) != 1 or len(entry.top) != 1:
                raise CaffeError(f"{path}: padding layer {v0.name} needs one bottom and one top")
            padding_producers[entry.top[0]] = entry
            continue
        for index, bottom in enumerate(bottoms):
            padding = padding_producers.get(bottom)
            if padding is None:
                continue
            if v0.type not in ("conv", "pool") or len(bottoms) != 1:
                raise CaffeError(f"{path}: padding layer {padding.layer.name} feeds layer "
                                 f"{v0.name} of type {v0.type}; Caffe folds padding only into "
                                 "a single-input conv or pool layer")
            v0.pad = padding.layer.pad
            bottoms[index] = padding.bottom[0]
        upgraded.append(_upgrade_v0_layer(v0, bottoms, list(entry.top)))
    return upgraded


def _upgrade_v1_layer(entry: schema.V1LayerParameter) -> schema.LayerParameter:
    """UpgradeV1LayerParameter: enum type → string type; per-type params copied unchanged."""
    layer = schema.LayerParameter(
        name=entry.name, type=V1_ENUM_TO_TYPE.get(
            schema.V1LayerParameter.LayerType.Name(entry.type), "NONE"),
        bottom=entry.bottom, top=entry.top, include=entry.include, exclude=entry.exclude)
    for v1_field, value in entry.ListFields():
        if v1_field.name.endswith("_param") and v1_field.name in layer.DESCRIPTOR.fields_by_name:
            getattr(layer, v1_field.name).CopyFrom(value)
    return layer


def _input_layers(net: schema.NetParameter, path: str | os.PathLike) -> list[schema.LayerParameter]:
    """UpgradeNetInput: deprecated `input` fields become one Input layer named "input"."""
    if not net.input:
        return []
    if net.input_shape:
        shapes = [list(shape.dim) for shape in net.input_shape]
    elif net.input_dim:
        dims = list(net.input_dim)
        if len(dims) != 4 * len(net.input):
            raise CaffeError(f"{path}: {len(net.input)} input(s) need {4 * len(net.input)} "
                             f"input_dim values, found {len(dims)}")
        shapes = [dims[4 * i:4 * i + 4] for i in range(len(net.input))]
    else:
        raise CaffeError(f"{path}: input {net.input[0]} has no input_shape or input_dim")
    if len(shapes) != len(net.input):
        raise CaffeError(f"{path}: {len(net.input)} input(s) but {len(shapes)} input_shape(s)")
    layer = schema.LayerParameter(name="input", type="Input", top=net.input)
    for dims in shapes:
        layer.input_param.shape.add(dim=dims)
    return [layer]


def upgrade_net(net: schema.NetParameter, path: str | os.PathLike = "<net>") -> list[schema.LayerParameter]:
    """All layers of `net` as V2 LayerParameters, inputs first (Caffe's upgrade chain)."""
    if net.layer and net.layers:
        raise CaffeError(f"{path}: uses both `layer` (V2) and `layers` (V1/V0) fields")
    if any(entry.HasField("layer") for entry in net.layers):
        layers = _upgrade_v0_net(net, path)
    elif net.layers:
        layers = [_upgrade_v1_layer(entry) for entry in net.layers]
    else:
        layers = list(net.layer)
    return _input_layers(net, path) + layers


# ----------------------------------------------------------------------------- TEST phase

def _rule_met(rule: schema.NetStateRule, state: schema.NetState) -> bool:
    """Caffe's Net::StateMeetsRule."""
    if rule.HasField("phase") and rule.phase != state.phase:
        return False
    if rule.HasField("min_level") and state.level < rule.min_level:
        return False
    if rule.HasField("max_level") and state.level > rule.max_level:
        return False
    if any(stage not in state.stage for stage in rule.stage):
        return False
    return not any(stage in state.stage for stage in rule.not_stage)


def included_in_test_phase(layer: schema.LayerParameter, state: schema.NetState) -> bool:
    """Caffe's Net::FilterNet: any include rule met → in; any exclude rule met → out (the
    caller refuses a layer with both kinds of rule, as FilterNet does)."""
    if layer.include:
        return any(_rule_met(rule, state) for rule in layer.include)
    return not any(_rule_met(rule, state) for rule in layer.exclude)


# ----------------------------------------------------------------------------- the net

def _check_blob_wiring(layers: list[CaffeLayer], path: str | os.PathLike) -> None:
    """Net::AppendBottom: every bottom is a top of an earlier layer. Net::AppendTop: a top
    already produced is allowed only in place (the bottom at the same index has its name)."""
    available: set[str] = set()
    for layer in layers:
        for bottom in layer.bottoms:
            if bottom not in available:
                raise CaffeError(f"{path}: layer {layer.name} ({layer.type}) takes bottom "
                                 f"'{bottom}' that no earlier layer or input produces")
        for index, top in enumerate(layer.tops):
            in_place = index < len(layer.bottoms) and layer.bottoms[index] == top
            if top in available and not in_place:
                raise CaffeError(f"{path}: layer {layer.name} ({layer.type}): top '{top}' is "
                                 "already produced by an earlier layer (Caffe: a blob has one "
                                 "source, unless computed in place at the same index)")
            available.add(top)


def load_caffe_net(prototxt: str | os.PathLike,
                   caffemodel: str | os.PathLike | None = None) -> CaffeNetModel:
    """Reads a deploy prototxt (any generation) and attaches the caffemodel's weights by name."""
    net = parse_prototxt(prototxt)
    state = schema.NetState(phase=TEST_PHASE, level=net.state.level, stage=net.state.stage)
    layers = []
    for param in upgrade_net(net, prototxt):
        if param.include and param.exclude:
            raise CaffeError(f"{prototxt}: layer {param.name} ({param.type}): has include and "
                             "exclude rules (Caffe: either one or the other)")
        if not included_in_test_phase(param, state):
            continue
        layer_param = schema.LayerParameter()
        layer_param.CopyFrom(param)
        del layer_param.blobs[:]
        layers.append(CaffeLayer(name=param.name, type=param.type, bottoms=list(param.bottom),
                                 tops=list(param.top), param=layer_param))
    if not layers:
        raise CaffeError(f"{prototxt}: the prototxt defines no layers")
    _check_blob_wiring(layers, prototxt)
    if caffemodel is not None:
        weights = read_caffemodel(caffemodel)
        by_name = {layer.name: layer for layer in layers}
        ignored = [name for name in weights if name not in by_name]
        if ignored:
            log.debug("caffemodel layers not in the prototxt (ignored): %s", ", ".join(ignored))
        for name, (blobs, legacy) in weights.items():
            if name in by_name:
                by_name[name].blobs, by_name[name].legacy_blob_shapes = blobs, legacy
    return CaffeNetModel(name=net.name, layers=layers, prototxt=str(prototxt),
                         caffemodel=None if caffemodel is None else str(caffemodel))
