"""`python -m converters vjp NET.onnx -o NET_vjp.onnx --wrt INPUT --of OUTPUT`."""
from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from onnx.external_data_helper import load_external_data_for_model
from google.protobuf.message import DecodeError

from converters.caffe.files import read_bytes
from converters.model_output import write_model_or_report
from converters.vjp.context import VJPError
from converters.vjp.transform import build_vjp

DESCRIPTION = """\
Writes one ONNX model computing the forward outputs named by --of and the vector-Jacobian
product: its inputs are NET's inputs plus OUTPUT_grad (the cotangent, shaped like OUTPUT)
for each --of; its outputs are the --of values plus INPUT_grad for each --wrt. The backward
reuses the forward tensors of the same graph; an initializer named by --wrt becomes an
input. Standard ONNX domain only (runs on ONNX Runtime CPU/CUDA and other runtimes).
"""


def _load(path: str) -> onnx.ModelProto:
    """The model with its weights, those in external files beside it included (what
    torch.onnx.export with dynamo=True writes: NET.onnx and NET.onnx.data)."""
    try:
        model = onnx.load_model_from_string(read_bytes(path, "ONNX model"))
    except (DecodeError, RuntimeError, ValueError):
        raise VJPError(f"{path}: not a readable ONNX model (truncated or not ONNX)") from None
    try:
        load_external_data_for_model(model, str(Path(path).parent))
    except (OSError, ValueError, onnx.checker.ValidationError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise VJPError(f"{path}: its external weight data cannot be read ({reason})") from None
    return model


def run(args: argparse.Namespace) -> int:
    """Builds and writes the VJP model atomically; bad input is one line on stderr, exit 2."""
    def build():
        forward = _load(args.model)
        try:
            return build_vjp(forward, args.wrt, args.of)
        except VJPError as error:
            raise VJPError(f"{args.model}: {error}") from None
    return write_model_or_report(build, args.output_path)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the `vjp` subcommand."""
    parser = subparsers.add_parser(
        "vjp", help="ONNX forward model → ONNX model with its backward (VJP)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="NET.onnx", help="forward ONNX model")
    parser.add_argument("-o", dest="output_path", required=True, metavar="NET_vjp.onnx",
                        help="ONNX file to write (written atomically)")
    parser.add_argument("--wrt", action="append", required=True, metavar="INPUT",
                        help="input (or initializer) to differentiate with respect to; repeatable")
    parser.add_argument("--of", action="append", required=True, metavar="OUTPUT",
                        help="output to differentiate; repeatable")
    parser.set_defaults(func=run)
