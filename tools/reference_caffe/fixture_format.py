"""How Caffe reference fixtures are stored and compared (shared by the tool and the tests).

Large blobs are stored as evenly spaced samples of their flat values (plus their shape and
float64 L2 norm); input gradients and codes are stored whole. Keys join their parts with
``|`` because Caffe blob names contain ``/``.
"""
from __future__ import annotations

import numpy as np

MAX_SAMPLES = 4096
SEP = "|"


def key(*parts: object) -> str:
    """A fixture key from its parts, e.g. key("forward", "conv1")."""
    return SEP.join(str(part) for part in parts)


def split_key(fixture_key: str) -> list[str]:
    return fixture_key.split(SEP)


def sample_indices(size: int, limit: int = MAX_SAMPLES) -> np.ndarray:
    """Evenly spaced flat indices (all of them for small blobs)."""
    if size <= limit:
        return np.arange(size, dtype=np.int64)
    return np.unique(np.linspace(0, size - 1, limit).round().astype(np.int64))


def sampled(array: np.ndarray) -> np.ndarray:
    """The stored samples of a blob (float32)."""
    flat = np.asarray(array, dtype=np.float32).reshape(-1)
    return flat[sample_indices(flat.size)]


def record_id(*parts: object) -> str:
    """One record's name inside a key (its parts joined by ':'), e.g. "grad:fc8:643:-1"."""
    return ":".join(str(part) for part in parts)


def kinks_of(data, record: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Layer name -> (flat indices, Caffe's values) of the units held during `record`
    (see tools/reference_caffe/kinks.py)."""
    prefix = key("kinks", record, "")
    return {name[len(prefix):]: (np.asarray(data[name]),
                                 np.asarray(data[key("held", record, name[len(prefix):])]))
            for name in data if name.startswith(prefix)}


def one_hot(shape, unit: int, xy: int | None) -> np.ndarray:
    """The release's output gradient: 1 at flat index `unit` (fc layers, xy None or < 0) or
    at [0, unit, xy, xy] (conv layers), float32 zeros elsewhere."""
    gradient = np.zeros(tuple(shape), np.float32)
    if xy is None or xy < 0:
        gradient.flat[unit] = 1.0
    else:
        gradient[0, unit, xy, xy] = 1.0
    return gradient
