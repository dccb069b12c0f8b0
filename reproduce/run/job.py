"""One DGN-AM job: nets → step graph → loop, for a batch of (unit, start code) samples.

Each sample of a batch is normalised on its own (mean |g| and the NaN/zero rules per sample,
early stop per sample), so a batch gives each sample exactly what it gets alone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import onnx
from tqdm import tqdm

from common.errors import UserError
from reproduce.run.loop import LoopResult, Schedule, run_loop
from reproduce.step.nets import generator_vjp, net_vjp
from reproduce.step.graph import StepShapes, build_step_graph, step_shapes
from reproduce.run.runner import StepRunner, resolve_providers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetFiles:
    """The generator and the visualised net, with the generator's blob names."""

    generator_definition: str
    generator_weights: str
    net_definition: str
    net_weights: str
    gen_in: str = "feat"
    gen_out: str = "deconv0"


@dataclass(frozen=True)
class StepModel:
    """A built step graph and the shapes it was built for."""

    model: onnx.ModelProto
    shapes: StepShapes
    mode: str


def code_mode(clip: bool, bounded: bool) -> str:
    """The step graph's code mode; the release's order: clip wins over bounds."""
    if clip:
        return "clip"
    return "bound" if bounded else "none"


def build_step_model(files: NetFiles, act_layer: str, batch: int, mode: str) -> StepModel:
    """Converts both nets (batch fixed), builds their VJP graphs and the fused step graph."""
    with tqdm(total=3, desc=f"step graph ({act_layer}, batch {batch})", leave=False,
              disable=None) as bar:
        gen = generator_vjp(files.generator_definition, files.generator_weights,
                            gen_in=files.gen_in, gen_out=files.gen_out, batch=batch)
        bar.update()
        net, net_in = net_vjp(files.net_definition, files.net_weights, act_layer=act_layer,
                              batch=batch)
        bar.update()
        shapes = step_shapes(gen, net, gen_in=files.gen_in, gen_out=files.gen_out, net_in=net_in,
                             act_layer=act_layer)
        model = build_step_graph(gen, net, gen_in=files.gen_in, gen_out=files.gen_out,
                                 net_in=net_in, act_layer=act_layer, mode=mode)
        bar.update()
    return StepModel(model, shapes, mode)


def unit_index(shapes: StepShapes, act_layer: str, unit: int, xy: int) -> int:
    """Flat index of the unit in the act layer's per-sample blob.

    A 4-D blob (conv layers) selects channel `unit` at row xy, column xy, as the release's
    `one_hot[:, unit, xy, xy]`; any other blob (fc layers) the flat index `unit`.
    """
    activation = shapes.activation
    if len(activation) == 3:
        channels, height, width = activation
        if not 0 <= unit < channels:
            raise UserError(f"--unit {unit}: out of range for layer {act_layer} ({channels} channels)")
        if not (0 <= xy < height and xy < width):
            raise UserError(f"--xy {xy}: out of range for layer {act_layer} ({height}×{width})")
        return (unit * height + xy) * width + xy
    if not 0 <= unit < shapes.units:
        raise UserError(f"--unit {unit}: out of range for layer {act_layer} ({shapes.units} units)")
    return unit


def check_schedule(schedule: Schedule) -> None:
    """Flag checks the release leaves to a crash."""
    if schedule.n_iters < 1:
        raise UserError(f"--n_iters {schedule.n_iters}: must be at least 1")
    for flag, value in (("--start_lr", schedule.lr_start), ("--end_lr", schedule.lr_end),
                        ("--L2", schedule.l2)):
        if not np.isfinite(value):
            raise UserError(f"{flag} {value}: must be a finite number")


def run_samples(step_model: StepModel, start_codes: np.ndarray, unit_indices: list[int],
                schedule: Schedule, *, bounds: tuple[np.ndarray, np.ndarray] | None = None,
                providers: str | None = None, threads: int | None = None,
                record_codes: bool = False, record_stepped: bool = False,
                progress: str | None = None) -> LoopResult:
    """Runs the loop for the batch the step model was built for."""
    if len(unit_indices) != step_model.shapes.batch:
        raise ValueError(f"{len(unit_indices)} samples for a step graph of batch "
                         f"{step_model.shapes.batch}")
    runner = StepRunner(step_model.model, providers=resolve_providers(providers), threads=threads)
    return run_loop(runner, np.asarray(start_codes, np.float32), np.asarray(unit_indices, np.int64),
                    schedule, step_model.shapes.net_input, bounds=bounds,
                    record_codes=record_codes, record_stepped=record_stepped, progress=progress)
