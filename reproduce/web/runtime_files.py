"""onnxruntime-web's runtime files for the page, fetched from the npm registry and cached.

The version and its integrity hash are pinned by web/package.json + web/package-lock.json (the
same pin the conformance harness installs with `npm ci`). `npm pack onnxruntime-web@VERSION`
fetches the package's tarball with npm's ordinary client (its registry and proxy settings, its
own download cache); its sha512 must equal the lock's `integrity`; the files the page loads are
extracted into the project's cache (common.cache_dir: `cache_folder("npm")`, one folder per
package-lock hash and file list), written atomically (temporary folder, then rename), so later builds need
neither npm nor the network. Nothing of this is ever committed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.cache_dir import cache_folder
from common.errors import UserError
from reproduce.official.locations import project_path

log = logging.getLogger(__name__)

WEB_DIR = project_path("web")  # the page sources and the npm pins (package data when installed)
PACKAGE_LOCK = WEB_DIR / "package-lock.json"
PACKAGE = "onnxruntime-web"
# What the page loads: the wasm build (ort.wasm.min.mjs and its threaded SIMD module) and the
# JSEP build with WebGPU (ort.min.mjs and its module), plus package.json (version, licence).
# Not ort.webgpu.min.mjs: its module's CPU kernels lack the float64 Cast of the step graph's
# tail (it cannot create a session for it, WebGPU or not; the JSEP build's CPU kernels can).
DIST_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
              "ort.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm")
COMPLETE = ".complete"  # written last into a cache entry


@dataclass(frozen=True)
class PinnedPackage:
    """A package as web/package-lock.json pins it."""

    name: str
    version: str
    integrity: str  # "sha512-<base64>"
    lock_sha256: str  # of the lock file: the cache key

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def pinned_package(lock_path: Path = PACKAGE_LOCK, name: str = PACKAGE) -> PinnedPackage:
    """The lock's entry for `name`; a UserError naming the file when it is missing or lacks it."""
    try:
        data = lock_path.read_bytes()
        entry = json.loads(data)["packages"][f"node_modules/{name}"]
        return PinnedPackage(name, entry["version"], entry["integrity"],
                             hashlib.sha256(data).hexdigest())
    except FileNotFoundError:
        raise UserError(f"{lock_path}: missing (it pins {name}, the page's runtime)") from None
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{lock_path}: does not pin {name} ({error!r})") from None


def cache_entry(package: PinnedPackage) -> Path:
    """The cache folder of this pin and file list (not created)."""
    key = hashlib.sha256(f"{package.lock_sha256} {' '.join(DIST_FILES)}".encode()).hexdigest()
    return cache_folder("npm") / f"{package.name}-{package.version}-{key[:16]}"


def _npm_error_line(stderr: str) -> str:
    """The informative line of npm's error output (the failed request, else its first error)."""
    lines = [line.removeprefix("npm error").removeprefix("npm ERR!").strip()
             for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if line]
    for line in lines:
        if "request to" in line or "reason:" in line:
            return line
    codes = [line for line in lines if line.startswith("code ")]
    return (codes or lines or ["no message"])[0]


def _npm_pack(package: PinnedPackage, destination: Path) -> Path:
    """`npm pack NAME@VERSION` into destination: the tarball's path; a one-line UserError when npm
    is missing or fails (registry unreachable, unknown version)."""
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(f"npm not found: the page's runtime ({package.spec}, pinned by "
                        f"web/package-lock.json) is fetched from the npm registry with npm "
                        "(install Node.js and npm)")
    try:
        done = subprocess.run([npm, "pack", package.spec, "--json", "--pack-destination",
                               str(destination)], cwd=destination, capture_output=True, text=True)
    except OSError as error:
        raise UserError(f"npm pack {package.spec}: {error}") from None
    if done.returncode != 0:
        raise UserError(f"npm pack {package.spec}: failed ({_npm_error_line(done.stderr)}); "
                        "the npm registry must be reachable for the first build")
    try:
        filename = json.loads(done.stdout)[0]["filename"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise UserError(f"npm pack {package.spec}: unexpected output {done.stdout[:80]!r}") from None
    return destination / filename


def _check_integrity(tarball: Path, package: PinnedPackage) -> None:
    algorithm, _, expected = package.integrity.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    if base64.b64encode(digest).decode() != expected:
        raise UserError(f"npm pack {package.spec}: the tarball's {algorithm} is not the one "
                        f"web/package-lock.json pins")


def _extract(tarball: Path, folder: Path, package: PinnedPackage) -> None:
    wanted = {f"package/dist/{name}": name for name in DIST_FILES}
    wanted["package/package.json"] = "package.json"
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name in wanted and member.isfile():
                with archive.extractfile(member) as source, open(folder / wanted.pop(member.name),
                                                                 "wb") as target:
                    shutil.copyfileobj(source, target)
    if wanted:
        raise UserError(f"npm pack {package.spec}: the package lacks {', '.join(sorted(wanted))}")


def runtime_files(lock_path: Path = PACKAGE_LOCK) -> tuple[PinnedPackage, Path]:
    """The pinned package and the cache folder holding DIST_FILES and package.json, fetched with
    npm on first use (see the module docstring)."""
    package = pinned_package(lock_path)
    entry = cache_entry(package)
    if (entry / COMPLETE).is_file():
        return package, entry
    log.info("fetching %s from the npm registry (once; cached in %s)", package.spec, entry.parent)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=entry.parent) as work:
        work = Path(work)
        (work / "pack").mkdir()
        tarball = _npm_pack(package, work / "pack")
        _check_integrity(tarball, package)
        staged = work / "entry"
        staged.mkdir()
        _extract(tarball, staged, package)
        (staged / COMPLETE).write_text(package.integrity + "\n")
        try:
            os.replace(staged, entry)
        except OSError:  # another build placed it meanwhile (or a stale incomplete one is there)
            if not (entry / COMPLETE).is_file():
                shutil.rmtree(entry, ignore_errors=True)
                os.replace(staged, entry)
    return package, entry
