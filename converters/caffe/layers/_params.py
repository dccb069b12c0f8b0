"""Checks several Caffe layer types share: the one-line error naming layer and field, Caffe's
int range for uint32 fields, Blob::CanonicalAxisIndex and Blob::Reshape's shape limits.

Every error is a CaffeError `layer NAME (TYPE): FIELD PROBLEM`; to_onnx puts the prototxt's
name in front.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from converters.caffe.files import CaffeError
from converters.caffe.reader import CaffeLayer

INT_MAX = 2 ** 31 - 1  # Caffe holds sizes, counts and uint32 fields in C++ int
MAX_BLOB_AXES = 32     # Blob's kMaxBlobAxes


def layer_error(layer: CaffeLayer, field: str, problem: str) -> CaffeError:
    """The one error line for `field` of `layer`."""
    return CaffeError(f"layer {layer.name} ({layer.type}): {field} {problem}")


def caffe_int(layer: CaffeLayer, field: str, value: int) -> int:
    """A uint32 field as Caffe reads it into an int: above 2^31 - 1 it would wrap negative
    (and fail Caffe's later CHECKs, or index out of bounds), so it is refused here."""
    if value > INT_MAX:
        raise layer_error(layer, field, f"{value} exceeds Caffe's int range (2^31 - 1)")
    return int(value)


def positive(layer: CaffeLayer, field: str, values: Sequence[int], caffe_says: str) -> None:
    """CHECK_GT(value, 0) for each value; `caffe_says` is Caffe's own wording of the check."""
    for value in values:
        if value <= 0:
            raise layer_error(layer, field, f"{value} must be positive ({caffe_says})")


def canonical_axis(layer: CaffeLayer, field: str, axis: int, rank: int) -> int:
    """Blob::CanonicalAxisIndex: -rank <= axis < rank, negative axes counting from the end."""
    if not -rank <= axis < rank:
        raise layer_error(layer, field, f"{axis} out of range for the {rank}-D bottom")
    return axis % rank


def check_blob_shape(layer: CaffeLayer, what: str, shape: Sequence[int]) -> None:
    """Blob::Reshape's limits: at most 32 axes, no negative dimension, count <= 2^31 - 1.
    A zero dimension (an empty blob, which Caffe allows) is refused too: nothing downstream
    of it computes anything, and ONNX Runtime's kernels do not all take empty tensors."""
    if len(shape) > MAX_BLOB_AXES:
        raise layer_error(layer, what, f"has {len(shape)} axes; Caffe blobs have at most "
                                       f"{MAX_BLOB_AXES}")
    if any(dim <= 0 for dim in shape):
        raise layer_error(layer, what, f"{tuple(shape)} has an empty or negative dimension")
    if math.prod(shape) > INT_MAX:
        raise layer_error(layer, what, f"{tuple(shape)} exceeds Caffe's blob size limit "
                                       "(count <= 2^31 - 1)")


def check_same_shapes(layer: CaffeLayer, shapes: Sequence[Sequence[int]], caffe_says: str) -> None:
    """Every bottom has bottom[0]'s shape."""
    for index, shape in enumerate(shapes[1:], start=1):
        if tuple(shape) != tuple(shapes[0]):
            raise layer_error(layer, f"bottom[{index}]", f"shape {tuple(shape)} differs from "
                              f"bottom[0]'s {tuple(shapes[0])} ({caffe_says})")
