"""The tests' one NumPy convolution reference: im2col / col2im and the convolution and its
transpose built on them (Caffe's Convolution and Deconvolution, ONNX Conv and ConvTranspose).

Written from the operators' definitions, sharing no code with converters/. Every function keeps
its input's dtype (no cast, no accumulation in another precision): the float64 references
(support/caffe_reference.py, support/vjp_check.py) pass float64 arrays, the float32 NumPy twins
(support/tiny_nets.py, support/own_network.py) float32 ones, whose error scales
support/float32_error.py propagates through the im2col matrix products. im2col and col2im only
move values (col2im adds the column entries into each cell in kernel order, row then column), so
they are exact in any precision.

Layouts: x is N×C×H×W; pads are (top, left, bottom, right) as in ONNX; `im2col_matrix` and
`col2im_matrix` are Caffe's layout for one sample (C·k·k rows, OH·OW columns) with a square
kernel, one stride and one pad.
"""
from __future__ import annotations

import numpy as np


def _pad2(x: np.ndarray, pads) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def conv_out_size(size: int, k: int, s: int, pb: int, pe: int, d: int) -> int:
    """Output length along one axis: floor((size + pads − dilated kernel) / stride) + 1."""
    return (size + pb + pe - (k - 1) * d - 1) // s + 1


def im2col(x: np.ndarray, kernel, strides, pads, dilations, out_hw) -> np.ndarray:
    """cols[n, c, i, j, oh, ow] = x_padded[n, c, oh*s + i*d, ow*s + j*d]."""
    xp = _pad2(x, pads)
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    cols = np.empty(x.shape[:2] + (kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                  j * dw:j * dw + sw * (ow - 1) + 1:sw]
    return cols


def col2im(cols: np.ndarray, in_hw, strides, pads, dilations) -> np.ndarray:
    """Adjoint of im2col: every column entry is added back to its input cell."""
    n, c, kh, kw, oh, ow = cols.shape
    (sh, sw), (dh, dw) = strides, dilations
    top, left, bottom, right = pads
    rows_p = max(in_hw[0] + top + bottom, (oh - 1) * sh + (kh - 1) * dh + 1)
    cols_p = max(in_hw[1] + left + right, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.zeros((n, c, rows_p, cols_p), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
               j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return xp[:, :, top:top + in_hw[0], left:left + in_hw[1]]


def im2col_matrix(x: np.ndarray, k: int, s: int, p: int) -> np.ndarray:
    """Caffe's im2col of one sample x (C×H×W): the (C·k·k) × (OH·OW) matrix."""
    channels, height, width = x.shape
    out_hw = (conv_out_size(height, k, s, p, p, 1), conv_out_size(width, k, s, p, p, 1))
    cols = im2col(x[None], (k, k), (s, s), (p, p, p, p), (1, 1), out_hw)
    return cols.reshape(channels * k * k, out_hw[0] * out_hw[1])


def col2im_matrix(cols: np.ndarray, shape: tuple[int, int, int], k: int, s: int,
                  p: int) -> np.ndarray:
    """Caffe's col2im into one sample of `shape` (C×H×W): the adjoint of im2col_matrix."""
    channels, height, width = shape
    out_hw = (conv_out_size(height, k, s, p, p, 1), conv_out_size(width, k, s, p, p, 1))
    cols = cols.reshape(1, channels, k, k, *out_hw)
    return col2im(cols, (height, width), (s, s), (p, p, p, p), (1, 1))[0]


def conv2d(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1):
    """Caffe Convolution / ONNX Conv (pads: top, left, bottom, right)."""
    kh, kw = w.shape[2:]
    out_hw = tuple(conv_out_size(x.shape[2 + a], w.shape[2 + a], strides[a], pads[a],
                                 pads[2 + a], dilations[a]) for a in range(2))
    cols = im2col(x, (kh, kw), strides, pads, dilations, out_hw)
    cg, mg = x.shape[1] // group, w.shape[0] // group
    y = np.concatenate([np.einsum("mcij,ncijhw->nmhw", w[g * mg:(g + 1) * mg],
                                  cols[:, g * cg:(g + 1) * cg]) for g in range(group)], axis=1)
    return y if b is None else y + b[None, :, None, None]


def conv_transpose2d(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                     group=1, output_padding=(0, 0)):
    """Caffe Deconvolution / ONNX ConvTranspose: the adjoint of conv2d with weight w."""
    kh, kw = w.shape[2:]
    out_hw = tuple((x.shape[2 + a] - 1) * strides[a] + (w.shape[2 + a] - 1) * dilations[a] + 1
                   - pads[a] - pads[2 + a] + output_padding[a] for a in range(2))
    cg_in, og = x.shape[1] // group, w.shape[1]
    cols = np.concatenate([np.einsum("mcij,nmhw->ncijhw", w[g * cg_in:(g + 1) * cg_in],
                                     x[:, g * cg_in:(g + 1) * cg_in]) for g in range(group)],
                          axis=1)
    y = col2im(cols, out_hw, strides, pads, dilations)
    assert y.shape[1] == og * group
    return y if b is None else y + b[None, :, None, None]
