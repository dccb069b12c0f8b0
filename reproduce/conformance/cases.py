"""A case: one set of feeds for a model and the outputs wanted; on disk for runners in other
processes (node, the browser page: web/cases.mjs reads the same layout).

A case directory holds `cases.json` (`{"model": FILE, "cases": [{"name", "feeds": {NAME:
{"dtype", "shape", "file"}}, "outputs": [NAME, ...]}]}`), the model file and one raw
little-endian file per feed. Runners answer with the same kind of entries ({"dtype",
"shape", "file"} or base64 data).
"""
from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32,
          "bool": np.bool_}


@dataclass(frozen=True)
class Case:
    """Feeds for one run of a model and the output names to fetch."""

    name: str
    feeds: Mapping[str, np.ndarray]
    outputs: tuple[str, ...]


def dtype_name(array: np.ndarray) -> str:
    """The name web/cases.mjs uses for the array's dtype."""
    for name, dtype in DTYPES.items():
        if array.dtype == dtype:
            return name
    raise ValueError(f"dtype {array.dtype} has no runner equivalent")


def write_case_dir(directory: Path, model_path: Path, cases: Sequence[Case]) -> Path:
    """Writes `cases` and a link (or copy) of the model into `directory`; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    model_link = directory / "model.onnx"
    if not model_link.exists():
        try:
            os.symlink(model_path.resolve(), model_link)
        except OSError:
            model_link.write_bytes(model_path.read_bytes())
    entries = []
    for index, case in enumerate(cases):
        feeds = {}
        for name, value in case.feeds.items():
            value = np.asarray(value, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
            file = f"{index}_{name}.bin"
            (directory / file).write_bytes(value.astype(value.dtype.newbyteorder("<")).tobytes())
            feeds[name] = {"dtype": dtype_name(value), "shape": list(value.shape), "file": file}
        entries.append({"name": case.name, "feeds": feeds, "outputs": list(case.outputs)})
    (directory / "cases.json").write_text(json.dumps({"model": "model.onnx", "cases": entries}))
    return directory


def decode_array(entry: Mapping, read: Callable[[str], bytes]) -> np.ndarray:
    """An output entry ({"dtype", "shape", and "file" or "base64"}) as an array."""
    data = base64.b64decode(entry["base64"]) if "base64" in entry else read(entry["file"])
    dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
    return np.frombuffer(data, dtype=dtype).reshape(entry["shape"]).astype(DTYPES[entry["dtype"]])


def decode_outputs(cases: Sequence[Mapping], read: Callable[[str], bytes]) -> list[dict[str, np.ndarray]]:
    """Each case's outputs, in the order the runner listed the cases."""
    return [{name: decode_array(entry, read) for name, entry in case["outputs"].items()}
            for case in cases]


def read_output_dir(directory: Path) -> tuple[dict, list[dict[str, np.ndarray]]]:
    """A node runner's answer (web/run_cases.mjs): its outputs.json header and the outputs."""
    answer = json.loads((directory / "outputs.json").read_text())
    return answer, decode_outputs(answer["cases"], lambda file: (directory / file).read_bytes())
