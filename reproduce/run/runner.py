"""Runs the step graph on ONNX Runtime with the state (code, image) kept in the runtime.

The code and the held image live in OrtValues on the provider's device and ping-pong between
two buffers across iterations (IO binding), so with the CUDA provider only the step size, the
per-sample activation and the two gradient norms cross to the host each iteration.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort

from common.errors import UserError

log = logging.getLogger(__name__)

# The state carried between iterations: (step graph input, step graph output). The input names
# are the exported graph's contract: `best` holds each sample's last crop (the returned image).
STATE = (("code", "new_code"), ("best", "image"))


_ANNOUNCED: set[str] = set()


def announce_once(line: str) -> None:
    """Logs what runs the step graph the first time this process builds a runner for it
    (a sweep builds one per batch; the line is said once), at debug level afterwards."""
    if line in _ANNOUNCED:
        log.debug("%s", line)
    else:
        _ANNOUNCED.add(line)
        log.info("%s", line)


def resolve_providers(requested: str | None) -> list[str]:
    """Providers for a session: the requested comma list, or CUDA when present, then CPU.

    The CPU provider is always appended as the fallback.
    """
    available = ort.get_available_providers()
    if requested:
        names = [name.strip() for name in requested.split(",") if name.strip()]
        unknown = [name for name in names if name not in available]
        if unknown:
            raise UserError(f"--providers {requested}: {', '.join(unknown)} not available "
                            f"(available: {', '.join(available)})")
    else:
        names = [name for name in ("CUDAExecutionProvider",) if name in available]
    if "CPUExecutionProvider" not in names:
        names.append("CPUExecutionProvider")
    return names


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options with a fixed intra-op thread count when given (needed for bit-identical reruns)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


@dataclass
class StepReport:
    """What crosses to the host after one step (per sample)."""

    act: np.ndarray
    net_grad_norm: np.ndarray
    gen_grad_norm: np.ndarray
    code: np.ndarray | None = None
    stepped: np.ndarray | None = None


class StepRunner:
    """An ONNX Runtime session of the step graph plus the state it carries between iterations."""

    def __init__(self, model: onnx.ModelProto | bytes, *, weights: Mapping[str, np.ndarray] | None = None,
                 providers: list[str] | None = None, threads: int | None = None) -> None:
        """`model` may be weight-free (common.onnx_graph); `weights` then holds the detached
        arrays, which ONNX Runtime takes as external initializers (no serialised copy)."""
        serialized = model if isinstance(model, bytes) else model.SerializeToString()
        options = session_options(threads)
        # ONNX Runtime reads external initializers in place: they must outlive the session
        self.weight_values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(array))
                              for array in (weights or {}).values()]
        if weights:
            options.add_external_initializers(list(weights), self.weight_values)
        self.session = ort.InferenceSession(serialized, options,
                                            providers=providers or ["CPUExecutionProvider"])
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.input_names = {value.name for value in self.session.get_inputs()}
        self.binding = self.session.io_binding()
        self.state: dict[str, ort.OrtValue] = {}
        self.spare: dict[str, ort.OrtValue] = {}
        announce_once(f"step graph on {', '.join(self.session.get_providers())}")

    def _device_value(self, array: np.ndarray) -> ort.OrtValue:
        return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(array), self.device, 0)

    def start(self, code: np.ndarray, unit_indices: np.ndarray, held_image: np.ndarray,
              bounds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Places the start state (codes, held images) and the fixed inputs (each sample's flat
        index into the act layer's blob; the bounds) on the device."""
        self.state = {"code": self._device_value(code.astype(np.float32)),
                      "best": self._device_value(held_image.astype(np.float32))}
        self.spare = {name: self._device_value(np.empty_like(value.numpy()))
                      for name, value in self.state.items()}
        self.binding.bind_ortvalue_input("unit", self._device_value(unit_indices.astype(np.int64)))
        if "lower" in self.input_names:
            if bounds is None:
                raise ValueError("this step graph bounds the code; pass (lower, upper)")
            for name, value in zip(("lower", "upper"), bounds, strict=True):
                self.binding.bind_ortvalue_input(name, self._device_value(value.astype(np.float64)))
        self.set_active(np.ones(len(unit_indices), dtype=bool))

    def set_active(self, active: np.ndarray) -> None:
        """Which samples still iterate (the others keep their code and image)."""
        self.binding.bind_ortvalue_input("active", self._device_value(active.astype(np.bool_)))

    def step(self, step_size: float, l2: float, *, fetch_code: bool = False,
             fetch_stepped: bool = False) -> StepReport:
        """One iteration for every sample; swaps the state buffers."""
        self.binding.bind_cpu_input("step", np.array(step_size, dtype=np.float64))
        self.binding.bind_cpu_input("l2", np.array(l2, dtype=np.float64))
        bound_order = []
        for input_name, output_name in STATE:
            self.binding.bind_ortvalue_input(input_name, self.state[input_name])
            self.binding.bind_ortvalue_output(output_name, self.spare[input_name])
            bound_order.append(output_name)
        for name in ("act", "net_grad_norm", "gen_grad_norm"):
            self.binding.bind_output(name, "cpu")
            bound_order.append(name)
        self.binding.bind_output("stepped", self.device)
        bound_order.append("stepped")
        self.session.run_with_iobinding(self.binding)
        values = dict(zip(bound_order, self.binding.get_outputs(), strict=True))
        self.state, self.spare = self.spare, self.state
        return StepReport(act=values["act"].numpy().copy(),
                          net_grad_norm=values["net_grad_norm"].numpy().copy(),
                          gen_grad_norm=values["gen_grad_norm"].numpy().copy(),
                          code=self.state["code"].numpy().copy() if fetch_code else None,
                          stepped=values["stepped"].numpy().copy() if fetch_stepped else None)

    def held_image(self) -> np.ndarray:
        """The held image per sample: its last crop (B×C×h×w float32, BGR)."""
        return self.state["best"].numpy().copy()

    def code(self) -> np.ndarray:
        """The current code per sample (B×K float32)."""
        return self.state["code"].numpy().copy()
