"""The `--net_onnx` flags of act_max (and of every command taking act_max's flags).

    --net_onnx MODEL.onnx [--net_input NAME] [--net_preset caffe|torchvision|tf]
    [--net_input_size H W] [--net_mean R G B] [--net_std R G B] [--net_rgb] [--crop_size S]

Colour triples are always R, G, B. Without `--net_std`, `--net_mean` is in 0–255 pixels;
with it, in 0–1 pixels. A preset fills the fields its convention fixes; a flag given
overrides the preset's value. `--crop_size` is the side of the generator's centre crop the
adapter receives (it is resized to the net's input size when that differs); by default the
release's 227 for the 256×256 fc6 generator, the largest that fits for a smaller generator
(64 for the 64×64 demo generator). `--token K` picks token K of a token-layout act layer
([B, T, C] or [T, B, C]; default: the mean over the tokens; reproduce.step.act_layer).
See reproduce.step.onnx_net for the adapter's steps.
"""
from __future__ import annotations

import argparse

from common.errors import UserError
from reproduce.step.onnx_net import PRESETS, RELEASE_CROP, OnnxNet, adapter_from_flags


def add_onnx_net_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the --net_onnx group."""
    group = parser.add_argument_group("any ONNX classifier (replaces --net_definition/--net_weights)")
    add = group.add_argument
    add("--net_onnx", type=str, default="", help="the net to visualise, an ONNX model")
    add("--net_input", type=str, default="", help="its image input (default: its only input)")
    add("--net_preset", type=str, default=None, choices=sorted(PRESETS),
        help="input convention: caffe (BGR, 0-255 minus the ImageNet mean; the default), "
             "torchvision (RGB, 0-1, ImageNet mean/std), tf (RGB, [-1, 1])")
    add("--net_input_size", type=int, nargs=2, metavar=("H", "W"), default=None,
        help="the net's input size (default: the model's own); the crop is resized to it")
    add("--net_mean", type=float, nargs=3, metavar=("R", "G", "B"), default=None,
        help="per-channel mean the net subtracts (0-255, or 0-1 with --net_std)")
    add("--net_std", type=float, nargs=3, metavar=("R", "G", "B"), default=None,
        help="per-channel std the net divides by (its inputs are 0-1 scaled)")
    add("--net_rgb", action="store_const", const=True, default=None,
        help="the net takes RGB (Caffe nets take BGR)")
    add("--crop_size", type=int, default=None,
        help=f"side of the generator's centre crop fed to the adapter (default {RELEASE_CROP}, "
             "or the largest the generator's image allows when smaller)")
    add("--token", type=int, default=None, metavar="K",
        help="for a token-layout act layer ([B,T,C] or [T,B,C]): the activation at token K "
             "(default: the mean over the tokens)")


def onnx_net_from(args: argparse.Namespace) -> OnnxNet | None:
    """The OnnxNet the flags describe, or None without --net_onnx."""
    if not args.net_onnx:
        if getattr(args, "token", None) is not None:
            raise UserError(f"--token {args.token}: for token layers of a --net_onnx model only "
                            "(Caffe blobs have no tokens)")
        return None
    adapter = adapter_from_flags(args.net_preset, rgb=args.net_rgb, mean=args.net_mean,
                                 std=args.net_std, size=args.net_input_size)
    return OnnxNet(args.net_onnx, args.net_input or None, adapter, args.crop_size, args.token)
