"""One DGN-AM job, as a Python API: nets, act layer, samples, schedule, code mode → results.

    from reproduce.run.job import Job, NetFiles, run_job
    from reproduce.step.rules import Schedule
    job = Job.product(NetFiles(...), "fc8", units=[643, 624], seeds=[0],
                      schedule=Schedule.from_flags(200, 8.0, 1e-10, 0.99),
                      bound="data/act_range/3x/fc6.txt")
    for result in run_job(job):
        result.acts, result.image, result.saved   # per sample

A job's samples are (unit, seed) pairs run together in batches of at most `batch` (0: all).
Each sample is normalised on its own (mean |g|, the NaN/zero rules and the early stop are per
sample), so a batch gives each sample exactly what it gets alone. `act_max` is flags → Job →
`run_job` → `reproduce.run.save`; experiments, regress and sweeps build Jobs directly.
Every check on the job (units, xy, bounds, start code, schedule) runs before any iteration.
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from common.errors import UserError
from common.progress import progress
from reproduce.inputs.bounds import load_bounds
from reproduce.inputs.start_code import as_stored_code, load_code_file, random_start_code
from reproduce.outputs.images import to_saved_array
from reproduce.run.loop import LoopResult, run_loop
from reproduce.run.runner import StepRunner, resolve_providers
from common.onnx_graph import Weights, attached, detached_names, lifted
from reproduce.step.compose import prefixed
from reproduce.step.graph import (GEN_PREFIX, NET_PREFIX, CodeMode, StepShapes, build_step_graph,
                                  step_shapes)
from reproduce.step import cache
from reproduce.step.nets import generator_forward, generator_vjp, net_forward, net_vjp
from reproduce.step.onnx_loading import lifted_net, step_opset
from reproduce.step.onnx_net import OnnxNet, generated_size, loaded_net, onnx_net_vjp
from reproduce.step.rules import Schedule
from reproduce.step.weight_copies import separate_transposed_weights

log = logging.getLogger(__name__)
RUNTIMES = ("onnxruntime", "openvino")  # what runs the step graph (Job.runtime, act_max --runtime)


@dataclass(frozen=True)
class NetFiles:
    """The generator and the visualised net, with the generator's blob names."""

    generator_definition: str
    generator_weights: str
    net_definition: str
    net_weights: str
    gen_in: str = "feat"
    gen_out: str = "deconv0"
    net_onnx: OnnxNet | None = None  # an ONNX classifier instead of net_definition/net_weights


@dataclass(frozen=True)
class CodeFile:
    """A stored start code (`--init_code FILE.npy`) shared by every sample."""

    path: str


@dataclass(frozen=True)
class StartImage:
    """A start image (`--init_file`) encoded by the encoder net's blob `blob` (the release's
    `--opt_layer`), shared by every sample."""

    image: str
    encoder_definition: str
    encoder_weights: str
    mean_file: str
    blob: str = "fc6"


Start = np.ndarray | CodeFile | StartImage | None  # None: each seed's random code


@dataclass(frozen=True)
class StepModel:
    """A built step graph, weight-free (common.onnx_graph), its weights and what it was built for."""

    model: onnx.ModelProto
    weights: Weights
    shapes: StepShapes
    mode: CodeMode

    def exported(self, *, weight_copies: bool = True) -> onnx.ModelProto:
        """The self-contained model for files and for runtimes other than ONNX Runtime in this
        process: weights embedded and, by default, the export's one option applied, a copy per
        transposed reading of a square weight (reproduce.step.weight_copies)."""
        model, weights = self.model, self.weights
        if weight_copies:
            model, weights = onnx.ModelProto(), dict(weights)
            model.CopyFrom(self.model)
            separate_transposed_weights(model, weights)
        return attached(model, weights)


def _sources(files: NetFiles, act_layer: str, batch: int) -> tuple[onnx.ModelProto, Weights,
                                                                   onnx.ModelProto, Weights]:
    """The weight-free generator forward graph and the net's source graph (the Caffe net cut
    at the act layer, or the user's ONNX model as loaded), each with its weights."""
    gen, gen_weights = generator_forward(files.generator_definition, files.generator_weights,
                                         gen_in=files.gen_in, gen_out=files.gen_out, batch=batch)
    if files.net_onnx is not None:
        net, net_weights = loaded_net(files.net_onnx)
    else:
        net, net_weights = net_forward(files.net_definition, files.net_weights,
                                       act_layer=act_layer, batch=batch)
    return gen, gen_weights, net, net_weights


def _built(files: NetFiles, gen: onnx.ModelProto, net: onnx.ModelProto, act_layer: str,
           batch: int, mode: CodeMode) -> tuple[onnx.ModelProto, StepShapes]:
    """Both VJP graphs and the fused step graph from the weight-free sources."""
    opset = step_opset(gen, net)  # the higher of the two; the other is lifted, never lowered
    gen_vjp = generator_vjp(lifted(gen, opset), gen_in=files.gen_in, gen_out=files.gen_out)
    if files.net_onnx is not None:
        net = lifted_net(net, opset, files.net_onnx.path)
        net_vjp_model, net_in = onnx_net_vjp(files.net_onnx, net, act_layer=act_layer, batch=batch,
                                             generated=generated_size(gen, files.gen_out))
    else:
        net_vjp_model, net_in = net_vjp(net, act_layer=act_layer)
    token = files.net_onnx.token if files.net_onnx is not None else None
    names = dict(gen_in=files.gen_in, gen_out=files.gen_out, net_in=net_in, act_layer=act_layer,
                 token=token)
    return (build_step_graph(gen_vjp, net_vjp_model, mode=mode, **names),
            step_shapes(gen_vjp, net_vjp_model, **names))


def build_step_model(files: NetFiles, act_layer: str, batch: int, mode: CodeMode, *,
                     use_cache: bool = True) -> StepModel:
    """Converts (or loads) both nets with their weights detached and builds the fused step graph,
    or takes it from the step-graph cache (reproduce.step.cache) when the same sources, flags and
    builder made it before; the weights always come from the nets' files."""
    mode = CodeMode(mode)
    with progress(total=2, desc=f"step graph ({act_layer}, batch {batch})", leave=False) as bar:
        gen, gen_weights, net, net_weights = _sources(files, act_layer, batch)
        bar.update()
        flags = {"gen_in": files.gen_in, "gen_out": files.gen_out, "act_layer": act_layer,
                 "batch": batch, "mode": mode.value, "net_onnx": files.net_onnx and
                 {"input": files.net_onnx.input_name, "adapter": files.net_onnx.adapter,
                  "crop": files.net_onnx.crop, "token": files.net_onnx.token}}
        key = cache.step_graph_key({"generator": gen, "net": net}, flags)
        entry = cache.load_entry(key) if use_cache else None
        if entry is not None:
            model, shapes = entry[0], StepShapes.from_dict(entry[1])
        else:
            model, shapes = _built(files, gen, net, act_layer, batch, mode)
            if use_cache:
                cache.store_entry(key, model, shapes.as_dict())
        bar.update()
    weights = {prefixed(GEN_PREFIX, name): array for name, array in gen_weights.items()}
    weights.update((prefixed(NET_PREFIX, name), array) for name, array in net_weights.items())
    return StepModel(model, {name: weights[name] for name in detached_names(model.graph)},
                     shapes, mode)


@dataclass
class StepModels:
    """Step graphs of one (nets, act layer, mode), built once per batch size and kept."""

    nets: NetFiles
    act_layer: str
    mode: CodeMode
    use_cache: bool = True  # the on-disk step-graph cache (reproduce.step.cache)
    built: dict[int, StepModel] = field(default_factory=dict)

    def get(self, batch: int) -> StepModel:
        if batch not in self.built:
            self.built[batch] = build_step_model(self.nets, self.act_layer, batch, self.mode,
                                                 use_cache=self.use_cache)
        return self.built[batch]


def check_schedule(schedule: Schedule) -> None:
    """Flag checks the release leaves to a crash."""
    if schedule.n_iters < 1:
        raise UserError(f"--n_iters {schedule.n_iters}: must be at least 1")
    for flag, value in (("--start_lr", schedule.lr_start), ("--end_lr", schedule.lr_end),
                        ("--L2", schedule.l2)):
        if not np.isfinite(value):
            raise UserError(f"{flag} {value}: must be a finite number")


@dataclass(frozen=True)
class Job:
    """One DGN-AM job: every (unit, seed) sample with the same nets, layer and hyperparameters."""

    nets: NetFiles
    act_layer: str
    samples: tuple[tuple[int, int], ...]  # (unit, seed) pairs, in output order
    schedule: Schedule
    xy: int = 0
    start: Start = None
    bound: str | None = None  # the bound file (the release's --bound); ignored with clip
    clip: bool = False
    providers: str | None = None  # ONNX Runtime providers, comma-separated (None: CUDA if present)
    runtime: str = "onnxruntime"  # or "openvino" (reproduce.run.openvino_runner, CPU, f32)
    threads: int | None = None  # ONNX Runtime intra-op threads (None: its default)
    batch: int = 0  # at most this many samples per step graph (0: all in one)
    record_codes: bool = False
    record_stepped: bool = False
    progress: bool = True
    use_cache: bool = True  # take/keep built step graphs in the on-disk cache (--no_cache: False)

    @classmethod
    def product(cls, nets: NetFiles, act_layer: str, units: Sequence[int], seeds: Sequence[int],
                schedule: Schedule, **options) -> "Job":
        """The release's order for several units and seeds: units outer, seeds inner."""
        return cls(nets, act_layer, tuple(itertools.product(units, seeds)), schedule, **options)

    @property
    def mode(self) -> CodeMode:
        return CodeMode.from_flags(self.clip, bool(self.bound))

    def chunks(self) -> list[tuple[int, int]]:
        """(first, size) of each batch."""
        size = self.batch or len(self.samples)
        return [(first, min(size, len(self.samples) - first))
                for first in range(0, len(self.samples), size)]


@dataclass
class SampleResult:
    """One sample's run: its records, the returned image and the array the release writes."""

    unit: int
    seed: int
    start_code: np.ndarray  # 1×K float32, as stored into the generator's input
    acts: list[float]  # the activation at each iteration's forward pass
    net_grad_norms: list[float]
    gen_grad_norms: list[float]
    codes: np.ndarray  # iterations×K float32 after each update (empty unless record_codes)
    image: np.ndarray  # 1×C×h×w float32 BGR: the last crop, the release's returned image
    saved: np.ndarray  # h×w×3 uint8 RGB: the exact array the release's writer encodes
    stepped: list[np.ndarray] = field(default_factory=list)  # crops after the net's update

    @property
    def iterations(self) -> int:
        return len(self.acts)


def check_job(job: Job) -> None:
    """The checks that need no nets: samples, flags, batch and thread counts."""
    if not job.samples:
        raise UserError("--units: no samples (give at least one unit and seed)")
    if any(unit is None for unit, _ in job.samples):
        raise UserError("--unit: required (the unit to visualise)")
    if job.record_stepped and len(job.samples) > 1:
        raise UserError("--debug: works on one unit and seed at a time")
    if (job.threads or 0) < 0 or job.batch < 0:
        raise UserError("--threads/--batch: must not be negative")
    if job.runtime not in RUNTIMES:
        raise UserError(f"--runtime {job.runtime}: expected one of {', '.join(RUNTIMES)}")
    if job.runtime != "onnxruntime" and job.providers:
        raise UserError(f"--providers {job.providers}: ONNX Runtime's; not with --runtime {job.runtime}")
    check_schedule(job.schedule)


def shared_start_code(start: Start, code_size: int) -> np.ndarray | None:
    """The start code every sample shares (an array, a stored code, an encoded image), or None."""
    if start is None:
        return None
    if isinstance(start, StartImage):
        from reproduce.run.encoder import encode_image, load_mean_image
        from reproduce.step.nets import encoder_forward
        encoder = encoder_forward(start.encoder_definition, start.encoder_weights, start.blob)
        code = encode_image(encoder, start.image, load_mean_image(start.mean_file), start.blob)
        if code.shape[1] != code_size:
            raise UserError(f"--opt_layer {start.blob}: the encoder's blob has {code.shape[1]} "
                            f"values, the generator's code {code_size}")
        return code
    if isinstance(start, CodeFile):
        return load_code_file(start.path, code_size)
    code = np.asarray(start)
    if code.size != code_size:
        raise UserError(f"start code: {code.size} values, the generator's code has {code_size}")
    return as_stored_code(code.reshape(1, code_size))


def _sample_results(job: Job, samples: list[tuple[int, int, np.ndarray]],
                    loop: LoopResult) -> list[SampleResult]:
    results = []
    for index, (unit, seed, start_code) in enumerate(samples):
        image = loop.last_crops[index:index + 1]
        codes = (np.stack(loop.codes[index]) if loop.codes[index]
                 else np.zeros((0, start_code.size), np.float32))
        results.append(SampleResult(unit, seed, start_code, loop.acts[index],
                                    loop.net_grad_norms[index], loop.gen_grad_norms[index], codes,
                                    image, to_saved_array(image), loop.stepped[index]))
    return results


def run_samples(step_model: StepModel, start_codes: np.ndarray, unit_indices: Sequence[int],
                schedule: Schedule, *, bounds: tuple[np.ndarray, np.ndarray] | None = None,
                providers: str | list[str] | None = None, threads: int | None = None,
                record_codes: bool = False, record_stepped: bool = False,
                progress_label: str | None = None, runtime: str = "onnxruntime") -> LoopResult:
    """The loop on explicit start codes (B×K) and flat unit indices, for the batch the step
    model was built for: the level below Job, for tests and benchmarks."""
    if len(unit_indices) != step_model.shapes.batch:
        raise ValueError(f"{len(unit_indices)} samples for a step graph of batch "
                         f"{step_model.shapes.batch}")
    if runtime == "openvino":
        from reproduce.run.openvino_runner import OpenVinoStepRunner
        runner = OpenVinoStepRunner(step_model.exported(), threads=threads)
    else:
        if not isinstance(providers, list):
            providers = resolve_providers(providers)
        runner = StepRunner(step_model.model, weights=step_model.weights, providers=providers,
                            threads=threads)
    return run_loop(runner, np.asarray(start_codes, np.float32),
                    np.asarray(unit_indices, np.int64), schedule, step_model.shapes.net_input,
                    bounds=bounds, record_codes=record_codes, record_stepped=record_stepped,
                    progress_label=progress_label)


def iter_job(job: Job, models: StepModels | None = None) -> Iterator[list[SampleResult]]:
    """Runs the job batch by batch, yielding each batch's results in sample order.

    All checks (including those needing the converted nets: units, xy, bounds, start code) run
    before the first iteration, so a bad job fails before anything is computed or written.
    """
    check_job(job)
    if models is None:
        models = StepModels(job.nets, job.act_layer, job.mode, job.use_cache)
    elif (models.nets, models.act_layer, models.mode) != (job.nets, job.act_layer, job.mode):
        raise ValueError("these step models were built for other nets, layer or mode")
    chunks = job.chunks()
    first_model = models.get(chunks[0][1])
    shapes = first_model.shapes
    indices = [shapes.act.flat_index(unit, job.xy) for unit, _ in job.samples]
    bounds = load_bounds(job.bound, shapes.code_size) if job.mode is CodeMode.BOUND else None
    shared = shared_start_code(job.start, shapes.code_size)
    samples = [(unit, seed, shared if shared is not None
                else as_stored_code(random_start_code(seed, shapes.code_size)))
               for unit, seed in job.samples]
    providers = resolve_providers(job.providers) if job.runtime == "onnxruntime" else None
    for first, size in chunks:
        chunk = samples[first:first + size]
        loop = run_samples(models.get(size), np.concatenate([start for _, _, start in chunk]),
                           indices[first:first + size], job.schedule, bounds=bounds,
                           providers=providers, threads=job.threads, runtime=job.runtime,
                           record_codes=job.record_codes, record_stepped=job.record_stepped,
                           progress_label=(f"{job.act_layer} units {chunk[0][0]}…"
                                           if job.progress else None))
        yield _sample_results(job, chunk, loop)


def run_job(job: Job, models: StepModels | None = None) -> list[SampleResult]:
    """All of the job's results, in sample order (see `iter_job`)."""
    return [result for batch in iter_job(job, models) for result in batch]

