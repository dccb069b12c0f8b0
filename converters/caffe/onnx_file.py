"""Writes an ONNX model to disk without holding a second serialised copy of its weights.

ModelProto.SerializeToString() would build the whole file in memory (another copy of every
weight, twice inside protobuf). Here the model is written field by field: the model and
graph without initializers are serialised normally, then each initializer is appended as
its own length-delimited `initializer` field of the graph. The bytes are a standard
protobuf encoding of the same ModelProto (fields may appear in any order), so onnx.load and
ONNX Runtime read it unchanged.
"""
from __future__ import annotations

import os

import onnx

from common.atomic import atomic_output
from common.onnx_graph import copy_fields_except
from converters.caffe.protowire import length_delimited_header

_GRAPH_FIELD = onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number
_INITIALIZER_FIELD = onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number


def save_onnx(model: onnx.ModelProto, path: str | os.PathLike) -> None:
    """Writes `model` to `path` atomically, one initializer at a time."""
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
