"""The driver's view of the two nets: Caffe files → weight-free forward ONNX → forward+VJP ONNX.

Each prototxt is parsed once; the learned blobs are detached as the net is converted
(common.onnx_graph), so the VJP and the step graph are built on a graph of a few kilobytes
and the weights are attached once, by whatever runs or writes the result.

Bad files and names become a UserError naming the flag: a missing file, a prototxt or
caffemodel the converter refuses, an activation layer the net does not have, generator blob
names the generator does not have.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import onnx

from common.errors import UserError
from common.onnx_graph import Weights, data_inputs


def require_file(path: str | Path, flag: str) -> Path:
    """The path when it is a file; else a UserError naming the flag (and `fetch` for data/ files)."""
    from reproduce.official.manifest import data_root
    path = Path(path)
    if not path.is_file():
        hint = ("; an official file: `python -m reproduce fetch` places it"
                if path.resolve().is_relative_to(data_root().resolve()) else "")
        raise UserError(f"{flag} {path}: file not found{hint}")
    return path


@contextmanager
def _errors_named(flag: str) -> Iterator[None]:
    """The converter's errors (CaffeError, UserError) as a UserError naming the flag."""
    from converters.caffe.files import CaffeError
    try:
        yield
    except (CaffeError, UserError) as error:
        raise UserError(f"{flag}: {error}") from None


def _converted(flag: str, prototxt: str | Path, caffemodel: str | Path, *, act_layer: str | None = None,
               **options) -> tuple[onnx.ModelProto, Weights]:
    """The net parsed once and converted with its weights detached; with `act_layer`, that
    layer must exist (the graph is cut after it, Caffe's forward(end=L))."""
    from converters.caffe.to_onnx import load_convertible_net, net_to_onnx
    with _errors_named(flag):
        net = load_convertible_net(str(prototxt), str(caffemodel))
    names = [layer.name for layer in net.layers]
    if act_layer is not None and act_layer not in names:
        raise UserError(f"--act_layer {act_layer}: no such layer in {prototxt} "
                        f"(last layers: {', '.join(names[-5:])})")
    weights: Weights = {}
    with _errors_named(flag):
        return net_to_onnx(net, weights=weights, **options), weights


def input_names(model: onnx.ModelProto) -> list[str]:
    """The graph's data inputs (not initializers), by name."""
    return [value.name for value in data_inputs(model.graph)]


def generator_forward(definition: str | Path, weights: str | Path, *, gen_in: str, gen_out: str,
                      batch: int) -> tuple[onnx.ModelProto, Weights]:
    """The generator's weight-free forward graph (input gen_in, output gen_out) and its weights."""
    definition = require_file(definition, "--generator_definition")
    caffemodel = require_file(weights, "--generator_weights")
    forward, detached = _converted("--generator_definition", definition, caffemodel,
                                   outputs=(gen_out,), batch=batch)
    if gen_in not in input_names(forward):
        raise UserError(f"--generator_input {gen_in}: not an input of {definition} "
                        f"(inputs: {', '.join(input_names(forward))})")
    return forward, detached


def generator_vjp(forward: onnx.ModelProto, *, gen_in: str, gen_out: str) -> onnx.ModelProto:
    """The generator's forward+VJP graph: inputs gen_in, gen_out_grad; outputs gen_out, gen_in_grad."""
    from converters.vjp.transform import build_vjp
    return build_vjp(forward, wrt=[gen_in], of=[gen_out])


def net_forward(definition: str | Path, weights: str | Path, *, act_layer: str,
                batch: int) -> tuple[onnx.ModelProto, Weights]:
    """The visualised net cut after act_layer (Caffe forward(end=L)), weight-free, and its weights."""
    definition = require_file(definition, "--net_definition")
    caffemodel = require_file(weights, "--net_weights")
    forward, detached = _converted("--net_definition", definition, caffemodel, act_layer=act_layer,
                                   outputs=(act_layer,), end=act_layer, batch=batch)
    inputs = input_names(forward)
    if len(inputs) != 1:
        raise UserError(f"--net_definition {definition}: expected one data input, found "
                        f"{', '.join(inputs) or 'none'}")
    return forward, detached


def net_vjp(forward: onnx.ModelProto, *, act_layer: str) -> tuple[onnx.ModelProto, str]:
    """The cut net's forward+VJP graph with respect to its input, and the input's name."""
    from converters.vjp.transform import build_vjp
    (net_in,) = input_names(forward)
    return build_vjp(forward, wrt=[net_in], of=[act_layer]), net_in


def encoder_forward(definition: str | Path, weights: str | Path, blob: str) -> onnx.ModelProto:
    """The encoder's full forward (batch 1) with `blob` as output (its value after in-place
    layers), weights embedded (it runs once, for --init_file)."""
    from common.onnx_graph import attached
    definition = require_file(definition, "--encoder_definition")
    caffemodel = require_file(weights, "--encoder_weights")
    model, detached = _converted("--encoder_definition", definition, caffemodel, outputs=(blob,),
                                 batch=1)
    return attached(model, detached)
