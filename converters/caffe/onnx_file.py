"""Writes an ONNX model to disk without holding a second serialised copy of its weights.

ModelProto.SerializeToString() would build the whole file in memory (another copy of every
weight, twice inside protobuf). Here the model is written field by field: the model and
graph without initializers are serialised normally, then each initializer is appended as
its own length-delimited `initializer` field of the graph. The bytes are a standard
protobuf encoding of the same ModelProto (fields may appear in any order), so onnx.load and
ONNX Runtime read it unchanged.

A model whose initializers reach EMBED_LIMIT bytes (protobuf cannot parse a message of 2 GiB
or more) is written with its weights in `<file name>.data` beside it, each initializer
referring to that file by its relative name: the pair loads from any working directory and
moves together.
"""
from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx import TensorProto, numpy_helper

from common.atomic import atomic_output
from common.onnx_graph import copy_fields_except
from converters.caffe.protowire import length_delimited_header

_GRAPH_FIELD = onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number
_INITIALIZER_FIELD = onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number
EMBED_LIMIT = 2**31 - 2**26  # bytes of initializers embedded at most (2 GiB less room)
EXTERNAL_MIN_BYTES = 1024  # smaller tensors stay in the model file
DATA_ALIGNMENT = 4096  # offsets in the data file (page-aligned: memory-mappable)


def save_onnx(model: onnx.ModelProto, path: str | os.PathLike) -> None:
    """Writes `model` to `path` atomically, one initializer at a time (weights of
    EMBED_LIMIT bytes or more: in a data file beside it, see the module docstring)."""
    if sum(tensor.ByteSize() for tensor in model.graph.initializer) >= EMBED_LIMIT:
        save_onnx_with_data_file(model, path)
        return
    shell, graph = onnx.ModelProto(), onnx.GraphProto()
    copy_fields_except(model, shell, skip="graph")
    copy_fields_except(model.graph, graph, skip="initializer")
    graph_bytes = graph.SerializeToString()
    headers = [length_delimited_header(_INITIALIZER_FIELD, tensor.ByteSize())
               for tensor in model.graph.initializer]
    graph_size = len(graph_bytes) + sum(len(header) + tensor.ByteSize() for header, tensor
                                        in zip(headers, model.graph.initializer, strict=True))
    with atomic_output(path) as stream:
        stream.write(shell.SerializeToString())
        stream.write(length_delimited_header(_GRAPH_FIELD, graph_size))
        stream.write(graph_bytes)
        for header, tensor in zip(headers, model.graph.initializer, strict=True):
            stream.write(header)
            stream.write(tensor.SerializeToString())


def save_onnx_with_data_file(model: onnx.ModelProto, path: str | os.PathLike) -> None:
    """Writes `model` to `path` and its initializers of EXTERNAL_MIN_BYTES or more to
    `<name>.data` beside it (location relative to the model's folder), both atomically."""
    path = Path(path)
    data_name = path.name + ".data"
    shell = onnx.ModelProto()
    copy_fields_except(model, shell, skip="graph")
    copy_fields_except(model.graph, shell.graph, skip="initializer")
    offset = 0
    with atomic_output(path.with_name(data_name)) as data:
        for tensor in model.graph.initializer:
            stub = shell.graph.initializer.add()
            if tensor.ByteSize() < EXTERNAL_MIN_BYTES or tensor.data_type == TensorProto.STRING \
                    or tensor.data_location == TensorProto.EXTERNAL:
                stub.CopyFrom(tensor)
                continue
            if not tensor.HasField("raw_data"):
                tensor = numpy_helper.from_array(numpy_helper.to_array(tensor), tensor.name)
            copy_fields_except(tensor, stub, skip="raw_data")
            padding = -offset % DATA_ALIGNMENT
            data.write(b"\0" * padding)
            offset += padding
            data.write(tensor.raw_data)
            stub.data_location = TensorProto.EXTERNAL
            for key, value in (("location", data_name), ("offset", str(offset)),
                               ("length", str(len(tensor.raw_data)))):
                stub.external_data.add(key=key, value=value)
            offset += len(tensor.raw_data)
    with atomic_output(path) as stream:
        stream.write(shell.SerializeToString())
