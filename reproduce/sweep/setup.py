"""What every batch of a sweep needs besides its runs: the nets, the code rule, the runtime.

The nets are identified by content (SHA-256 of each file) plus everything else that changes
what a run computes: the generator's blob names, for `--net_onnx` its input name, the input
adapter (colour order, mean, std, input size) and the crop size, and the runtime when it is
not ONNX Runtime. Moving or renaming the files does not make a store's runs look foreign;
other weights under the same name, or another adapter, do. A store written before
`--net_onnx`/`--runtime` existed has exactly the identity of a Caffe sweep on ONNX Runtime.

`act_max_flags` writes a run's settings back as act_max's flags (the atlas's command lines).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common import hashing
from common.errors import UserError
from reproduce.run.job import NetFiles
from reproduce.step.graph import CodeMode
from reproduce.step.onnx_loading import external_data_files
from reproduce.step.onnx_net import CAFFE_MEAN_RGB, RELEASE_CROP, OnnxNet
from reproduce.sweep.plan import Fixed

CAFFE_ROLES = ("generator_definition", "generator_weights", "net_definition", "net_weights")
ONNX_ROLES = ("generator_definition", "generator_weights", "net_onnx")
DEFAULT_RUNTIME = "onnxruntime"
# what a sweep's identity records for act_max's default --crop_size (the release's crop; the
# value earlier sweeps recorded for it, so they resume)
DEFAULT_CROP = RELEASE_CROP
# identity key → the flag that sets it (what a refused resume names)
IDENTITY_FLAGS = {**{role: f"--{role}" for role in CAFFE_ROLES}, "net_onnx": "--net_onnx",
                  "gen_in": "--generator_input", "gen_out": "--generator_output",
                  "net_input": "--net_input", "net_rgb": "--net_rgb", "net_mean": "--net_mean",
                  "net_std": "--net_std", "net_input_size": "--net_input_size",
                  "crop_size": "--crop_size", "token": "--token", "net_onnx_data": "--net_onnx",
                  "runtime": "--runtime"}


@dataclass(frozen=True)
class RunSetup:
    """The nets, the bound file or clip, and the runtime settings shared by all batches."""

    nets: NetFiles
    bound: str | None = None  # the bound file (ignored with clip, as in the release)
    clip: bool = False
    providers: str | None = None  # ONNX Runtime providers, comma-separated (None: CUDA if present)
    threads: int | None = None  # intra-op threads (None: the runtime's default)
    runtime: str = DEFAULT_RUNTIME  # or "openvino" (reproduce.run.job.RUNTIMES)
    use_cache: bool = True  # the on-disk step-graph cache (reproduce.step.cache)

    @property
    def mode(self) -> CodeMode:
        return CodeMode.from_flags(self.clip, bool(self.bound))

    def net_paths(self) -> dict[str, str]:
        """Role → path of every net file the runs read (the ONNX model replaces the Caffe net)."""
        onnx_net = self.nets.net_onnx
        return {role: onnx_net.path if role == "net_onnx" else getattr(self.nets, role)
                for role in (ONNX_ROLES if onnx_net is not None else CAFFE_ROLES)}

    def with_net_paths(self, paths: dict[str, str]) -> "RunSetup":
        """The same setup reading its net files from `paths` (role → path; e.g. local copies)."""
        roles = {role: path for role, path in paths.items() if role in CAFFE_ROLES}
        nets = dataclasses.replace(self.nets, **roles)
        if "net_onnx" in paths and nets.net_onnx is not None:
            nets = dataclasses.replace(nets, net_onnx=dataclasses.replace(nets.net_onnx,
                                                                          path=paths["net_onnx"]))
        return dataclasses.replace(self, nets=nets)


def file_sha256(path: str | Path, flag: str) -> str:
    """The file's SHA-256 (hex, common.hashing); a missing file is a UserError naming the flag."""
    try:
        return hashing.file_sha256(path)
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: file not found") from None
    except OSError as error:
        raise UserError(f"{flag} {path}: cannot be read ({error})") from None


def adapter_identity(onnx_net: OnnxNet) -> dict[str, object]:
    """The `--net_onnx` settings besides the file, as JSON values."""
    adapter = onnx_net.adapter
    return {"net_input": onnx_net.input_name or "", "net_rgb": adapter.rgb,
            "net_mean": list(adapter.mean), "net_std": list(adapter.std) if adapter.std else None,
            "net_input_size": list(adapter.size) if adapter.size else None,
            "crop_size": DEFAULT_CROP if onnx_net.crop is None else onnx_net.crop,
            **({} if onnx_net.token is None else {"token": onnx_net.token})}


def nets_identity(setup: RunSetup) -> dict[str, object]:
    """Role → content hash of each net file, the generator's blob names, the ONNX net's
    adapter settings and a runtime other than ONNX Runtime (see the module docstring)."""
    identity: dict[str, object] = {role: file_sha256(path, IDENTITY_FLAGS[role])
                                   for role, path in setup.net_paths().items()}
    identity.update(gen_in=setup.nets.gen_in, gen_out=setup.nets.gen_out)
    if setup.nets.net_onnx is not None:
        data_files = external_data_files(setup.nets.net_onnx.path)
        if data_files:  # weights in .onnx.data files: their content is the net's too
            identity["net_onnx_data"] = hashlib.sha256("\n".join(
                file_sha256(data, "--net_onnx") for data in data_files).encode()).hexdigest()
        identity.update(adapter_identity(setup.nets.net_onnx))
    if setup.runtime != DEFAULT_RUNTIME:
        identity["runtime"] = setup.runtime
    return identity


def fixed_settings(setup: RunSetup, act_layer: str, xy: int) -> Fixed:
    """The sweep's `Fixed` part of every run key (the bound file by content)."""
    mode = setup.mode
    bound_sha = file_sha256(setup.bound, "--bound") if mode is CodeMode.BOUND else ""
    return Fixed(act_layer, xy, mode, bound_sha)  # Fixed keeps the mode's plain value


def shown_path(path: str) -> str:
    """A path for a command line: relative to the current folder when inside it."""
    relative = os.path.relpath(os.path.abspath(path))
    return path if relative.startswith("..") else relative


def numbers(values: Sequence[float]) -> list[str]:
    """Floats as act_max reads them back exactly (repr)."""
    return [repr(float(value)) for value in values]


def act_max_flags(setup: RunSetup) -> list[str]:
    """act_max's flags for these nets and runtime (the code rule and the run's own flags are
    added per run): the four Caffe files or `--net_onnx` with its adapter, the generator."""
    nets = setup.nets
    flags = ["--generator_definition", shown_path(nets.generator_definition),
             "--generator_weights", shown_path(nets.generator_weights)]
    if nets.gen_in != "feat":
        flags += ["--generator_input", nets.gen_in]
    if nets.gen_out != "deconv0":
        flags += ["--generator_output", nets.gen_out]
    onnx_net = nets.net_onnx
    if onnx_net is None:
        flags += ["--net_definition", shown_path(nets.net_definition),
                  "--net_weights", shown_path(nets.net_weights)]
    else:
        adapter = onnx_net.adapter
        flags += ["--net_onnx", shown_path(onnx_net.path)]
        if onnx_net.input_name:
            flags += ["--net_input", onnx_net.input_name]
        if adapter.rgb:
            flags.append("--net_rgb")
        if tuple(adapter.mean) != CAFFE_MEAN_RGB:
            flags += ["--net_mean", *numbers(adapter.mean)]
        if adapter.std:
            flags += ["--net_std", *numbers(adapter.std)]
        if adapter.size:
            flags += ["--net_input_size", *map(str, adapter.size)]
        if onnx_net.crop is not None:
            flags += ["--crop_size", str(onnx_net.crop)]
        if onnx_net.token is not None:
            flags += ["--token", str(onnx_net.token)]
    if setup.runtime != DEFAULT_RUNTIME:
        flags += ["--runtime", setup.runtime]
    if setup.providers:
        flags += ["--providers", setup.providers]
    if setup.threads:
        flags += ["--threads", str(setup.threads)]
    return flags
