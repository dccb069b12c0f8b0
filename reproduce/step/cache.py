"""Built step graphs on disk, keyed by the content hash of what they are built from.

A step graph is a pure function of the two weight-free source graphs (the generator's forward
graph and the visualised net's, as converted or loaded: common.onnx_graph), the build flags
(blob names, act layer, batch, code mode) and the code that builds it. The cache key hashes
exactly those: the sources' serialised bytes (a few kilobytes: their weights are detached, so
the weights' values, which the graph does not depend on, are not hashed), the flags, and a
fingerprint of the building code (its source files) and of onnx's version. The entry is the
weight-free step graph itself (its StepShapes in its metadata); the weights are attached from
the nets' files on every run, as on a cold build.

Entries live in `cache_folder("step_graphs")` (common.cache_dir: `DGN_AM_CACHE`, else
`$XDG_CACHE_HOME/dgn-am`, else `~/.cache/dgn-am`), one `<key>.onnx` each, written atomically:
concurrent runs either find a complete entry or build and write the same bytes. A corrupt or
unreadable entry is rebuilt. `--no_cache` (Job.use_cache=False) bypasses the cache.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path

import onnx

from common.atomic import atomic_write_bytes
from common.cache_dir import cache_folder
from reproduce.official.locations import code_root

log = logging.getLogger(__name__)
FORMAT = "dgn-am step graph cache 1"
SHAPES_KEY = "dgn_am.step_shapes"
# The code that turns source graphs into a step graph (paths relative to the project root).
BUILDER_SOURCES = ("common/onnx_graph.py", "converters/vjp", "reproduce/step")


@functools.lru_cache(maxsize=1)
def builder_fingerprint() -> str:
    """SHA-256 over the builder's source files and onnx's version (one read per process)."""
    root = code_root()
    digest = hashlib.sha256(f"{FORMAT}\nonnx {onnx.__version__}\n".encode())
    for source in BUILDER_SOURCES:
        path = root / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def step_graph_key(sources: Mapping[str, onnx.ModelProto], flags: Mapping[str, object]) -> str:
    """The cache key: the weight-free sources' bytes, the flags (JSON) and the builder."""
    digest = hashlib.sha256(builder_fingerprint().encode())
    for role in sorted(sources):
        data = sources[role].SerializeToString(deterministic=True)
        digest.update(f"\n{role} {len(data)}\n".encode() + data)
    digest.update(json.dumps(flags, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def entry_path(key: str) -> Path:
    return cache_folder("step_graphs") / f"{key}.onnx"


def load_entry(key: str) -> tuple[onnx.ModelProto, dict] | None:
    """The cached step graph and its stored shapes, or None (absent, or corrupt: rebuilt)."""
    path = entry_path(key)
    if not path.is_file():
        return None
    try:
        model = onnx.load_model_from_string(path.read_bytes())
        shapes = json.loads(next(entry.value for entry in model.metadata_props
                                 if entry.key == SHAPES_KEY))
        kept = [entry for entry in model.metadata_props if entry.key != SHAPES_KEY]
        del model.metadata_props[:]  # the model exactly as a cold build returns it
        model.metadata_props.extend(kept)
    except Exception as error:  # a truncated or foreign file: build again
        log.warning("step graph cache entry %s unreadable (%s); rebuilding", path, error)
        return None
    log.debug("step graph from the cache (%s)", path)
    return model, shapes


def store_entry(key: str, model: onnx.ModelProto, shapes: dict) -> None:
    """Writes the entry atomically (the model gets its shapes as metadata)."""
    stored = onnx.ModelProto()
    stored.CopyFrom(model)
    stored.metadata_props.add(key=SHAPES_KEY, value=json.dumps(shapes))
    try:
        atomic_write_bytes(entry_path(key), stored.SerializeToString())
    except OSError as error:  # a read-only cache only costs the next run a rebuild
        log.warning("step graph cache not written (%s)", error)
