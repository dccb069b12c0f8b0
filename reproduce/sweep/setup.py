"""What every batch of a sweep needs besides its runs: the nets, the code rule, the runtime.

The nets are identified by content (SHA-256 of each file) plus the generator's blob names, so
moving or renaming the files does not make a store's runs look foreign, and other weights
under the same name do.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError
from reproduce.run.job import NetFiles
from reproduce.step.graph import CodeMode
from reproduce.sweep.plan import Fixed

NET_ROLES = ("generator_definition", "generator_weights", "net_definition", "net_weights")
FLAGS = {role: f"--{role}" for role in NET_ROLES}


@dataclass(frozen=True)
class RunSetup:
    """The nets, the bound file or clip, and the ONNX Runtime settings shared by all batches."""

    nets: NetFiles
    bound: str | None = None  # the bound file (ignored with clip, as in the release)
    clip: bool = False
    providers: str | None = None  # ONNX Runtime providers, comma-separated (None: CUDA if present)
    threads: int | None = None  # ONNX Runtime intra-op threads (None: its default)
    use_cache: bool = True  # the on-disk step-graph cache (reproduce.step.cache)

    @property
    def mode(self) -> CodeMode:
        return CodeMode.from_flags(self.clip, bool(self.bound))

    def net_paths(self) -> dict[str, str]:
        return {role: getattr(self.nets, role) for role in NET_ROLES}


def file_sha256(path: str | Path, flag: str) -> str:
    """The file's SHA-256 (hex); a missing file is a UserError naming the flag."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: file not found") from None
    except OSError as error:
        raise UserError(f"{flag} {path}: cannot be read ({error})") from None
    return digest.hexdigest()


def nets_identity(setup: RunSetup) -> dict[str, str]:
    """Role → content hash of each net file, plus the generator's blob names."""
    identity = {role: file_sha256(path, FLAGS[role]) for role, path in setup.net_paths().items()}
    identity.update(gen_in=setup.nets.gen_in, gen_out=setup.nets.gen_out)
    return identity


def fixed_settings(setup: RunSetup, act_layer: str, xy: int) -> Fixed:
    """The sweep's `Fixed` part of every run key (the bound file by content)."""
    mode = setup.mode
    bound_sha = file_sha256(setup.bound, "--bound") if mode is CodeMode.BOUND else ""
    return Fixed(act_layer, xy, mode, bound_sha)
