"""Saving an image exactly as the release does (patchShow_single + scipy.misc.imsave).

The float32 BGR crop becomes RGB, is clipped to [-120, 120] and mapped to [0, 1] in float64
(patchShow.normalize), then the writer stretches that array again to its own min and max
(scipy.misc.bytescale: a range of 0 counts as 1) and rounds with `uint8(clip(b, 0, 255) + 0.5)`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from common.atomic import atomic_output
from reproduce.outputs.names import layer_slug

IN_RANGE = (-120.0, 120.0)


def to_saved_array(image_bgr: np.ndarray) -> np.ndarray:
    """The uint8 H×W×3 RGB array the release's writer encodes, from a 1×3×H×W (or 3×H×W) BGR image."""
    chw = np.asarray(image_bgr).reshape((-1,) + np.shape(image_bgr)[-3:])[0]
    rgb = chw[::-1].transpose(1, 2, 0).astype(np.float64)
    low, high = IN_RANGE
    normalized = (np.clip(rgb, low, high) - low) / (high - low)
    span = normalized.max() - normalized.min()
    scale = 255.0 / (span if span != 0 else 1.0)
    stretched = (normalized - normalized.min()) * scale
    return (np.clip(stretched, 0, 255) + 0.5).astype(np.uint8)


def write_image_atomic(path: str | Path, array: np.ndarray, image_format: str | None = None) -> None:
    """Writes a uint8 H×W×3 array with PIL (JPEG at PIL's default quality, or PNG), via temp + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_format = image_format or ("PNG" if path.suffix.lower() == ".png" else "JPEG")
    with atomic_output(path) as stream:
        Image.fromarray(array).save(stream, format=image_format)


def write_result_image(path: str | Path, saved: np.ndarray) -> None:
    """Writes the release's JPEG at `path` and the same uint8 array as a lossless PNG beside it."""
    path = Path(path)
    write_image_atomic(path, saved)
    write_image_atomic(path.with_suffix(".png"), saved)


def save_result_image(path: str | Path, image_bgr: np.ndarray) -> np.ndarray:
    """`write_result_image` of the image's saved array; returns the uint8 RGB array encoded."""
    saved = to_saved_array(image_bgr)
    write_result_image(path, saved)
    return saved


def result_file_name(act_layer: str, unit: int, n_iters: int, l2: float, start_lr: float,
                     seed: int) -> str:
    """`{L}_{u:04d}_{n:02d}_{L2}_{lr}__{seed}.jpg` with str() of the floats, as the release names it.

    L is the layer's name as one safe path component (reproduce.outputs.names.layer_slug): a
    Caffe layer name as it is; a name holding a path separator or `..` (GoogLeNet's
    loss3/classifier, ONNX tensor names such as `/layer4/relu/Relu_output_0`) as a readable
    slug with a short hash, so the file never lands outside the output folder.
    """
    return (f"{layer_slug(act_layer)}_{str(unit).zfill(4)}_{str(n_iters).zfill(2)}_{l2}_{start_lr}"
            f"__{seed}.jpg")
