"""`python -m reproduce layers NET [WEIGHTS]`: the names `act_max --act_layer` accepts.

NET is a Caffe deploy prototxt (WEIGHTS, a caffemodel, is optional: shapes come from the
prototxt) or an ONNX model (a `.onnx` file; `--net_input` / `--net_input_size` as for
`act_max --net_onnx`). One line per name, in the net's order, columns separated by two or
more spaces:

    NAME  SHAPE  UNITS  UNIT  ACCEPTS  [in-place after LAYER[,LAYER...]]

SHAPE is the blob's shape at batch 1 (`1x256x13x13`; a token tensor `1x197x768` or
`197x1x768`). UNITS is the `--unit` range and UNIT what one unit is: a 4-D blob's channel at
the row and column `--xy` chooses (`channel at --xy (13x13)`); a token layout's channel
([B, T, C] or [T, B, C]: `channel, mean of 197 tokens`, or with `--token K` `channel, token K
of 197 tokens`); otherwise a flat index. ACCEPTS is `yes` when `act_max --act_layer NAME`
(with the `--token` given here) takes it, else `no: ` and why. The last column, Caffe only,
names the later layers that overwrite the blob in place: `--act_layer fc6` is fc6 as
`forward(end=fc6)` leaves it (before `relu6`), while `net.blobs['fc6']` after a full forward
is after those layers. Tensors whose values do not depend on the image (constants, sizes
computed from its shape) are not listed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import one_line_errors
from common.errors import UserError
from reproduce.step.layer_listing import caffe_candidates, format_candidates, onnx_candidates


def is_onnx_path(path: str) -> bool:
    """ONNX by its `.onnx` suffix; anything else is read as a Caffe prototxt."""
    return Path(path).suffix.lower() == ".onnx"


def main(args: argparse.Namespace) -> int:
    if is_onnx_path(args.net):
        if args.weights:
            raise UserError(f"WEIGHTS {args.weights}: an ONNX model carries its own weights")
        candidates = onnx_candidates(args.net, args.net_input or None,
                                     tuple(args.net_input_size) if args.net_input_size else None,
                                     args.token)
    else:
        if args.net_input or args.net_input_size or args.token is not None:
            raise UserError("--net_input/--net_input_size/--token: for ONNX models only")
        candidates = caffe_candidates(args.net, args.weights or None)
    for line in format_candidates(candidates):
        print(line)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("layers", help="list the tensors --act_layer accepts",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("net", help="a Caffe deploy .prototxt or an ONNX .onnx model")
    parser.add_argument("weights", nargs="?", default="", help="the caffemodel (optional)")
    parser.add_argument("--net_input", default="", help="ONNX: the image input's name")
    parser.add_argument("--net_input_size", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="ONNX: the input size, when the model leaves it symbolic")
    parser.add_argument("--token", type=int, default=None, metavar="K",
                        help="ONNX token layouts: check each tensor for act_max's --token K "
                             "(default: the mean over the tokens)")
    one_line_errors(parser, "layers")
    parser.set_defaults(func=main)
