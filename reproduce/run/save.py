"""A job's files, as the release names and writes them: result images, traces, debug frames.

For each sample: `{act_layer}_{unit:04d}_{n_iters:02d}_{L2}_{start_lr}__{seed}.jpg` (the
release's writer) and the same array as a lossless `.png` beside it; with a trace path the
run's trace (.npz: acts, codes, code_init, best, saved); with a debug folder each iteration's
crop after the net's update as NNN.jpg plus the result as {n_iters:03d}.jpg. The release passes
those debug crops to its writer without the BGR → RGB swap it applies to the result; they are
swapped here too, as the published strip (natural colours) shows.
"""
from __future__ import annotations

from pathlib import Path

from reproduce.outputs.images import (result_file_name, to_saved_array, write_image_atomic,
                                      write_result_image)
from reproduce.outputs.trace import write_trace
from reproduce.run.job import Job, SampleResult


def result_path(job: Job, result: SampleResult, output_dir: str | Path) -> Path:
    """Where the release writes this sample's JPEG."""
    schedule = job.schedule
    return Path(output_dir) / result_file_name(job.act_layer, result.unit, schedule.n_iters,
                                               schedule.l2, schedule.lr_start, result.seed)


def save_sample(job: Job, result: SampleResult, output_dir: str | Path, *, trace_path: str = "",
                debug_dir: str | Path | None = None) -> Path:
    """Writes one sample's files (atomically, each); returns the JPEG's path."""
    path = result_path(job, result, output_dir)
    write_result_image(path, result.saved)
    if trace_path:
        write_trace(trace_path, acts=result.acts, codes=result.codes, code_init=result.start_code,
                    best=result.image, saved=result.saved)
    if debug_dir is not None:
        for iteration, stepped in enumerate(result.stepped):
            write_image_atomic(Path(debug_dir) / f"{iteration:03d}.jpg", to_saved_array(stepped))
        write_image_atomic(Path(debug_dir) / f"{job.schedule.n_iters:03d}.jpg", result.saved)
    return path


def trace_path_for(trace: str, result: SampleResult, many: bool) -> str:
    """The trace file of a sample: the given path for a lone run, else with _uUUUU_sS added."""
    if not trace or not many:
        return trace
    path = Path(trace)
    return str(path.with_name(f"{path.stem}_u{result.unit:04d}_s{result.seed}{path.suffix}"))
