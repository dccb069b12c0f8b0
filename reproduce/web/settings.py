"""What the page needs besides the model: settings.json and labels.json, from the same places the
Python driver takes them.

The loop's settings fixed by the build (the act layer, xy, L2, the code mode with the bound
file's values, the crop, the image size) come from the flags or the demo pair's demo.json (the
CLI resolves them, reproduce.cli.web); the shapes from the built step graph (StepShapes); the
loop's rules as expression trees (reproduce.step.rules.to_json); the tolerance that decides
whether WebGPU is exact enough (reproduce.conformance.compare.RTOL); the writer's pixel range
(reproduce.outputs.images.IN_RANGE). The page's defaults for what its form and URL set (unit,
seed, n_iters, start_lr, end_lr) are checked here as the driver would check them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import shape_inference

from common.errors import UserError
from reproduce.conformance.compare import RTOL
from reproduce.inputs.bounds import load_bounds
from reproduce.outputs.images import IN_RANGE
from reproduce.outputs.labels import read_labels
from reproduce.run.job import NetFiles, StepModel, check_schedule
from reproduce.step.graph import CodeMode
from reproduce.step import rules
from reproduce.step.rules import Schedule

log = logging.getLogger(__name__)
FORMAT = 1  # settings.json's layout version (web/app/app.mjs reads it)


@dataclass(frozen=True)
class PageDefaults:
    """The values the page's form and URL start from."""

    unit: int
    seed: int
    n_iters: int
    start_lr: float
    end_lr: float


@dataclass(frozen=True)
class SiteSpec:
    """What a site is built from: the nets, the loop's fixed settings, labels, defaults."""

    nets: NetFiles
    act_layer: str
    xy: int
    l2: float
    bound: str | None  # the bound file (mode "bound"), unless clip
    clip: bool
    labels: str | None
    labels_given: bool  # --labels on the command line: labels that do not fit are an error
    defaults: PageDefaults

    @property
    def mode(self) -> CodeMode:
        """The step graph's code mode (clip wins over a bound, as in the release)."""
        return CodeMode.from_flags(self.clip, bool(self.bound))


def page_labels(spec: SiteSpec, units: int) -> list[str] | None:
    """One caption per unit, when the labels file names exactly the layer's units."""
    if not spec.labels:
        return None
    labels = read_labels(spec.labels)
    if sorted(labels) == list(range(units)):
        return [labels[unit] for unit in range(units)]
    message = (f"--labels {spec.labels}: {len(labels)} labels, layer {spec.act_layer} has "
               f"{units} units")
    if spec.labels_given:
        raise UserError(message)
    log.info("%s: the page lists unit numbers only", message)
    return None


def _dtype_size(elem_type: int) -> int:
    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).itemsize


def intermediate_bytes(model: onnx.ModelProto) -> int:
    """Bytes of every tensor the graph computes (by shape inference on a copy without the large
    weights' data; small initializers such as Reshape's shapes keep theirs): an upper bound on
    the runtime's working memory, which reuses buffers."""
    shell = onnx.ModelProto()
    shell.CopyFrom(model)
    for tensor in shell.graph.initializer:
        if int(np.prod(tensor.dims, dtype=np.int64)) > 4096:
            tensor.ClearField("raw_data")
            tensor.ClearField("float_data")
    inferred = shape_inference.infer_shapes(shell)
    total = 0
    for value in list(inferred.graph.value_info) + list(inferred.graph.output):
        tensor_type = value.type.tensor_type
        dims = [dim.dim_value for dim in tensor_type.shape.dim]
        if all(dims) and tensor_type.elem_type:
            total += int(np.prod(dims, dtype=np.int64)) * _dtype_size(tensor_type.elem_type)
    return total


RUNTIME_BYTES = 30_000_000  # onnxruntime-web's compiled module and heap before any model


def memory_estimate(model: onnx.ModelProto, model_bytes: int) -> dict[str, int]:
    """What the tab holds once the model is loaded: the runtime itself, about four times the
    model file (the downloaded buffer, the copy the session is created from, the runtime's parse
    of it and its weight tensors in WebAssembly memory) and the intermediate tensors (at most
    their sum). Calibrated by benchmarks/bench_web.py, which reports Chromium's own measurement
    (performance.measureUserAgentSpecificMemory) beside it."""
    working = intermediate_bytes(model)
    return {"model_bytes": model_bytes, "intermediate_bytes": working,
            "estimate_bytes": RUNTIME_BYTES + 4 * model_bytes + working}


def _caption(path: str | None) -> str | None:
    return Path(path).name if path else None


def net_description(nets: NetFiles) -> dict[str, object]:
    """The nets by file name (never a path of the building machine)."""
    described: dict[str, object] = {"generator": _caption(nets.generator_definition),
                                    "generator_weights": _caption(nets.generator_weights)}
    if nets.net_onnx is not None:
        adapter = nets.net_onnx.adapter
        described.update(net=_caption(nets.net_onnx.path), kind="onnx",
                         adapter={"rgb": adapter.rgb, "mean": list(adapter.mean),
                                  "std": list(adapter.std) if adapter.std else None,
                                  "size": list(adapter.size) if adapter.size else None,
                                  "crop": nets.net_onnx.crop},
                         input="the generator's centre crop through the input adapter "
                               "(reproduce.step.onnx_net)")
    else:
        described.update(net=_caption(nets.net_definition), net_weights=_caption(nets.net_weights),
                         kind="caffe", input="the generator's output as is (BGR, mean-subtracted "
                                             "pixels: no further mean, no channel swap)")
    return described


def site_settings(spec: SiteSpec, step_model: StepModel, model: onnx.ModelProto,
                  model_bytes: int, runtime: dict[str, str]) -> tuple[dict, list[str] | None]:
    """(settings.json's content, labels or None); UserError for a default the driver refuses."""
    shapes = step_model.shapes
    defaults = spec.defaults
    check_schedule(Schedule.from_flags(defaults.n_iters, defaults.start_lr, defaults.end_lr,
                                       spec.l2))
    if not 0 <= defaults.seed < 2**32:
        raise UserError(f"--seed {defaults.seed}: must be in [0, 2**32) (NumPy's legacy seed range)")
    shapes.act.flat_index(defaults.unit, spec.xy)  # range checks of --unit, --xy
    units = shapes.act.unit_count
    bound = None
    if step_model.mode is CodeMode.BOUND:
        lower, upper = load_bounds(spec.bound, shapes.code_size)
        assert not lower.any()  # the release's lower bound: zeros
        bound = {"file": _caption(spec.bound), "upper": upper.ravel().tolist()}
    top, left = shapes.crop_offset
    settings = {
        "format": FORMAT,
        "act_layer": spec.act_layer, "activation_shape": list(shapes.activation),
        "token": shapes.act.token,
        "units": units, "xy": spec.xy, "L2": spec.l2, "mode": step_model.mode.value, "bound": bound,
        "code_size": shapes.code_size, "generated_shape": list(shapes.generated),
        "image_shape": list(shapes.net_input),
        "crop": {"top": top, "left": left, "height": shapes.net_input[1],
                 "width": shapes.net_input[2]},
        "pixel_range": list(IN_RANGE), "nets": net_description(spec.nets),
        "defaults": {"unit": defaults.unit, "seed": defaults.seed, "n_iters": defaults.n_iters,
                     "start_lr": defaults.start_lr, "end_lr": defaults.end_lr},
        "rules": {"step_size": rules.to_json(rules.STEP_SIZE),
                  "l2_factor": rules.to_json(rules.L2_FACTOR),
                  "stopped": rules.to_json(rules.STOPPED)},
        "rtol": RTOL, "model": {"file": "model/step.onnx", "bytes": model_bytes},
        "memory": memory_estimate(model, model_bytes), "runtime": runtime,
    }
    return settings, page_labels(spec, units)
