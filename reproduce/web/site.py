"""The static site: DGN-AM running in a browser tab from the exported step graph.

OUT_DIR holds:
  index.html, *.mjs, style.css   the page (web/app/)
  model/step.onnx                the step graph, batch 1 (reproduce.step.graph; weight copies
                                 merged back, as the Python driver runs it)
  settings.json, labels.json     reproduce.web.settings
  ort/                           onnxruntime-web's runtime files (reproduce.web.runtime_files)
  site.json                      what built it (the marker a rebuild looks for)

Every check (flags, nets, bound, labels, the runtime's download) runs before anything is written;
the site is assembled in a temporary folder beside OUT_DIR and renamed into place, so OUT_DIR is
either the previous site or the new one, never half of one. An existing OUT_DIR is replaced only
when it is empty or a site this builder wrote (site.json).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError
from converters.caffe.onnx_file import save_onnx
from reproduce.run.job import StepModel, build_step_model
from reproduce.web.runtime_files import WEB_DIR, runtime_files
from reproduce.web.settings import SiteSpec, site_settings

log = logging.getLogger(__name__)

APP_DIR = WEB_DIR / "app"
PAGE_SUFFIXES = (".html", ".mjs", ".css")
MARKER = "site.json"
BUILT_BY = "python -m reproduce web"


@dataclass(frozen=True)
class BuiltSite:
    """A written site: its folder, the settings it carries and its step model."""

    folder: Path
    settings: dict
    step_model: StepModel


def page_files(app_dir: Path = APP_DIR) -> list[Path]:
    """The page's sources (web/app/*.html, *.mjs, *.css)."""
    files = sorted(path for path in app_dir.iterdir() if path.suffix in PAGE_SUFFIXES)
    if not any(path.name == "index.html" for path in files):
        raise UserError(f"{app_dir}: the page's sources are missing (no index.html)")
    return files


def check_out_dir(out_dir: Path) -> None:
    """OUT_DIR may be missing, empty, or a site this command built."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        try:
            built_by = json.loads((out_dir / MARKER).read_text()).get("built_by")
        except (OSError, ValueError, AttributeError):
            built_by = None
        if built_by != BUILT_BY:
            raise UserError(f"{out_dir}: exists and is not a site this command built (no "
                            f"{MARKER}); choose another OUT_DIR or empty it")


def _place(source: Path, target: Path) -> None:
    """A hard link to the cached runtime file where the file system allows it, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _swap_in(staged: Path, out_dir: Path) -> None:
    """Renames the staged site onto out_dir (the previous site, if any, is removed after)."""
    previous = None
    if out_dir.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, previous / "site")
    os.replace(staged, out_dir)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, separators=(",", ":")) + "\n", encoding="utf-8")


def build_site(spec: SiteSpec, out_dir: str | Path) -> BuiltSite:
    """Builds the site for `spec` into out_dir (see the module docstring)."""
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    sources = page_files()
    package, runtime_dir = runtime_files()
    step_model = build_step_model(spec.nets, spec.act_layer, 1, spec.mode)
    # onnxruntime-web runs the graph as the Python driver does, one initializer per weight
    model = step_model.exported(weight_copies=False)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        (staged / "model").mkdir()
        model_path = staged / "model" / "step.onnx"
        save_onnx(model, model_path)
        model_bytes = model_path.stat().st_size
        runtime = {"package": package.name, "version": package.version,
                   "integrity": package.integrity}
        settings, labels = site_settings(spec, step_model, model, model_bytes, runtime)
        settings["model"]["sha256"] = hashlib.sha256(model_path.read_bytes()).hexdigest()
        for source in sources:
            shutil.copyfile(source, staged / source.name)
        (staged / "ort").mkdir()
        for source in sorted(runtime_dir.iterdir()):
            if not source.name.startswith("."):
                _place(source, staged / "ort" / source.name)
        _write_json(staged / "settings.json", settings)
        _write_json(staged / "labels.json", labels)
        _write_json(staged / MARKER, {"built_by": BUILT_BY, "runtime": runtime,
                                      "model_sha256": settings["model"]["sha256"]})
        os.chmod(staged, 0o755)
        _swap_in(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    log.info("site written to %s", out_dir)
    return BuiltSite(out_dir, settings, step_model)
