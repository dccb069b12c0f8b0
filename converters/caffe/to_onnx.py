"""CaffeNetModel → standard-domain ONNX (opset 17), with Caffe's blob semantics.

Naming: graph inputs and outputs carry Caffe blob names. In-place layers (relu on `fc6`)
write new versions of a blob; the version after the last write within the converted range is
named after the blob, earlier versions get `BLOB/LAYER`-style names. So an output `fc6`
holds Caffe's net.blobs['fc6'] after forward() (after relu6), and with `end=LAYER` the graph
is cut after that layer: its tops are as that layer produced them (Caffe's forward(end=)).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import onnx
from onnx import TensorProto, helper

from common.onnx_graph import Weights, keep_initializers, live_nodes
from common.progress import progress
from converters.caffe.files import CaffeError
from converters.caffe.graph import CaffeGraph, Tensor
from converters.caffe.layers import CONVERTERS, SUPPORTED_TYPES, check_blob_shape
from converters.caffe.reader import CaffeLayer, CaffeNetModel, UnknownFieldError, load_caffe_net

log = logging.getLogger(__name__)
OPSET = 17
BATCH_DIM_NAME = "batch"


def unsupported_type_message(layer_name: str, layer_type: str) -> str:
    """The one line shown for a layer type without converter, listing the supported ones."""
    return (f"layer {layer_name}: unsupported Caffe layer type '{layer_type}' "
            f"(supported: {', '.join(sorted(SUPPORTED_TYPES))})")


def _layers_until(net: CaffeNetModel, end: str | None) -> list[CaffeLayer]:
    if end is None:
        return list(net.layers)
    names = [layer.name for layer in net.layers]
    if end not in names:
        raise CaffeError(f"--end {end}: no layer of that name in {net.prototxt}")
    return net.layers[:names.index(end) + 1]


def default_outputs(layers: Sequence[CaffeLayer]) -> list[str]:
    """Caffe's net outputs: blobs produced and not consumed by any later layer (in order)."""
    available: dict[str, None] = {}
    for layer in layers:
        for bottom in layer.bottoms:
            available.pop(bottom, None)
        for top in layer.tops:
            available[top] = None
    return list(available)


def layers_needed_for(layers: Sequence[CaffeLayer], wanted: Sequence[str]) -> list[CaffeLayer]:
    """The layers whose writes reach the final values of `wanted` blobs (walking back, an
    in-place layer hands the need on to the earlier writers of its blob); the others are
    skipped, so e.g. an unsupported layer beyond the requested outputs does not matter.
    Input layers are always kept: the graph takes every input the Caffe net declares."""
    pending, needed = set(wanted), []
    for layer in reversed(layers):
        if layer.type == "Input" or pending & set(layer.tops):
            needed.append(layer)
            pending.difference_update(layer.tops)
            pending.update(layer.bottoms)
    return needed[::-1]


def _value_info(tensor: Tensor, name: str, dynamic: bool) -> onnx.ValueInfoProto:
    dims: list[int | str] = list(tensor.shape)
    if dynamic and dims:
        dims[0] = BATCH_DIM_NAME
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _prune(graph: CaffeGraph, outputs: Sequence[str]) -> None:
    """Drops nodes and initializers (and detached weights) the requested outputs do not need."""
    graph.nodes, needed = live_nodes(graph.nodes, outputs)
    keep_initializers(graph.model.graph, needed)
    if graph.weights is not None:
        for name in set(graph.weights) - needed:
            del graph.weights[name]


def _parse_batch(batch: int | str) -> tuple[int, bool]:
    if batch == "dynamic":
        return 1, True
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CaffeError(f"--batch {batch}: must be a positive integer or 'dynamic'")
    return batch, False


def _version_name(graph: CaffeGraph, blob: str, layer: CaffeLayer, final: bool,
                  input_names: set[str], wanted: Sequence[str]) -> str:
    """The ONNX name of the version of `blob` that `layer` writes (see the module docstring)."""
    if final and blob not in input_names:
        return blob
    if final and blob in wanted:
        raise CaffeError(f"--output {blob}: a net input changed in place by layer "
                         f"{layer.name} cannot be a graph output under the same name")
    return graph.fresh(f"{blob}/{layer.name}")


def _prototxt_batch(layers: Sequence[CaffeLayer]) -> int | None:
    """The first dimension all of the prototxt's input shapes share, if they share one."""
    batches = {int(shape.dim[0]) for layer in layers if layer.type == "Input"
               for shape in layer.param.input_param.shape if shape.dim}
    return batches.pop() if len(batches) == 1 else None


def _convert_layer(net: CaffeNetModel, graph: CaffeGraph, layer: CaffeLayer,
                   bottoms: list[Tensor], first_node: int) -> list[Tensor]:
    """Runs the layer's converter (its blob counts are checked already), then checks its tops
    as Blob::Reshape does; a CaffeError gets the prototxt's name in front. The nodes it added
    must be of the ONNX op types it was registered with (else a bug: RuntimeError)."""
    converter = CONVERTERS[layer.type]
    try:
        tops = converter.convert(graph, layer, bottoms)
        if len(tops) != len(layer.tops):
            raise RuntimeError(f"the {layer.type} converter returned {len(tops)} tops for the "
                               f"{len(layer.tops)} tops of layer {layer.name}")
        for top_name, top in zip(layer.tops, tops, strict=True):
            check_blob_shape(layer, f"top '{top_name}' shape", top.shape)
    except CaffeError as error:
        raise CaffeError(f"{net.prototxt}: {error}") from None
    except ValueError as error:
        raise CaffeError(f"{net.prototxt}: layer {layer.name} ({layer.type}): {error}") from None
    undeclared = {node.op_type for node in graph.nodes[first_node:]} - converter.onnx_ops
    if undeclared:
        raise RuntimeError(f"the {layer.type} converter emitted {sorted(undeclared)}, which "
                           "its @register(onnx_ops=...) does not declare")
    return tops


def load_convertible_net(prototxt: str | os.PathLike, caffemodel: str | os.PathLike | None) -> CaffeNetModel:
    """load_caffe_net; a field the schema lacks is reported as the layer of an unsupported
    type it belongs to, when the file has one (see reader.UnknownFieldError)."""
    try:
        return load_caffe_net(prototxt, caffemodel)
    except UnknownFieldError as error:
        for name, layer_type in error.layer_types:
            if layer_type not in SUPPORTED_TYPES:
                raise CaffeError(f"{prototxt}: {unsupported_type_message(name, layer_type)}") \
                    from None
        raise


def net_to_onnx(net: CaffeNetModel, *, outputs: Sequence[str] = (), end: str | None = None,
                batch: int | str = 1, weights: Weights | None = None) -> onnx.ModelProto:
    """Converts a loaded Caffe net; see caffe_to_onnx. With `weights` (a dict to fill) the
    learned blobs are detached: the model holds their stubs, `weights` their arrays
    (common.onnx_graph), so the model is a few kilobytes whatever the net's size."""
    batch_size, dynamic = _parse_batch(batch)
    layers = _layers_until(net, end)
    known_blobs = {blob for layer in layers for blob in layer.tops}
    for layer in layers:  # Caffe sets every layer up, also those the outputs do not need
        if layer.type in CONVERTERS:
            try:
                CONVERTERS[layer.type].check_blob_counts(layer)
            except CaffeError as error:
                raise CaffeError(f"{net.prototxt}: {error}") from None
    wanted = list(dict.fromkeys(outputs)) or (list(layers[-1].tops) if end
                                              else default_outputs(layers))
    if not wanted:
        raise CaffeError(f"{net.prototxt}: the net has no output blob (every blob is consumed "
                         "by a later layer); name one with --output")
    for blob in wanted:
        if blob not in known_blobs:
            where = f"up to layer {end}" if end else "in the net"
            raise CaffeError(f"--output {blob}: no blob of that name {where} ({net.prototxt})")
    layers = layers_needed_for(layers, wanted)
    last_writer = {top: index for index, layer in enumerate(layers) for top in layer.tops}
    graph = CaffeGraph(known_blobs | {layer.name for layer in layers}, dynamic,
                       _prototxt_batch(layers), weights)
    current: dict[str, Tensor] = {}
    graph_inputs: list[Tensor] = []
    input_names: set[str] = set()
    for index, layer in enumerate(progress(layers, desc="caffe2onnx", leave=False)):
        converter = CONVERTERS.get(layer.type)
        if converter is None:
            raise CaffeError(f"{net.prototxt}: {unsupported_type_message(layer.name, layer.type)}")
        bottoms = [current[bottom] for bottom in layer.bottoms]
        first_node = len(graph.nodes)
        tops = _convert_layer(net, graph, layer, bottoms, first_node)
        if layer.type == "Input":
            tops = [Tensor(top.name, (batch_size, *top.shape[1:])) for top in tops]
            graph_inputs.extend(tops)
        for blob, tensor in zip(layer.tops, tops, strict=True):
            if layer.type != "Input":
                tensor = graph.rename_output(tensor, _version_name(
                    graph, blob, layer, last_writer[blob] == index, input_names, wanted),
                    first_node)
            current[blob] = tensor
        if layer.type == "Input":
            input_names.update(layer.tops)
    _prune(graph, wanted)
    model = graph.model
    model.graph.name = net.name or "caffe_net"
    model.graph.node.extend(graph.nodes)
    model.graph.input.extend(_value_info(t, t.name, dynamic) for t in graph_inputs)
    model.graph.output.extend(_value_info(current[blob], blob, dynamic) for blob in wanted)
    model.opset_import.add(domain="", version=OPSET)
    model.ir_version, model.producer_name = 8, "dgn-am caffe2onnx"
    log.debug("converted %d Caffe layers into %d ONNX nodes; outputs %s", len(layers),
              len(model.graph.node), ", ".join(wanted))
    return model


def caffe_to_onnx(prototxt: str | os.PathLike, caffemodel: str | os.PathLike | None, *,
                  outputs: Sequence[str] = (), end: str | None = None,
                  batch: int | str = 1) -> onnx.ModelProto:
    """Converts a Caffe deploy prototxt + caffemodel to an ONNX model.

    outputs: blob names to expose, each holding Caffe's net.blobs[BLOB] after the (possibly
    cut) forward pass; default: the blobs no layer consumes, or the `end` layer's tops.
    end: cut the graph after this layer, as Caffe's forward(end=LAYER).
    batch: the batch size (replacing the inputs' first dimension) or "dynamic".
    """
    return net_to_onnx(load_convertible_net(prototxt, caffemodel), outputs=outputs, end=end, batch=batch)
