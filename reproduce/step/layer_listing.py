"""What `python -m reproduce layers NET` lists: every blob or tensor that can be `--act_layer`.

One `Candidate` per name, in the net's order, with its shape at batch 1, its unit rule
(reproduce.step.act_layer.ActLayer: the channels of a 4-D blob, where `--xy` picks the row
and column, as the release's `[0, unit, xy, xy]`; the channels of a token layout, averaged
over the tokens or at `--token K`; the flat size of any other blob) and whether `act_max
--act_layer` accepts it (and why not).

* A Caffe prototxt (with or without a caffemodel): the layers `act_max` accepts as
  `--act_layer`, i.e. those whose top blob carries the layer's name (Input layers excluded).
  `--act_layer L` gives L's top as Caffe's `forward(end=L)` leaves it; when later layers
  modify that blob in place (CaffeNet's `relu6` and `drop6` on `fc6`), `in_place_after`
  names them: `net.blobs['fc6']` after a full forward is their output, not `--act_layer fc6`.
* An ONNX model: every floating-point tensor produced by a node whose value depends on the
  image's values (not only on its shape: constants such as a [1]-shaped attention scale
  computed from `Shape` are skipped) and has a static shape once the batch is 1 (ONNX has no
  in-place writes).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from common.errors import UserError
from reproduce.step.act_layer import ActLayer, check_batch_axis


@dataclass(frozen=True)
class Candidate:
    """One name `--act_layer` may take: its shape (batch 1), in-place writers, its unit rule
    (None when it has none: a scalar) and why `act_max` refuses it ("" when it accepts it)."""

    name: str
    shape: tuple[int, ...]
    in_place_after: tuple[str, ...] = ()
    act: ActLayer | None = None
    refused: str = ""

    @classmethod
    def of(cls, name: str, shape: tuple[int, ...], in_place_after: tuple[str, ...] = (),
           token: int | None = None, *, measured: bool = False,
           batch_axis: int | None = None) -> "Candidate":
        """The candidate with its unit rule at batch 1 and `act_max`'s verdict for `--token`;
        `measured`: `batch_axis` is the tensor's batch axis measured at two batch sizes
        (onnx_net.batch_axes; None: none of its axes is), which the rule's axis must be."""
        try:
            act = ActLayer.of_tensor(name, shape, batch=1)
        except UserError as error:
            return cls(name, shape, in_place_after, None, str(error))
        try:
            if measured:
                check_batch_axis(act, batch_axis)
            act = replace(act, token=token)
            act.check_token()
        except UserError as error:
            return cls(name, shape, in_place_after, act, str(error))
        return cls(name, shape, in_place_after, act)

    @property
    def units(self) -> int:
        """The `--unit` range (0 without a unit rule)."""
        return self.act.unit_count if self.act is not None else 0

    @property
    def accepted(self) -> bool:
        return not self.refused


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
        candidates.append(Candidate.of(layer.name, shapes[layer.name], writers))
    return candidates


def onnx_candidates(path: str | Path, input_name: str | None = None,
                    size: tuple[int, int] | None = None, token: int | None = None) -> list[Candidate]:
    """The tensors of an ONNX model that can be `--act_layer` (see the module docstring);
    `size` (H, W) is needed when the model's input size is symbolic; `token` is act_max's
    `--token` (whether each tensor accepts it)."""
    from onnx import TensorProto

    from common.onnx_graph import detach_weights, fixed_dims, inferred_types
    from reproduce.step.onnx_loading import load_onnx_model
    from reproduce.step.onnx_net import batch_axes, depending_on, image_input, with_fixed_input
    loaded, _ = detach_weights(load_onnx_model(path, flag="NET"))
    value = image_input(loaded, input_name, path)
    model, _ = with_fixed_input(loaded, value.name, 1, size, path)
    types = inferred_types(model)
    axes = batch_axes(loaded, value.name, size, path, 1, types)
    candidates = []
    for name in depending_on(model, value.name):
        type_proto = types.get(name)
        if type_proto is None or type_proto.tensor_type.elem_type not in (TensorProto.FLOAT,
                                                                         TensorProto.DOUBLE):
            continue
        shape = fixed_dims(type_proto)
        if shape is not None:
            candidates.append(Candidate.of(name, shape, token=token, measured=name in axes,
                                           batch_axis=axes.get(name)))
    return candidates


def format_candidates(candidates: list[Candidate]) -> list[str]:
    """`NAME  SHAPE  UNITS  UNIT  ACCEPTS  [in-place after LAYER[,LAYER...]]`, columns aligned,
    shape as 1x3x8x8; UNIT says what one unit is, ACCEPTS is `yes` or `no: <why>`."""
    rows = [(c.name, "x".join(map(str, c.shape)) or "scalar", str(c.units) if c.act else "-",
             c.act.describe_unit() if c.act else "-",
             "yes" if c.accepted else f"no: {_reason(c)}",
             f"in-place after {','.join(c.in_place_after)}" if c.in_place_after else "")
            for c in candidates]
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(5)]
    return [f"{name:<{widths[0]}}  {shape:<{widths[1]}}  {units:>{widths[2]}}  "
            f"{unit:<{widths[3]}}  {accepts:<{widths[4]}}{'  ' + note if note else ''}".rstrip()
            for name, shape, units, unit, accepts, note in rows]


def _reason(candidate: Candidate) -> str:
    """The refusal without its leading `--flag NAME:` and with single spaces (one column)."""
    reason = candidate.refused.split(": ", 1)[-1]
    return " ".join(reason.split())
