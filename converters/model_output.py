"""The model-writing subcommands' common body (caffe2onnx, vjp): build, save atomically, report."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from common.errors import UserError

if TYPE_CHECKING:
    import onnx


def _describe(values) -> str:
    def dims(value) -> str:
        return ",".join(d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim)
    return ", ".join(f"{value.name}[{dims(value)}]" for value in values)


def write_model_or_report(build_model: Callable[[], "onnx.ModelProto"], output_path: str) -> int:
    """Builds the model and saves it atomically; prints one line describing it; returns 0.

    A bad input raises UserError (common.cli turns it into one line and exit status 2); an
    output that cannot be written is a UserError too. Nothing is left at `output_path`.
    """
    from converters.caffe.onnx_file import save_onnx

    model = build_model()
    try:
        save_onnx(model, output_path)
    except OSError as error:
        raise UserError(f"{output_path}: cannot write ({error.strerror})") from None
    print(f"wrote {output_path}: inputs {_describe(model.graph.input)}; "
          f"outputs {_describe(model.graph.output)}; {len(model.graph.node)} nodes")
    return 0
