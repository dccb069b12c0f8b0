"""Caffe → ONNX conversion and ONNX → backward (VJP) ONNX graphs.

Data path, one module per arrow:
prototxt/caffemodel --(caffe.reader)--> CaffeNetModel --(caffe2onnx)--> forward ONNX
--(vjp)--> backward ONNX.

`from converters import caffe_to_onnx, build_vjp` gives the two entry points; each is
imported on first use, so importing the package stays light.
"""
from __future__ import annotations

from typing import Any

__all__ = ["caffe_to_onnx", "build_vjp"]
_ENTRY_POINTS = {"caffe_to_onnx": "converters.caffe.to_onnx",
                 "build_vjp": "converters.vjp.transform"}


def __getattr__(name: str) -> Any:
    if name in _ENTRY_POINTS:
        import importlib
        return getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
    raise AttributeError(f"module 'converters' has no attribute {name!r}")
