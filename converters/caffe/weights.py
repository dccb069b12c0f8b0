"""Checks a layer's learned blobs against the shapes the prototxt implies (Caffe's
Net::CopyTrainedLayersFrom: same blob count, then same shape per blob)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from converters.caffe.files import CaffeError
from converters.caffe.reader import CaffeLayer


def _legacy_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Caffe's Blob::LegacyShape view: padded with leading 1s to num/channels/height/width."""
    return (1,) * (4 - len(shape)) + tuple(shape)


BlobFactory = Callable[[CaffeLayer, Sequence[tuple[int, ...]], Sequence[str]], list[np.ndarray]]
_missing_blob_factory: ContextVar[BlobFactory | None] = ContextVar("missing_blob_factory",
                                                                  default=None)


@contextmanager
def fill_missing_blobs(factory: BlobFactory) -> Iterator[None]:
    """Within the block, a layer without weights gets `factory(layer, shapes, roles)` as its
    blobs instead of an error (used to make synthetic weights of the right shapes)."""
    token = _missing_blob_factory.set(factory)
    try:
        yield
    finally:
        _missing_blob_factory.reset(token)


def layer_blobs(layer: CaffeLayer, expected_shapes: Sequence[Sequence[int]],
                roles: Sequence[str]) -> list[np.ndarray]:
    """The layer's blobs reshaped to `expected_shapes`; a count or shape mismatch is one
    error line naming the layer and both shapes. `roles` name the blobs ("weights", "bias")."""
    factory = _missing_blob_factory.get()
    if not layer.blobs and factory is not None:
        layer.blobs = [np.asarray(blob, np.float32) for blob in factory(
            layer, [tuple(int(d) for d in shape) for shape in expected_shapes], roles)]
        layer.legacy_blob_shapes = False
    if not layer.blobs:
        raise CaffeError(f"layer {layer.name} ({layer.type}) has no weights: the caffemodel "
                         f"has no layer of that name, or none was given (needs "
                         f"{len(expected_shapes)} blob(s): {', '.join(roles)})")
    if len(layer.blobs) != len(expected_shapes):
        raise CaffeError(f"layer {layer.name} ({layer.type}): the caffemodel has "
                         f"{len(layer.blobs)} blob(s), the prototxt implies "
                         f"{len(expected_shapes)} ({', '.join(roles)})")
    arrays = []
    for blob, shape, role in zip(layer.blobs, expected_shapes, roles, strict=True):
        shape = tuple(int(d) for d in shape)
        stored = tuple(blob.shape)
        matches = (stored == _legacy_shape(shape) if layer.legacy_blob_shapes and len(shape) <= 4
                   else stored == shape)
        if not matches:
            raise CaffeError(f"layer {layer.name} ({layer.type}): {role} blob has shape "
                             f"{stored} in the caffemodel but the prototxt implies {shape}")
        arrays.append(blob.reshape(shape))
    return arrays
