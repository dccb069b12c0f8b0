"""The NumPy reference of Caffe's layers (support/caffe_reference.py) checked by hand on cases
small enough to work out, and against the converter's float32 pooled-size rule."""
from __future__ import annotations

import numpy as np

from support.caffe_reference import ref_conv, ref_deconv, ref_pool, ref_pooled_size


def test_reference_pooling_equals_windows_worked_by_hand():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    # kernel 3, stride 2, pad 1 on 4: ceil((4+2-3)/2)+1 = 3 windows; the third starts at 3 < 5
    ave = ref_pool(x, "AVE", (3, 3), (1, 1), (2, 2))
    assert ave.shape == (1, 1, 3, 3)
    # top-left window covers rows/cols -1..1: in-image cells 0,1,4,5; divisor 9
    assert ave[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 9
    # bottom-right window covers rows/cols 3..5 clipped at 4+1=5: divisor 2x2=4, cell 15 only
    assert ave[0, 0, 2, 2] == 15 / 4
    assert ref_pool(x, "MAX", (3, 3), (1, 1), (2, 2))[0, 0, 2, 2] == 15


def test_reference_pooled_size_drops_window_starting_in_padding():
    # size 6, kernel 3, stride 2, no pad: ceil(3/2)+1 = 3 (floor would give 2)
    assert ref_pooled_size(6, 3, 0, 2) == 3
    # size 5, kernel 2, stride 2, pad 1: ceil(5/2)+1 = 4, but window 3 starts at 3*2-1 = 5,
    # in the bottom padding (>= H): dropped
    assert ref_pooled_size(5, 2, 1, 2) == 3
    # size 4, kernel 2, stride 2, pad 1: ceil(4/2)+1 = 3; window 2 starts at 3 < 4: kept
    assert ref_pooled_size(4, 2, 1, 2) == 3
    # size 1, kernel 2, stride 4, pad 1: ceil(1/4)+1 = 2; window 1 starts at 3: dropped
    assert ref_pooled_size(1, 2, 1, 4) == 1


def test_reference_deconv_is_the_transpose_of_conv():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 4, 5, 5))
    y = rng.standard_normal((1, 6, 3, 3))
    weight = rng.standard_normal((6, 2, 3, 3))  # conv: 4 -> 6 channels, group 2
    conv = ref_conv(x, weight, None, pad=(1, 1), stride=(2, 2), group=2)
    deconv = ref_deconv(y, weight, None, pad=(1, 1), stride=(2, 2), group=2)
    assert conv.shape == y.shape and deconv.shape == x.shape
    assert np.isclose((conv * y).sum(), (x * deconv).sum())


def test_pooled_size_divides_in_float32_as_caffe():
    """PoolingLayer::Reshape divides static_cast<float>(H + 2p - k) by the stride: above 2^24
    the span rounds to a float first (2^24 + 1 → 2^24), so ceil(span / 2) is 2^23, not the
    exact 2^23 + 1."""
    from converters.caffe.layers.pooling import caffe_pooled_size
    assert caffe_pooled_size(2 ** 24 + 1, 0, 0, 2) == 2 ** 23 + 1
    assert caffe_pooled_size(2 ** 24 - 1, 0, 0, 2) == 2 ** 23 + 1  # exact: ceil(2^23 - 0.5)
    for size, kernel, pad, stride in [(6, 3, 0, 2), (5, 2, 1, 2), (4, 2, 1, 2), (1, 2, 1, 4),
                                      (13, 3, 1, 3), (7, 7, 0, 1)]:
        assert caffe_pooled_size(size, kernel, pad, stride) == ref_pooled_size(size, kernel,
                                                                               pad, stride)
