"""A user's ONNX model file as the step graph reads it: loaded and checked from any working
directory (external data resolved from the model's folder), its opset accepted from
MIN_OPSET to the newest onnx knows and lifted, never lowered, to the step graph's opset, and
its external data files found (for content hashes and for shipping the model elsewhere).
"""
from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto

from common.errors import UserError, first_line
from common.onnx_graph import lifted, opset_of, standard_opset

# The opsets a user's model may have: from MIN_OPSET (the VJP transform's floor) to the newest
# this onnx knows. The step graph is built at the higher of the model's and the generator's
# opset; the lower one is lifted to it (common.onnx_graph.lifted), never lowered.
MIN_OPSET = 13


def load_onnx_model(path: str | Path, flag: str = "--net_onnx") -> onnx.ModelProto:
    """The checked model at its own opset (one below MIN_OPSET is lifted to it), external data
    read from the model's folder whatever the working directory; a UserError naming the flag
    and file when it is missing, not an ONNX model, fails onnx's checker, or has an opset
    this onnx does not know."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{flag} {path}: file not found")
    try:  # external data: relative to the model's folder (onnx.load's base directory)
        model = onnx.load(str(path))
    except Exception as error:  # protobuf's DecodeError, onnx's external-data errors, ...
        raise UserError(f"{flag} {path}: not an ONNX model ({first_line(error)})") from None
    if not model.graph.node:
        raise UserError(f"{flag} {path}: not an ONNX model (no graph nodes)")
    try:  # the path form: it follows external data and takes models over 2 GB
        onnx.checker.check_model(str(path))
    except (onnx.checker.ValidationError, ValueError) as error:
        raise UserError(f"{flag} {path}: not a valid ONNX model ({first_line(error)})") from None
    opset = standard_opset(model)
    if opset is None:
        raise UserError(f"{flag} {path}: the model imports no standard ONNX opset")
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise UserError(f"{flag} {path}: opset {opset} is newer than this onnx {onnx.__version__} "
                        f"knows (opsets {MIN_OPSET}-{newest}); upgrade onnx or export at {newest}")
    if opset < MIN_OPSET:
        model = lifted_net(model, MIN_OPSET, path, flag)
    return model


def external_data_files(path: str | Path) -> list[Path]:
    """The files holding a model's external data (resolved from the model's folder), in the
    order the initializers name them; [] for a self-contained model."""
    path = Path(path)
    model = onnx.load(str(path), load_external_data=False)
    files: dict[Path, None] = {}
    for tensor in model.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            location = next(entry.value for entry in tensor.external_data if entry.key == "location")
            files[path.parent / location] = None
    return list(files)


def self_contained_bytes(path: str | Path) -> bytes:
    """The model file's bytes, or for a model with external data the model with its weights
    embedded (for copying it where its data file is not: a Ray worker's host)."""
    if not external_data_files(path):
        return Path(path).read_bytes()
    return onnx.load(str(path)).SerializeToString()


def lifted_net(model: onnx.ModelProto, opset: int, path: str | Path,
               flag: str = "--net_onnx") -> onnx.ModelProto:
    """The user's model lifted to `opset` (≥ its own; common.onnx_graph.lifted); a UserError
    naming the flag and file when onnx's version converter cannot."""
    try:
        return lifted(model, opset)
    except Exception as error:
        raise UserError(f"{flag} {path}: opset {opset_of(model)} could not be lifted to opset "
                        f"{opset} ({first_line(error)})") from None


def step_opset(*models: onnx.ModelProto) -> int:
    """The step graph's opset: the highest of its parts' (each part is lifted to it)."""
    return max(opset_of(model) for model in models)

