"""The numeric stack a run's bits depend on: the versions of Python and the numeric libraries
(see requirements.txt). Sweeps store it with every row; regression records compare it."""
from __future__ import annotations

import platform


def versions() -> dict[str, str]:
    """python, numpy, onnx, onnxruntime: their versions."""
    import numpy
    import onnx
    import onnxruntime
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
