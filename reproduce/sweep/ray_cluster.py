"""The Ray executor: each batch is one Ray task; only the driver writes the store and images.

`--ray` starts a local Ray runtime for the sweep (`ray.init(address="local")`), `--ray ADDRESS`
joins a running cluster; inside a process where Ray is already initialised that runtime is
used (and left running). The project's packages travel with the job (`runtime_env`
py_modules) and the net and bound files through the object store (put once by the driver,
copied once per worker host into its temporary folder), so workers need neither the checkout
nor a shared filesystem. A task returns its rows and image arrays (reproduce.sweep.batch);
the driver commits them as they complete. Each worker process keeps its converted step graphs
(per nets, layer, mode and batch size), so it converts the nets once. A task whose worker dies
is retried by Ray (`max_retries`), and the same batch gives the same bits wherever it runs
on the same numeric stack, so results equal the local executor's. Ray is an optional extra
(the `sweep` extra: requirements-sweep.txt).
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from common.atomic import atomic_write_bytes
from common.errors import UserError
from reproduce.run.job import StepModels
from reproduce.step.graph import CodeMode
from reproduce.step.onnx_loading import external_data_files, self_contained_bytes
from reproduce.sweep.batch import BatchOutput, run_batch
from reproduce.sweep.plan import Batch
from reproduce.sweep.setup import RunSetup, file_sha256

log = logging.getLogger(__name__)
MAX_RETRIES = 3  # a batch whose worker dies is run again up to this many times


@dataclasses.dataclass(frozen=True)
class ShippedFile:
    """A file put into Ray's object store: its name, content hash and object reference."""

    name: str
    sha256: str
    data: object  # ray.ObjectRef of the bytes


def package_dirs() -> list[str]:
    """The project's top-level packages a batch imports (shipped as runtime_env py_modules)."""
    import common
    import converters
    import reproduce
    return [str(Path(module.__file__).parent) for module in (common, converters, reproduce)]


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserError("--ray: Ray is not installed (the sweep extra: pip install -r "
                        "requirements-sweep.txt, or pip install '.[sweep]')") from None
    return ray


# --- worker side: per-process caches -------------------------------------------------------

_LOCAL_COPIES: dict[str, str] = {}
_MODELS: dict[tuple, StepModels] = {}


def local_copy(shipped: ShippedFile) -> str:
    """The file on this worker's host (fetched from the object store once per host)."""
    path = _LOCAL_COPIES.get(shipped.sha256)
    if path is None or not Path(path).is_file():
        target = Path(tempfile.gettempdir()) / "dgn_am_sweep" / shipped.sha256[:32] / shipped.name
        if not target.is_file():
            ray = import_ray()
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, ray.get(shipped.data))
        path = _LOCAL_COPIES[shipped.sha256] = str(target)
    return path


def worker_setup(setup: RunSetup, files: dict[str, ShippedFile]) -> RunSetup:
    """The setup with every file replaced by its copy on this host."""
    local = setup.with_net_paths({role: local_copy(files[role]) for role in setup.net_paths()})
    bound = local_copy(files["bound"]) if "bound" in files else setup.bound
    return dataclasses.replace(local, bound=bound)


def batch_task(batch: Batch, setup: RunSetup, files: dict[str, ShippedFile]) -> BatchOutput:
    """A Ray task's body: one batch with this worker process's cached step graphs."""
    setup = worker_setup(setup, files)
    key = (setup.nets, batch.fixed.act_layer, setup.mode)  # local paths: one per content hash
    models = _MODELS.get(key)
    if models is None:
        models = _MODELS[key] = StepModels(setup.nets, batch.fixed.act_layer, setup.mode, setup.use_cache)
    return run_batch(batch, setup, models, "ray")


# --- driver side -----------------------------------------------------------------------------

class RayExecutor:
    """Runs batches as Ray tasks, at most `window` in flight, yielding them as they finish."""

    name = "ray"

    def __init__(self, setup: RunSetup, address: str | None = None, *,
                 num_cpus: int | None = None) -> None:
        ray = self.ray = import_ray()
        self.started_here = not ray.is_initialized()
        if self.started_here:
            options = {"runtime_env": {"py_modules": package_dirs()}, "log_to_driver": False}
            try:
                if address:
                    ray.init(address=address, **options)
                else:
                    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **options)
            except ConnectionError as error:
                raise UserError(f"--ray {address}: cannot join the cluster ({error})") from None
        self.setup = setup
        self.files = self._ship(setup)
        cpus_per_task = setup.threads or 1
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.window = max(2, 2 * cluster_cpus // cpus_per_task)
        self.task = ray.remote(batch_task).options(num_cpus=cpus_per_task, max_retries=MAX_RETRIES)
        log.info("ray: %d CPUs, up to %d batches in flight", cluster_cpus, self.window)

    def _ship(self, setup: RunSetup) -> dict[str, ShippedFile]:
        paths = dict(setup.net_paths())
        if setup.mode is CodeMode.BOUND:
            paths["bound"] = setup.bound
        shipped = {}
        for role, path in paths.items():
            if role == "net_onnx" and external_data_files(path):  # one file, weights embedded
                data = self_contained_bytes(path)
                shipped[role] = ShippedFile(Path(path).name, hashlib.sha256(data).hexdigest(),
                                            self.ray.put(data))
            else:
                shipped[role] = ShippedFile(Path(path).name, file_sha256(path, f"--{role}"),
                                            self.ray.put(Path(path).read_bytes()))
        return shipped

    def run(self, batches: Sequence[Batch]) -> Iterator[BatchOutput]:
        ray = self.ray
        pending = list(reversed(batches))
        in_flight = []
        while pending or in_flight:
            while pending and len(in_flight) < self.window:
                in_flight.append(self.task.remote(pending.pop(), self.setup, self.files))
            done, in_flight = ray.wait(in_flight, num_returns=1)
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayTaskError as error:
                if isinstance(error.cause, UserError):
                    raise UserError(str(error.cause)) from None
                raise

    def close(self) -> None:
        """Shuts down a runtime this executor started (one it joined or found is left running)."""
        if self.started_here:
            self.ray.shutdown()
