"""One adapter per runtime: run a model file on cases (reproduce.conformance.cases), one thread.

Every adapter runs the ONNX file exactly as exported (no runtime-specific rewriting); a runtime
that cannot load or run it raises RuntimeFailure with its own message. `unavailable()` says why
a runtime is not installed here (None when it is), so the caller can skip it with that reason.

Runtimes: ONNX Runtime in Python (the reference), onnxruntime-node and onnxruntime-web (wasm,
under node and in headless Chromium, through web/), OpenVINO (CPU, INFERENCE_PRECISION_HINT
f32: its default on CPUs with bf16 units is bf16, ~2e-3 off), tract, and onnx's
ReferenceEvaluator.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import onnx

from reproduce.conformance.cases import Case, decode_outputs, read_output_dir, write_case_dir
from reproduce.conformance.known_bugs import REFERENCE_EVALUATOR_LRN, KnownBug
from reproduce.official.locations import project_path

log = logging.getLogger(__name__)

WEB_DIR = project_path("web")
Outputs = list[dict[str, np.ndarray]]


class RuntimeFailure(Exception):
    """The runtime refused or failed the model; str() is its message (one line)."""


def _one_line(text: str, limit: int = 160) -> str:
    """The informative line of a runtime's message (OpenVINO puts it after "While validating")."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("While validating"):
            lines = lines[index + 1:]
            break
    line = lines[0] if lines else "no message"
    return line if len(line) <= limit else line[:limit - 1] + "…"


class Runtime:
    """Base: a named runtime that runs model files on cases."""

    name = "runtime"
    loop_support = True  # False: the runtime has no ONNX Loop (the host loop drives the step graph)
    known_bugs: dict[str, KnownBug] = {}  # op type → the runtime's known defect (with its signature)

    def unavailable(self) -> str | None:
        """Why this runtime cannot run here, or None."""
        return None

    def version(self) -> str:
        return ""

    def runner(self, model_path: Path) -> Callable[[Case], dict[str, np.ndarray]]:
        """The loaded model as a function of a case (in-process runtimes)."""
        raise NotImplementedError

    def run(self, model_path: Path, cases: Sequence[Case], workdir: Path) -> Outputs:
        """Each case's outputs; RuntimeFailure with the runtime's message when it fails."""
        try:
            run_case = self.runner(model_path)
            return [run_case(case) for case in cases]
        except RuntimeFailure:
            raise
        except Exception as error:  # noqa: BLE001 - the runtime's own failure is the result
            raise RuntimeFailure(_one_line(error)) from None

    def time_case(self, model_path: Path, case: Case, repeat: int, workdir: Path) -> float:
        """Median ms of `repeat` runs of the loaded model on `case`, after one warm-up run."""
        try:
            run_case = self.runner(model_path)
            run_case(case)
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                run_case(case)
                times.append((time.perf_counter() - start) * 1e3)
        except Exception as error:  # noqa: BLE001
            raise RuntimeFailure(_one_line(error)) from None
        return statistics.median(times)


def _missing_module(module: str, install: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"Python package {module!r} not installed ({install})"
    return None


class OnnxRuntimePython(Runtime):
    """ONNX Runtime's Python API, CPU provider, one intra-op thread (the reference)."""

    name = "onnxruntime (Python)"

    def version(self) -> str:
        import onnxruntime
        return onnxruntime.__version__

    optimization = "ORT_ENABLE_ALL"  # the default (ORT_ENABLE_EXTENDED: no layout transforms)

    def runner(self, model_path: Path) -> Callable[[Case], dict[str, np.ndarray]]:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, self.optimization)
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        return lambda case: dict(zip(case.outputs, session.run(list(case.outputs), dict(case.feeds)), strict=True))


class OnnxRuntimePythonNoLayout(OnnxRuntimePython):
    """ONNX Runtime without its layout optimiser (what a Loop body gets; benchmarks only)."""

    name = "onnxruntime (Python, ORT_ENABLE_EXTENDED)"
    optimization = "ORT_ENABLE_EXTENDED"


class _NodeRunner(Runtime):
    """web/run_cases.mjs under node with one backend."""

    backend = ""
    package = ""

    def unavailable(self) -> str | None:
        if shutil.which("node") is None:
            return "node not found (install Node.js 18+)"
        if not (WEB_DIR / "node_modules" / self.package / "package.json").is_file():
            return f"{self.package} not installed (cd web && ONNXRUNTIME_NODE_INSTALL=skip npm ci)"
        return None

    def version(self) -> str:
        package = json.loads((WEB_DIR / "node_modules" / self.package / "package.json").read_text())
        return package["version"]

    def _answer(self, model_path: Path, cases: Sequence[Case], workdir: Path,
                repeat: int = 1) -> tuple[dict, Outputs]:
        case_dir = write_case_dir(workdir / "cases", model_path, cases)
        out_dir = workdir / f"out_{self.backend}"
        done = subprocess.run(["node", str(WEB_DIR / "run_cases.mjs"), self.backend, str(case_dir),
                               str(out_dir), str(repeat)], capture_output=True, text=True, cwd=WEB_DIR)
        if done.returncode != 0:
            raise RuntimeFailure(_one_line(done.stderr.replace("run_cases: ", "")))
        return read_output_dir(out_dir)

    def run(self, model_path: Path, cases: Sequence[Case], workdir: Path) -> Outputs:
        return self._answer(model_path, cases, workdir)[1]

    def time_case(self, model_path: Path, case: Case, repeat: int, workdir: Path) -> float:
        return float(self._answer(model_path, [case], workdir, max(repeat, 2))[0]["cases"][0]["ms"])


class OnnxRuntimeNode(_NodeRunner):
    """onnxruntime-node (native CPU execution provider)."""

    name = "onnxruntime-node"
    backend, package = "node", "onnxruntime-node"


class OnnxRuntimeWebNode(_NodeRunner):
    """onnxruntime-web's WebAssembly backend under node."""

    name = "onnxruntime-web (wasm, node)"
    backend, package = "wasm", "onnxruntime-web"


def chromium_executable() -> str | None:
    """A Chromium binary: $DGN_AM_CHROMIUM, else `chromium` / `chromium-browser` on PATH."""
    configured = os.environ.get("DGN_AM_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream"}
    extra_headers: tuple[tuple[str, str], ...] = ()

    def end_headers(self) -> None:
        for name, value in self.extra_headers:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("http: " + format, *args)


class LocalServer:
    """A localhost http.server over `root` in a thread (context manager); `.url` is its base.
    `port` 0 picks a free one; `headers` are sent with every response. OSError when the port
    cannot be bound."""

    def __init__(self, root: Path, port: int = 0,
                 headers: Sequence[tuple[str, str]] = ()) -> None:
        handler = type("Handler", (_QuietHandler,), {"extra_headers": tuple(headers)})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LocalServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class OnnxRuntimeWebChromium(Runtime):
    """onnxruntime-web (wasm) in headless Chromium: web/index.html, driven by Playwright."""

    name = "onnxruntime-web (wasm, Chromium)"
    timeout_ms = 300_000

    def unavailable(self) -> str | None:
        missing = _missing_module("playwright", "pip install playwright; never `playwright install`")
        if missing:
            return missing
        if chromium_executable() is None:
            return "chromium not found (apt-get install chromium, or set DGN_AM_CHROMIUM)"
        if not (WEB_DIR / "node_modules" / "onnxruntime-web" / "package.json").is_file():
            return "onnxruntime-web not installed (cd web && ONNXRUNTIME_NODE_INSTALL=skip npm ci)"
        return None

    def version(self) -> str:
        return OnnxRuntimeWebNode().version()

    def run(self, model_path: Path, cases: Sequence[Case], workdir: Path) -> Outputs:
        return decode_outputs(self._answer(model_path, cases, workdir)["cases"], lambda file: b"")

    def time_case(self, model_path: Path, case: Case, repeat: int, workdir: Path) -> float:
        return float(self._answer(model_path, [case], workdir, max(repeat, 2))["cases"][0]["ms"])

    def _answer(self, model_path: Path, cases: Sequence[Case], workdir: Path, repeat: int = 1) -> dict:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
        root = workdir / "site"
        root.mkdir(parents=True, exist_ok=True)
        write_case_dir(root / "cases", model_path, cases)
        if not (root / "web").exists():
            os.symlink(WEB_DIR, root / "web")
        profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=workdir)
        try:
            with LocalServer(root) as server, sync_playwright() as playwright:
                browser = playwright.chromium.launch_persistent_context(
                    profile, executable_path=chromium_executable(), headless=True,
                    args=list(CHROMIUM_FLAGS))
                try:
                    page = browser.new_page()
                    page.goto(f"{server.url}web/index.html?cases=../cases/&repeat={repeat}")
                    page.wait_for_function("window.conformance !== undefined", timeout=self.timeout_ms)
                    answer = page.evaluate("window.conformance")
                finally:
                    browser.close()
        except PlaywrightError as error:
            raise RuntimeFailure(f"chromium: {_one_line(error)}") from None
        if "error" in answer:
            raise RuntimeFailure(_one_line(answer["error"]))
        log.info("chromium: %s", answer.get("userAgent", ""))
        return answer


class OpenVino(Runtime):
    """OpenVINO, CPU device, f32 inference precision."""

    name = "OpenVINO (CPU, f32)"

    def unavailable(self) -> str | None:
        return _missing_module("openvino", "pip install openvino")

    def version(self) -> str:
        import openvino
        return openvino.__version__.split("-")[0]

    def runner(self, model_path: Path) -> Callable[[Case], dict[str, np.ndarray]]:
        import openvino as ov
        compiled = ov.Core().compile_model(str(model_path), "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                                   "INFERENCE_NUM_THREADS": 1})
        request = compiled.create_infer_request()
        ports = {port.get_any_name(): port for port in compiled.outputs}

        def run_case(case: Case) -> dict[str, np.ndarray]:
            answer = request.infer(dict(case.feeds))
            return {name: np.array(answer[ports[name]]) for name in case.outputs}
        return run_case


class Tract(Runtime):
    """tract (sonos/tract, pip `tract`), the model as typed and optimised by tract."""

    name = "tract"
    loop_support = False

    def unavailable(self) -> str | None:
        return _missing_module("tract", "pip install tract")

    def version(self) -> str:
        import tract
        return tract.version()

    def runner(self, model_path: Path) -> Callable[[Case], dict[str, np.ndarray]]:
        import tract
        graph = onnx.load(str(model_path), load_external_data=False).graph
        initializers = {tensor.name for tensor in graph.initializer}
        input_names = [value.name for value in graph.input if value.name not in initializers]
        output_names = [value.name for value in graph.output]
        runnable = tract.onnx().load(str(model_path)).into_model().into_runnable()

        def run_case(case: Case) -> dict[str, np.ndarray]:
            values = runnable.run([np.asarray(case.feeds[name], order="C") for name in input_names])
            by_name = dict(zip(output_names, (value.to_numpy() for value in values), strict=True))
            return {name: by_name[name] for name in case.outputs}
        return run_case


class ReferenceEvaluator(Runtime):
    """onnx.reference.ReferenceEvaluator (NumPy, op by op)."""

    name = "onnx ReferenceEvaluator"
    known_bugs = {"LRN": REFERENCE_EVALUATOR_LRN}  # reproduce.conformance.known_bugs

    def version(self) -> str:
        return onnx.__version__

    def runner(self, model_path: Path) -> Callable[[Case], dict[str, np.ndarray]]:
        from onnx.reference import ReferenceEvaluator as Evaluator
        evaluator = Evaluator(str(model_path))
        return lambda case: dict(zip(case.outputs, evaluator.run(list(case.outputs), dict(case.feeds)), strict=True))


RUNTIMES: dict[str, type[Runtime]] = {
    "onnxruntime": OnnxRuntimePython, "onnxruntime-node": OnnxRuntimeNode,
    "onnxruntime-web-node": OnnxRuntimeWebNode, "onnxruntime-web-chromium": OnnxRuntimeWebChromium,
    "openvino": OpenVino, "tract": Tract, "reference": ReferenceEvaluator}
