"""Image → code for experiment 3, as the release's get_code does.

Read the RGB image, resize to the encoder's input size with PIL's bilinear filter (what
scipy.misc.imresize does), HWC → CHW, RGB → BGR, subtract the mean image centre-cropped
to that size (offset (M − h) // 2), run the encoder forward fully and take the blob (fc6:
its value after the in-place relu6 and the identity test-time dropout).
"""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from common.errors import UserError, first_line
from reproduce.inputs.mat_file import read_mat_variable
from reproduce.inputs.npy_file import read_npy
from reproduce.run.runner import session_options


def load_mean_image(path: str | Path) -> np.ndarray:
    """The mean image as H×W×3 BGR float32 from a .mat (`image_mean`) or a .npy (H×W×3 or
    3×H×W). Refused, as one line: an unreadable file, another shape, a non-real-number dtype,
    values that are not finite as float32 (NaN, inf, beyond float32's range)."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        mean = read_mat_variable(path, "image_mean", "--mean_file")
    else:
        mean = read_npy(path, "--mean_file")
    if mean.dtype.kind not in "fiu":
        raise UserError(f"--mean_file {path}: holds {mean.dtype} values, not real numbers")
    if mean.ndim == 3 and mean.shape[0] == 3 and mean.shape[2] != 3:
        mean = mean.transpose(1, 2, 0)
    if mean.ndim != 3 or mean.shape[2] != 3:
        raise UserError(f"--mean_file {path}: expected an H×W×3 BGR mean image, got shape {mean.shape}")
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        mean = mean.astype(np.float32)
    if not np.isfinite(mean).all():
        raise UserError(f"--mean_file {path}: holds values that are not finite as float32")
    return mean


# What PIL raises on a malformed image file (its plugins parse headers with int(), struct, ...).
_UNREADABLE_IMAGE = (OSError, ValueError, TypeError, SyntaxError, EOFError, struct.error,
                     Image.DecompressionBombError, Image.DecompressionBombWarning)


def _read_rgb(image_path: Path, width: int, height: int) -> np.ndarray:
    """The image as RGB uint8 resized to width × height with PIL's bilinear filter, as
    scipy.misc.imresize does. A header declaring no pixels (PIL's plugins refuse it), or
    more than PIL's decompression-bomb limit (Image.MAX_IMAGE_PIXELS: PIL only warns up to
    twice that), is refused before decoding."""
    if not image_path.is_file():
        raise UserError(f"--init_file {image_path}: file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(image_path) as image:
                return np.asarray(image.convert("RGB").resize((width, height),
                                                              Image.Resampling.BILINEAR))
    except _UNREADABLE_IMAGE as error:
        raise UserError(f"--init_file {image_path}: not a readable image ({first_line(error)})") from None


def preprocess(image_path: str | Path, mean_hwc: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The encoder's 1×3×h×w float32 BGR mean-subtracted input for an image file."""
    height, width = size
    rgb = _read_rgb(Path(image_path), width, height)
    if mean_hwc.shape[0] < height or mean_hwc.shape[1] < width:
        raise UserError(f"--mean_file: mean image {mean_hwc.shape[:2]} is smaller than {size}")
    top, left = (mean_hwc.shape[0] - height) // 2, (mean_hwc.shape[1] - width) // 2
    mean_crop = mean_hwc[top:top + height, left:left + width]
    data = rgb.transpose(2, 0, 1)[None].astype(np.float32)[:, ::-1]
    return np.ascontiguousarray(data - mean_crop.transpose(2, 0, 1)[None])


def encode_image(encoder: onnx.ModelProto, image_path: str | Path, mean_hwc: np.ndarray,
                 blob: str) -> np.ndarray:
    """The encoder's `blob` for the image, float32 (1, K)."""
    session = ort.InferenceSession(encoder.SerializeToString(), session_options(),
                                   providers=["CPUExecutionProvider"])
    data_input = session.get_inputs()[0]
    size = tuple(int(d) for d in data_input.shape[2:4])
    (code,) = session.run([blob], {data_input.name: preprocess(image_path, mean_hwc, size)})
    return np.ascontiguousarray(code.reshape(1, -1), dtype=np.float32)
