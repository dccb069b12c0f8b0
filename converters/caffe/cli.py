"""`python -m converters caffe2onnx`: a Caffe deploy prototxt + caffemodel → one ONNX file."""
from __future__ import annotations

import argparse

from converters.caffe.files import CaffeError
from converters.model_output import write_model_or_report
from converters.caffe.to_onnx import caffe_to_onnx


DESCRIPTION = """\
Converts a Caffe net (deploy prototxt in any of Caffe's formats: V2 `layer`, V1 `layers`
with enum types, V0 `layers { layer {...} }`; binary caffemodel in any layout) to a
standard-domain ONNX model (opset 17) that reproduces Caffe's forward pass.

Naming: ONNX inputs and outputs are named after the Caffe blobs. An output BLOB holds
what Caffe's net.blobs['BLOB'] holds after net.forward(): the value after in-place layers
(CaffeNet's `fc6` is after relu6). With --end LAYER the graph stops after LAYER, as Caffe's
net.forward(end='LAYER'): its top blobs are outputs as LAYER produced them (Places'
`--end conv5` gives conv5 before relu5). Without --output, the outputs are the blobs no
layer consumes (or LAYER's tops with --end).
"""


def _batch(text: str) -> int | str:
    if text == "dynamic":
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise CaffeError(f"--batch {text}: must be a positive integer or 'dynamic'")


def run(args: argparse.Namespace) -> int:
    """Converts and writes the model atomically; a bad input is one line on stderr, exit 2."""
    def build():
        return caffe_to_onnx(args.prototxt, args.caffemodel, outputs=args.output or (),
                             end=args.end, batch=_batch(args.batch))
    return write_model_or_report(build, args.output_path)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the `caffe2onnx` subcommand."""
    parser = subparsers.add_parser(
        "caffe2onnx", help="Caffe prototxt + caffemodel → ONNX", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prototxt", help="deploy prototxt (text format)")
    parser.add_argument("caffemodel", help="trained weights (binary .caffemodel)")
    parser.add_argument("-o", dest="output_path", required=True, metavar="NET.onnx",
                        help="ONNX file to write (written atomically)")
    parser.add_argument("--output", action="append", metavar="BLOB",
                        help="expose this blob (repeatable); its value after the forward pass")
    parser.add_argument("--end", metavar="LAYER",
                        help="cut the graph after this layer (Caffe's forward(end=LAYER))")
    parser.add_argument("--batch", default="1", metavar="N|dynamic",
                        help="batch size of the inputs, or 'dynamic' (default 1)")
    parser.set_defaults(func=run)
