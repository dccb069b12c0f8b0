"""Write the demo pair as Caffe files plus its bound file, label list and demo.json.

Everything goes through the project's own Caffe writer, so the demo files take exactly the
same Caffe -> ONNX path as the official ones. Each file is written to a temporary name and
renamed into place.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from converters.caffe.writer import write_caffemodel
from models.demo import architecture as arch
from models.demo.dataset import CLASS_NAMES

log = logging.getLogger(__name__)

# The published DGN-AM loop (experiment 1's settings) on the demo pair; see README.md.
LOOP_SETTINGS = {"act_layer": "fc8", "opt_layer": "fc6", "n_iters": 200, "L2": 0.99,
                 "start_lr": 8.0, "end_lr": 1e-10, "seed": 0, "xy": 0}


def bound_3x(codes: np.ndarray) -> np.ndarray:
    """The release's "3x" bound: per unit, mean + 3 standard deviations of its activation
    over the dataset (codes: N x K fc6 activations after relu6)."""
    return codes.mean(axis=0) + 3.0 * codes.std(axis=0)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _layer_types(layers: Sequence) -> dict[str, str]:
    return {layer.name: layer.type for layer in layers}


def export_demo(out: Path, classifier_blobs: Mapping[str, Sequence[np.ndarray]],
                generator_blobs: Mapping[str, Sequence[np.ndarray]],
                codes: np.ndarray) -> None:
    """Write classifier/generator prototxt + caffemodel, fc6_3x.txt, labels.txt, demo.json."""
    out.mkdir(parents=True, exist_ok=True)
    classifier_layers = arch.classifier_layers(len(CLASS_NAMES))
    _write_text(out / "classifier.prototxt", arch.classifier_prototxt(len(CLASS_NAMES)))
    _write_text(out / "generator.prototxt", arch.generator_prototxt())
    write_caffemodel(out / "classifier.caffemodel", classifier_blobs,
                     layer_types=_layer_types(classifier_layers), net_name="DemoCaffeNet")
    write_caffemodel(out / "generator.caffemodel", generator_blobs,
                     layer_types=_layer_types(arch.generator_layers()),
                     net_name="DemoGenerator")
    _write_text(out / "fc6_3x.txt", " ".join(f"{v:.6f}" for v in bound_3x(codes)) + "\n")
    _write_text(out / "labels.txt", "\n".join(CLASS_NAMES) + "\n")
    demo = {"net_definition": "classifier.prototxt", "net_weights": "classifier.caffemodel",
            "generator_definition": "generator.prototxt",
            "generator_weights": "generator.caffemodel", "bound": "fc6_3x.txt",
            "labels": "labels.txt", "units": list(range(len(CLASS_NAMES))), **LOOP_SETTINGS}
    _write_text(out / "demo.json", json.dumps(demo, indent=1) + "\n")
    log.info("demo pair written to %s", out)
