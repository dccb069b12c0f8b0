"""Writes real Caffe files: binary .caffemodel weights in any of Caffe's three layouts, and
text prototxts.

Used to make test fixtures and demo models that Caffe itself (and our reader) would load:
- "v2": `layer { name type blobs { shape { dim... } data... } }` (Caffe since 2015);
- "v1": `layers { name type: ENUM blobs { num channels height width data... } }`;
- "v0": `layers { layer { name type: "conv" blobs {...} } }` (Caffe's first format).
Legacy layouts store each blob's shape as Caffe's 4-D num/channels/height/width, padding
the shape with leading 1s as Caffe's Blob::LegacyShape does.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from google.protobuf import text_format

from converters.caffe import schema
from common.atomic import atomic_output, atomic_write_bytes
from converters.caffe.protowire import length_delimited_header
from converters.caffe.legacy_types import TYPE_TO_V0_NAME, TYPE_TO_V1_ENUM

LAYOUTS = ("v2", "v1", "v0")
_LEGACY_DIM_FIELDS = ("num", "channels", "height", "width")
_LAYER_FIELD = schema.NetParameter.DESCRIPTOR.fields_by_name["layer"].number
_LAYERS_FIELD = schema.NetParameter.DESCRIPTOR.fields_by_name["layers"].number


def _blob_message(array: np.ndarray, legacy_dims: bool, layer: str):
    """One BlobProto (float32 data, packed) with a V2 shape or legacy 4-D dims."""
    data = np.asarray(array, dtype="<f4")
    blob = schema.RAW.BlobProto(data=data.tobytes())
    if not legacy_dims:
        blob.shape.SetInParent()
        blob.shape.dim.extend(int(d) for d in data.shape)
        return blob
    if data.ndim > 4:
        raise ValueError(f"layer {layer}: a {data.ndim}-D blob has no legacy 4-D layout")
    for field, size in zip(_LEGACY_DIM_FIELDS, (1,) * (4 - data.ndim) + data.shape, strict=True):
        setattr(blob, field, int(size))
    return blob


def _guess_type(name: str, blobs: Sequence[np.ndarray]) -> str:
    """Type for a legacy layout when none is given: 4-D weights → Convolution, 2-D → InnerProduct."""
    guesses = {4: "Convolution", 2: "InnerProduct"}
    if blobs and np.ndim(blobs[0]) in guesses:
        return guesses[np.ndim(blobs[0])]
    raise ValueError(f"layer {name}: give its type in layer_types (legacy layouts need one)")


def _layer_message(name: str, blobs: Sequence[np.ndarray], layout: str, layer_type: str):
    """(NetParameter field number, serialised layer) of one layer in `layout`."""
    messages = [_blob_message(np.asarray(blob), layout != "v2", name) for blob in blobs]
    if layout == "v2":
        return _LAYER_FIELD, schema.RAW.LayerParameter(name=name, type=layer_type, blobs=messages)
    if layout == "v1":
        if layer_type not in TYPE_TO_V1_ENUM:
            raise ValueError(f"layer {name}: type {layer_type} has no V1 enum value")
        return _LAYERS_FIELD, schema.RAW.V1LayerParameter(
            name=name, type=TYPE_TO_V1_ENUM[layer_type], blobs=messages)
    if layer_type not in TYPE_TO_V0_NAME:
        raise ValueError(f"layer {name}: type {layer_type} did not exist in V0 files")
    return _LAYERS_FIELD, schema.RAW.V1LayerParameter(layer=schema.RAW.V0LayerParameter(
        name=name, type=TYPE_TO_V0_NAME[layer_type], blobs=messages))


def write_caffemodel(path: str | os.PathLike, layer_blobs: Mapping[str, Sequence[np.ndarray]], *,
                     layout: str = "v2", layer_types: Mapping[str, str] | None = None,
                     net_name: str = "") -> None:
    """Writes a binary .caffemodel holding `layer_blobs` (layer name → its blobs, in order).

    `layer_types` maps layer names to Caffe type names ("Convolution", ...); v1/v0 layouts
    need a type per layer and guess Convolution/InnerProduct from the first blob's rank when
    it is missing. The file is written atomically (temporary file, then rename).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    types = dict(layer_types or {})
    with atomic_output(path) as stream:  # one layer at a time: no whole-file copy in memory
        stream.write(schema.RAW.NetParameter(name=net_name).SerializeToString())
        for name, blobs in layer_blobs.items():
            layer_type = types.get(name) or ("" if layout == "v2" else _guess_type(name, blobs))
            field_number, layer = _layer_message(name, blobs, layout, layer_type)
            serialised = layer.SerializeToString()
            del layer
            stream.write(length_delimited_header(field_number, len(serialised)))
            stream.write(serialised)


def write_prototxt(path: str | os.PathLike, net: schema.NetParameter) -> None:
    """Writes `net` as a text prototxt (Caffe's text format), atomically."""
    atomic_write_bytes(path, text_format.MessageToString(net).encode("utf-8"))
