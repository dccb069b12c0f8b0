"""The demo classifier (models/demo) exported to ONNX by `python -m converters caffe2onnx`, as
README's worked example does: the `--net_onnx` twin of the demo's Caffe net."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.paths import REPO_ROOT

DEMO = REPO_ROOT / "models" / "demo"
DEMO_CROP = "56"  # the demo generator's crop (its --crop_size)


def export_demo_classifier(path: Path) -> Path:
    """Writes the ONNX model to `path`; returns it."""
    done = subprocess.run([sys.executable, "-m", "converters", "caffe2onnx",
                           str(DEMO / "classifier.prototxt"), str(DEMO / "classifier.caffemodel"),
                           "-o", str(path)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return path
