"""The one ONNX graph toolkit: building nodes and initializers, reading opsets, types, shapes,
data inputs and constants, pruning, and weight-free graphs with their weights kept aside.

Every graph the project builds goes through here: the Caffe converter (converters.caffe.graph),
the VJP transform's rule context (converters.vjp.context), the step graph's glue
(reproduce.step.graph) and the input adapter of a user's ONNX net (reproduce.step.onnx_net).
One meaning per word:

* `GraphBuilder.const(stem, array)` CREATES an initializer and returns its name;
  `constant_values(graph)` READS the values of a graph's constants (initializers and Constant
  nodes). Nothing else creates or reads constants.
* `GraphBuilder.node(...)` appends one node.
* Shapes: `dims(type)` gives every dimension (None where symbolic), `fixed_dims(type)` the
  dimensions only when all are known.

Weight-free graphs. A graph's large float initializers (its weights) can be *detached*: the
initializer stays in the graph as a stub (name, element type, dims; `data_location` EXTERNAL
with the location `DETACHED`), and the array lives in a `Weights` table beside the graph.
Shape inference, the VJP transform, composition and hashing then work on a graph of a few
kilobytes instead of copying and serialising hundreds of megabytes; the weights are attached
once, where a consumer needs them: ONNX Runtime takes them as external initializers
(reproduce.run.runner), a file gets them embedded (converters.caffe.onnx_file.save_onnx),
another runtime gets `attached(model, weights)`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STANDARD_DOMAINS = ("", "ai.onnx")
DETACHED = "dgn-am:detached"  # the external-data location of a detached weight's stub
# Float initializers with at least this many values are detached (weights); smaller ones (and
# every integer tensor: shapes, axes, pads, indices) stay in the graph, where rules read them.
DETACH_MIN_VALUES = 1024

Weights = dict[str, np.ndarray]  # detached weights by initializer name


# ---------------------------------------------------------------------------- names

class UniqueNames:
    """Hands out names not used yet: `stem` itself if free, else `stem_2`, `stem_3`, ..."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = set(taken)
        # the last count handed out per stem: names are only ever added, so the first free
        # `stem_N` is never below it, and the search resumes there (linear, not quadratic,
        # in the number of names sharing a stem; the names are the same)
        self._counts: dict[str, int] = {}

    def fresh(self, stem: str) -> str:
        count = self._counts.get(stem, 1)
        name = stem if count == 1 else f"{stem}_{count}"
        while name in self._taken:
            count += 1
            name = f"{stem}_{count}"
        self._taken.add(name)
        self._counts[stem] = count
        return name


def names_in(graph: onnx.GraphProto) -> set[str]:
    """Every tensor and node name a graph uses (inputs, outputs, value infos, initializers)."""
    names = {name for node in graph.node for name in (*node.input, *node.output, node.name)}
    names.update(value.name for value in (*graph.input, *graph.output, *graph.value_info))
    names.update(tensor.name for tensor in graph.initializer)
    names.discard("")
    return names


# ---------------------------------------------------------------------------- reading

def standard_opset(model: onnx.ModelProto) -> int | None:
    """The model's standard-domain opset version (None if it imports none)."""
    for entry in model.opset_import:
        if entry.domain in STANDARD_DOMAINS:
            return entry.version
    return None


def opset_of(model: onnx.ModelProto) -> int:
    """The standard-domain opset version; ValueError when the model imports none."""
    opset = standard_opset(model)
    if opset is None:
        raise ValueError("model imports no standard ONNX opset")
    return opset


def lifted(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """The model at standard opset `opset`, never below its own: itself when already there,
    else onnx's version converter upward (a lossless direction; run it on a weight-free
    graph). ValueError when `opset` is below the model's; the converter's own error when it
    cannot convert."""
    own = opset_of(model)
    if opset < own:
        raise ValueError(f"the model's opset {own} would be lowered to {opset}")
    if opset == own:
        return model
    from onnx import version_converter
    return version_converter.convert_version(model, opset)


def np_dtype(elem_type: int) -> np.dtype:
    """The NumPy dtype of an ONNX element type."""
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def elem_type(dtype: np.dtype | type) -> int:
    """The ONNX element type of a NumPy dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def dims(type_proto: onnx.TypeProto) -> tuple[int | None, ...] | None:
    """A tensor type's dimensions, None for a symbolic one; None when the rank is unknown."""
    tensor_type = type_proto.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return tuple(dim.dim_value if dim.HasField("dim_value") else None
                 for dim in tensor_type.shape.dim)


def fixed_dims(type_proto: onnx.TypeProto) -> tuple[int, ...] | None:
    """A tensor type's dimensions when every one is known, else None."""
    shape = dims(type_proto)
    return None if shape is None or None in shape else shape  # type: ignore[return-value]


def input_dims(model: onnx.ModelProto, name: str) -> tuple[int, ...]:
    """The fixed dimensions of graph input `name`; ValueError when absent or symbolic."""
    for value in model.graph.input:
        if value.name == name:
            shape = fixed_dims(value.type)
            if shape is None:
                raise ValueError(f"input {name!r} has a symbolic dimension; build with a fixed batch")
            return shape
    raise ValueError(f"graph has no input {name!r}")


def data_inputs(graph: onnx.GraphProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs that are not initializers (what a caller feeds)."""
    initializers = {tensor.name for tensor in graph.initializer}
    return [value for value in graph.input if value.name not in initializers]


def inferred_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    """Every named tensor's type after onnx's shape inference (strict, with data propagation);
    raises onnx.shape_inference.InferenceError. Run it on a weight-free graph: it serialises
    the whole model."""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    graph = inferred.graph
    types = {value.name: value.type for value in [*graph.value_info, *graph.input, *graph.output]}
    for tensor in graph.initializer:
        types.setdefault(tensor.name, helper.make_tensor_type_proto(tensor.data_type, tensor.dims))
    return types


def is_detached(tensor: onnx.TensorProto) -> bool:
    """True for the stub of a detached weight."""
    return (tensor.data_location == TensorProto.EXTERNAL
            and any(entry.key == "location" and entry.value == DETACHED
                    for entry in tensor.external_data))


def constant_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """The values of the graph's constants: its initializers (not the detached weights) and
    the outputs of its Constant nodes."""
    values = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer
              if not is_detached(tensor)}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute:
            value = helper.get_attribute_value(node.attribute[0])
            values[node.output[0]] = (numpy_helper.to_array(value)
                                      if isinstance(value, onnx.TensorProto) else np.array(value))
    return values


# ---------------------------------------------------------------------------- pruning

def live_nodes(nodes: Sequence[onnx.NodeProto],
               outputs: Iterable[str]) -> tuple[list[onnx.NodeProto], set[str]]:
    """The nodes (in their order) that the named outputs depend on, and every tensor name
    those nodes and outputs read."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(output in needed for output in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    return kept[::-1], needed


def prune(graph: onnx.GraphProto) -> None:
    """Drops, in place, the nodes and initializers the graph's outputs do not depend on."""
    kept, needed = live_nodes(graph.node, (value.name for value in graph.output))
    keep_initializers(graph, needed)
    del graph.node[:]
    graph.node.extend(kept)


def keep_initializers(graph: onnx.GraphProto, names: set[str]) -> None:
    """Removes, in place, the initializers whose names are not in `names`."""
    initializers = graph.initializer
    for index in reversed(range(len(initializers))):
        if initializers[index].name not in names:
            del initializers[index]


# ---------------------------------------------------------------------------- building

def write_initializer(target: onnx.TensorProto, name: str, array: np.ndarray) -> None:
    """Fills an (empty) TensorProto with `array` as little-endian raw data."""
    target.name, target.data_type = name, elem_type(array.dtype)
    target.dims.extend(array.shape)
    target.raw_data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"),
                                                         copy=False).tobytes()


def write_stub(target: onnx.TensorProto, name: str, array: np.ndarray) -> None:
    """Fills an (empty) TensorProto with the stub of a detached weight shaped like `array`."""
    target.name, target.data_type = name, elem_type(array.dtype)
    target.dims.extend(array.shape)
    target.data_location = TensorProto.EXTERNAL
    target.external_data.add(key="location", value=DETACHED)


def detachable(array: np.ndarray) -> bool:
    """A weight worth keeping out of the graph: a float array of DETACH_MIN_VALUES or more."""
    return array.dtype.kind == "f" and array.size >= DETACH_MIN_VALUES


class GraphBuilder:
    """Nodes and initializers under construction, every name fresh.

    `initializers` is where `const` writes: a list, or a protobuf repeated field (e.g. the
    final model's `graph.initializer`, so a weight is written once). With `weights` given,
    detachable arrays go there and the graph gets their stubs (see the module docstring)."""

    def __init__(self, taken: Iterable[str] = (), *,
                 initializers: list[onnx.TensorProto] | None = None,
                 weights: Weights | None = None) -> None:
        self.names = UniqueNames(taken)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers = [] if initializers is None else initializers
        self.weights = weights

    def fresh(self, stem: str) -> str:
        """A tensor or node name not used yet."""
        return self.names.fresh(stem)

    def const(self, stem: str, array: np.ndarray, *, exact_name: bool = False) -> str:
        """Creates an initializer holding `array` (its dtype kept) and returns its name
        (`stem` itself when `exact_name`: the caller owns that name)."""
        array = np.asarray(array)
        name = stem if exact_name else self.fresh(stem)
        if isinstance(self.initializers, list):
            tensor = onnx.TensorProto()
            self.initializers.append(tensor)
        else:
            tensor = self.initializers.add()
        if self.weights is not None and detachable(array):
            write_stub(tensor, name, array)
            self.weights[name] = array
        else:
            write_initializer(tensor, name, array)
        return name

    def ints(self, stem: str, values: Sequence[int]) -> str:
        """A 1-D int64 initializer (axes, pads, shapes, sizes)."""
        return self.const(stem, np.asarray(list(values), dtype=np.int64))

    def node(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str,
             **attributes) -> onnx.NodeProto:
        """Appends one standard-domain node and returns it."""
        node = helper.make_node(op_type, list(inputs), list(outputs), name=name, **attributes)
        self.nodes.append(node)
        return node


# ---------------------------------------------------------------------------- weights

def copy_fields_except(source, target, skip: str) -> None:
    """Copies every set field of protobuf message `source` except `skip` into `target` (same
    message type): how a model or graph is copied without its (large) initializers."""
    for field, value in source.ListFields():
        if field.name == skip:
            continue
        if field.is_repeated:
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)


def detach_weights(model: onnx.ModelProto) -> tuple[onnx.ModelProto, Weights]:
    """A weight-free copy of `model` (its detachable initializers replaced by stubs) and the
    weights; each weight's data is read once (numpy_helper), nothing else large is copied."""
    weights: Weights = {}
    light = onnx.ModelProto()
    copy_fields_except(model, light, skip="graph")
    copy_fields_except(model.graph, light.graph, skip="initializer")
    for tensor in model.graph.initializer:
        if (tensor.data_type in (TensorProto.FLOAT, TensorProto.DOUBLE) and not is_detached(tensor)
                and int(np.prod(tensor.dims)) >= DETACH_MIN_VALUES):
            array = numpy_helper.to_array(tensor)
            write_stub(light.graph.initializer.add(), tensor.name, array)
            weights[tensor.name] = array
        else:
            light.graph.initializer.add().CopyFrom(tensor)
    return light, weights


def attached(model: onnx.ModelProto, weights: Mapping[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of `model` with every detached weight's data written into its initializer (for
    runtimes and tools that need one self-contained ModelProto)."""
    full = onnx.ModelProto()
    full.CopyFrom(model)
    for tensor in full.graph.initializer:
        if is_detached(tensor):
            name = tensor.name
            tensor.Clear()
            write_initializer(tensor, name, weights[name])
    return full


def detached_names(graph: onnx.GraphProto) -> list[str]:
    """The names of the graph's detached weights, in initializer order."""
    return [tensor.name for tensor in graph.initializer if is_detached(tensor)]
