"""What `python -m reproduce layers NET` lists: every blob or tensor that can be `--act_layer`.

One `Candidate` per name, in the net's order, with its shape at batch 1 and its unit count
(the `--unit` range: the channels of a 4-D blob, where `--xy` picks the row and column, as
the release's `[0, unit, xy, xy]`; the flat size of any other blob).

* A Caffe prototxt (with or without a caffemodel): the layers `act_max` accepts as
  `--act_layer`, i.e. those whose top blob carries the layer's name (Input layers excluded).
  `--act_layer L` gives L's top as Caffe's `forward(end=L)` leaves it; when later layers
  modify that blob in place (CaffeNet's `relu6` and `drop6` on `fc6`), `in_place_after`
  names them: `net.blobs['fc6']` after a full forward is their output, not `--act_layer fc6`.
* An ONNX model: every floating-point tensor produced by a node that depends on the image
  input and has a static shape once the batch is 1 (ONNX has no in-place writes).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import UserError


@dataclass(frozen=True)
class Candidate:
    """One name `--act_layer` accepts: its shape (batch 1), unit count, in-place writers."""

    name: str
    shape: tuple[int, ...]
    in_place_after: tuple[str, ...] = ()

    @property
    def units(self) -> int:
        """The `--unit` range: channels of a 4-D blob, else the flat size per sample."""
        if len(self.shape) == 4:
            return self.shape[1]
        return int(np.prod(self.shape[1:])) if len(self.shape) > 1 else int(np.prod(self.shape))


def caffe_candidates(prototxt: str | Path, caffemodel: str | Path | None = None) -> list[Candidate]:
    """The act layers of a Caffe net; without a caffemodel, shapes come from the prototxt alone."""
    from converters.caffe.files import CaffeError
    from converters.caffe.reader import load_caffe_net
    from converters.caffe.to_onnx import net_to_onnx
    from converters.caffe.weights import fill_missing_blobs
    for flag, path in (("NET", prototxt), ("WEIGHTS", caffemodel)):
        if path is not None and not Path(path).is_file():
            raise UserError(f"{flag} {path}: file not found")
    try:
        net = load_caffe_net(prototxt, caffemodel)
        names = [layer.name for index, layer in enumerate(net.layers)
                 if layer.type != "Input" and layer.name in layer.tops]
        if not names:
            return []

        def zeros(layer, shapes, roles):  # shapes only: no weights are invented for a run
            return [np.zeros(shape, np.float32) for shape in shapes]

        with fill_missing_blobs(zeros):
            model = net_to_onnx(net, outputs=names, batch=1)
    except (CaffeError, UserError) as error:
        raise UserError(f"NET {prototxt}: {error}") from None
    shapes = {value.name: tuple(dim.dim_value for dim in value.type.tensor_type.shape.dim)
              for value in model.graph.output}
    candidates = []
    for index, layer in enumerate(net.layers):
        if layer.name not in names:
            continue
        writers = tuple(later.name for later in net.layers[index + 1:]
                        if layer.name in later.tops and layer.name in later.bottoms)
        candidates.append(Candidate(layer.name, shapes[layer.name], writers))
    return candidates


def onnx_candidates(path: str | Path, input_name: str | None = None,
                    size: tuple[int, int] | None = None) -> list[Candidate]:
    """The tensors of an ONNX model that can be `--act_layer` (see the module docstring);
    `size` (H, W) is needed when the model's input size is symbolic."""
    from onnx import TensorProto

    from common.onnx_graph import detach_weights, fixed_dims, inferred_types
    from reproduce.step.onnx_net import depending_on, image_input, load_onnx_model, with_fixed_input
    model, _ = detach_weights(load_onnx_model(path, flag="NET"))
    value = image_input(model, input_name, path)
    model, _ = with_fixed_input(model, value.name, 1, size, path)
    types = inferred_types(model)
    candidates = []
    for name in depending_on(model, value.name):
        type_proto = types.get(name)
        if type_proto is None or type_proto.tensor_type.elem_type not in (TensorProto.FLOAT,
                                                                         TensorProto.DOUBLE):
            continue
        shape = fixed_dims(type_proto)
        if shape is not None:
            candidates.append(Candidate(name, shape))
    return candidates


def format_candidates(candidates: list[Candidate]) -> list[str]:
    """`NAME  SHAPE  UNITS  [in-place after LAYER[,LAYER...]]`, columns aligned, shape as 1x3x8x8."""
    rows = [(c.name, "x".join(map(str, c.shape)), str(c.units),
             f"in-place after {','.join(c.in_place_after)}" if c.in_place_after else "")
            for c in candidates]
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(3)]
    return [f"{name:<{widths[0]}}  {shape:<{widths[1]}}  {units:>{widths[2]}}"
            f"{'  ' + note if note else ''}".rstrip() for name, shape, units, note in rows]
