"""`python -m converters vjp NET.onnx -o NET_vjp.onnx --wrt INPUT --of OUTPUT`."""
from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from common.errors import first_line
from converters.model_output import write_model_or_report
from converters.vjp.context import VJPError
from converters.vjp.transform import build_vjp

DESCRIPTION = """\
Writes one ONNX model computing the forward outputs named by --of and the vector-Jacobian
product: its inputs are NET's inputs plus OUTPUT_grad (the cotangent, shaped like OUTPUT)
for each --of; its outputs are the --of values plus INPUT_grad for each --wrt. The backward
reuses the forward tensors of the same graph; an initializer named by --wrt becomes an
input. Standard ONNX domain only (runs on ONNX Runtime CPU/CUDA and other runtimes). NET's
external data (a `.onnx.data` file) is read from NET's folder; the written model embeds its
weights, or, from 2 GiB on, writes them to `NET_vjp.onnx.data` beside it.
"""


def _load(path: str) -> onnx.ModelProto:
    """The model with its external data (relative to the model's folder, whatever the working
    directory); one VJPError line for a missing, unreadable or truncated file or data file."""
    if not Path(path).is_file():
        raise VJPError(f"{path}: ONNX model file not found")
    try:
        return onnx.load(path)
    except (DecodeError, RuntimeError, ValueError):
        raise VJPError(f"{path}: not a readable ONNX model (truncated or not ONNX)") from None
    except OSError as error:  # its external data file missing or unreadable
        raise VJPError(f"{path}: its external data cannot be read ({error.strerror or error}: "
                       f"{error.filename or ''})") from None
    except onnx.checker.ValidationError as error:  # a data location outside the model's folder
        raise VJPError(f"{path}: its external data cannot be read ({first_line(error)})") from None


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
