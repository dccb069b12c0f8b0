"""Runs the step graph on OpenVINO (CPU) with the same interface as reproduce.run.runner's
StepRunner (start, set_active, step, held_image, code), for `act_max --runtime openvino`.

OpenVINO is an optional extra (requirements-conformance.txt). The precision is pinned to f32
(`INFERENCE_PRECISION_HINT`): on CPUs with bf16 units OpenVINO's default is bf16, about 2e-3
off, which is not the release's arithmetic. The step graph runs as exported (its square weights
already have one copy per reading, reproduce.step.weight_copies, which OpenVINO needs); one
step agrees with ONNX Runtime within 1e-5 (`python -m reproduce conformance`). The state
(code, held image) crosses to the host each iteration: OpenVINO has no IO binding across
inference calls that would keep it on the device, and on the CPU there is no device to keep.
"""
from __future__ import annotations

import numpy as np
import onnx

from common.errors import UserError
from reproduce.run.runner import STATE, StepReport, announce_once


def openvino_core():
    """An OpenVINO Core, or a UserError naming --runtime when OpenVINO is not installed."""
    try:
        import openvino
    except ImportError:
        raise UserError("--runtime openvino: OpenVINO is not installed "
                        "(pip install -r requirements-conformance.txt)") from None
    return openvino.Core()


class OpenVinoStepRunner:
    """A compiled OpenVINO model of the step graph plus the state it carries (host arrays)."""

    def __init__(self, model: onnx.ModelProto | bytes, *, threads: int | None = None) -> None:
        core = openvino_core()
        serialized = model if isinstance(model, bytes) else model.SerializeToString()
        config = {"INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = core.compile_model(core.read_model(serialized, b""), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.input_names = {port.get_any_name() for port in self.compiled.inputs}
        self.outputs = {port.get_any_name(): port for port in self.compiled.outputs}
        self.feeds: dict[str, np.ndarray] = {}
        announce_once(f"step graph on OpenVINO {core.get_versions('CPU')['CPU'].build_number} "
                      "(CPU, f32)")

    def start(self, code: np.ndarray, unit_indices: np.ndarray, held_image: np.ndarray,
              bounds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """The start state (codes, held images) and the fixed inputs (unit indices, bounds)."""
        self.feeds = {"code": code.astype(np.float32), "best": held_image.astype(np.float32),
                      "unit": unit_indices.astype(np.int64)}
        if "lower" in self.input_names:
            if bounds is None:
                raise ValueError("this step graph bounds the code; pass (lower, upper)")
            self.feeds["lower"], self.feeds["upper"] = (value.astype(np.float64) for value in bounds)
        self.set_active(np.ones(len(unit_indices), dtype=bool))

    def set_active(self, active: np.ndarray) -> None:
        """Which samples still iterate (the others keep their code and image)."""
        self.feeds["active"] = active.astype(np.bool_)

    def step(self, step_size: float, l2: float, *, fetch_code: bool = False,
             fetch_stepped: bool = False) -> StepReport:
        """One iteration for every sample."""
        self.feeds["step"] = np.array(step_size, dtype=np.float64)
        self.feeds["l2"] = np.array(l2, dtype=np.float64)
        answer = self.request.infer(self.feeds)
        value = lambda name: np.array(answer[self.outputs[name]])  # noqa: E731
        for input_name, output_name in STATE:
            self.feeds[input_name] = value(output_name)
        return StepReport(act=value("act"), net_grad_norm=value("net_grad_norm"),
                          gen_grad_norm=value("gen_grad_norm"),
                          code=self.feeds["code"].copy() if fetch_code else None,
                          stepped=value("stepped") if fetch_stepped else None)

    def held_image(self) -> np.ndarray:
        """The held image per sample: its last crop (B×C×h×w float32, BGR)."""
        return self.feeds["best"].copy()

    def code(self) -> np.ndarray:
        """The current code per sample (B×K float32)."""
        return self.feeds["code"].copy()
