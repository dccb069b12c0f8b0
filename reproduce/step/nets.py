"""The driver's view of the two nets: Caffe files → forward ONNX → forward+VJP ONNX.

Bad files and names become a UserError naming the flag: a missing file, a prototxt or
caffemodel the converter refuses, an activation layer the net does not have, generator blob
names the generator does not have.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from common.errors import UserError


def require_file(path: str | Path, flag: str) -> Path:
    """The path when it is a file; else a UserError naming the flag (and `fetch` for data/ files)."""
    from reproduce.official.manifest import data_root
    path = Path(path)
    if not path.is_file():
        hint = ("; an official file: `python -m reproduce fetch` places it"
                if path.resolve().is_relative_to(data_root().resolve()) else "")
        raise UserError(f"{flag} {path}: file not found{hint}")
    return path


def _converter_errors() -> tuple[type[Exception], ...]:
    from converters.caffe.files import CaffeError
    return (CaffeError, UserError)


def _convert(flag: str, prototxt: Path, caffemodel: Path, **options) -> onnx.ModelProto:
    from converters.caffe.to_onnx import caffe_to_onnx
    try:
        return caffe_to_onnx(str(prototxt), str(caffemodel), **options)
    except _converter_errors() as error:
        raise UserError(f"{flag}: {error}") from None


def layer_names(prototxt: Path, flag: str) -> list[str]:
    """Layer names of a deploy prototxt after upgrade (TEST phase)."""
    from converters.caffe.reader import load_caffe_net
    try:
        return [layer.name for layer in load_caffe_net(prototxt).layers]
    except _converter_errors() as error:
        raise UserError(f"{flag}: {error}") from None


def graph_input_names(model: onnx.ModelProto) -> list[str]:
    """Graph inputs that are not initializers (the data inputs)."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    return [value.name for value in model.graph.input if value.name not in initializers]


def generator_vjp(definition: str | Path, weights: str | Path, *, gen_in: str, gen_out: str,
                  batch: int) -> onnx.ModelProto:
    """The generator's forward+VJP graph: inputs gen_in, gen_out_grad; outputs gen_out, gen_in_grad."""
    from converters.vjp.transform import build_vjp
    definition = require_file(definition, "--generator_definition")
    weights = require_file(weights, "--generator_weights")
    forward = _convert("--generator_definition", definition, weights, outputs=(gen_out,),
                       batch=batch)
    if gen_in not in graph_input_names(forward):
        raise UserError(f"--generator_input {gen_in}: not an input of {definition} "
                        f"(inputs: {', '.join(graph_input_names(forward))})")
    return build_vjp(forward, wrt=[gen_in], of=[gen_out])


def net_vjp(definition: str | Path, weights: str | Path, *, act_layer: str,
            batch: int) -> tuple[onnx.ModelProto, str]:
    """The visualised net cut after act_layer (Caffe forward(end=L)) with its VJP, and its input name."""
    from converters.vjp.transform import build_vjp
    definition = require_file(definition, "--net_definition")
    weights = require_file(weights, "--net_weights")
    names = layer_names(definition, "--net_definition")
    if act_layer not in names:
        raise UserError(f"--act_layer {act_layer}: no such layer in {definition} "
                        f"(last layers: {', '.join(names[-5:])})")
    forward = _convert("--net_definition", definition, weights, outputs=(act_layer,),
                       end=act_layer, batch=batch)
    inputs = graph_input_names(forward)
    if len(inputs) != 1:
        raise UserError(f"--net_definition {definition}: expected one data input, found "
                        f"{', '.join(inputs) or 'none'}")
    return build_vjp(forward, wrt=inputs, of=[act_layer]), inputs[0]


def encoder_forward(definition: str | Path, weights: str | Path, blob: str) -> onnx.ModelProto:
    """The encoder's full forward (batch 1) with `blob` as output (its value after in-place layers)."""
    definition = require_file(definition, "--encoder_definition")
    weights = require_file(weights, "--encoder_weights")
    return _convert("--encoder_definition", definition, weights, outputs=(blob,), batch=1)
