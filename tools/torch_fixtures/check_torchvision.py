"""Real torchvision classifiers through the project, with both of torch's ONNX exporters
(run where torch exists: tools/torch_fixtures/README.md).

For each model (random weights, `weights=None` under a fixed seed: nothing is downloaded) and
each exporter (`torchscript`: torch.onnx.export(dynamo=False) at opset 17; `dynamo`:
torch.onnx.export(dynamo=True) at its default opset):

1. the gradient check: `build_vjp` of the exported model (d logits[unit] / d image) on ONNX
   Runtime in float32 against torch's float64 autograd of the same weights, at a seeded
   N(0, 1) image in the net's normalised input space (infinity-norm relative error);
2. act_max, the user-facing command, in the project's Python (a subprocess: `--python`,
   default the checkout's .venv): `python -m reproduce act_max --net_onnx FILE --act_layer
   logits --unit U --net_preset torchvision --demo --crop_size 56 --n_iters 21 --start_lr LR
   --trace T` (the demo generator's 56×56 crop resized to 224×224). The trace's acts[0] is the
   activation before the first update and acts[20] the one after 20 updates; a run *climbs*
   when acts[20] > acts[0]. LR walks the ladder (`--ladder`, largest first) until a run climbs:
   the table gives the largest step size that climbs (the dynamo export tries the TorchScript
   export's first).

`--table FILE` writes the Markdown table with the date and the command; `--models` runs a
subset. The whole list took 9 minutes on 2 CPU cores (30 rows).
"""
from __future__ import annotations

import argparse
import copy
import datetime
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from common.numerics import relative_error  # noqa: E402
from tools.torch_fixtures import holds  # noqa: E402
from tools.torch_fixtures.export_fixtures import (EXPORTERS, INPUT_NAME, OUTPUT_NAME,  # noqa: E402
                                                  export, kink_margins)

log = logging.getLogger("check_torchvision")

# model → family (the fixtures' families, and the other classic ImageNet families)
MODELS: dict[str, str] = {
    "resnet18": "ResNet", "resnet50": "ResNet", "regnet_y_400mf": "RegNet (SE)",
    "mobilenet_v2": "MobileNetV2", "mobilenet_v3_small": "MobileNetV3 (SE)",
    "efficientnet_b0": "EfficientNet", "mnasnet0_5": "MNASNet",
    "shufflenet_v2_x0_5": "ShuffleNetV2", "squeezenet1_1": "SqueezeNet", "googlenet": "GoogLeNet",
    "densenet121": "DenseNet", "convnext_tiny": "ConvNeXt", "vit_b_16": "ViT",
    "swin_t": "Swin", "maxvit_t": "MaxViT",
}
LADDER = (8.0, 4.0, 2.0, 1.0, 0.5)
SIZE = 224
UNIT = 1
ITERATIONS = 20
CROP = 56


@dataclass
class Row:
    """One model × exporter."""

    model: str
    family: str
    exporter: str
    opset: int | None = None
    grad_error: float | None = None
    held_error: float | None = None  # with the units near a kink held on both sides
    held: tuple[int, int] | None = None  # units held: torch, ours
    tau: float | None = None  # the threshold they were held at
    paired: bool = False  # ours held exactly torch's units
    kink_margin: float | None = None  # torch float64: the smallest relative kink margin
    exit_code: int | None = None
    start_lr: float | None = None  # the largest of the ladder that climbs (None: none did)
    act_before: float | None = None
    act_after: float | None = None
    tried: list[float] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""


def torchvision_model(name: str, seed: int = 0) -> torch.nn.Module:
    """The model with random weights (weights=None) under `seed`, in eval mode; a linear layer
    torchvision initialises to zero (ViT's head) is drawn from N(0, 0.01²) instead, so that
    the logits depend on the image."""
    import torchvision
    torch.manual_seed(seed)
    model = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and not module.weight.any():
                module.weight.normal_(0.0, 0.01)
    return model


def torch_input_gradient(model: torch.nn.Module, image: np.ndarray, unit: int,
                         hold: float | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """d logits[0, unit] / d image in float64 (a float64 copy of the model); `hold`: units
    within that relative distance of a kink held (holds.held_kinks). Returns it and the held
    units (a mask per kink call, in call order; none without `hold`)."""
    model64 = copy.deepcopy(model).double()
    x = torch.from_numpy(image.astype(np.float64)).requires_grad_(True)
    mode = holds.held_kinks(hold or holds.TAU)
    if hold:
        with mode:
            logits = model64(x)
    else:
        logits = model64(x)
    logits[0, unit].backward()
    return x.grad.numpy(), mode.masks


def our_input_gradient(path: Path, image: np.ndarray, unit: int, hold: float | None = None,
                       masks: list[np.ndarray] | None = None) -> tuple[np.ndarray, int, bool]:
    """build_vjp of the exported model, one-hot cotangent at `unit`, ONNX Runtime float32;
    `hold`: units within that relative distance of a kink held (holds.with_held_kinks; torch's
    `masks` when they pair with the graph's kink nodes). Returns it, the units held and
    whether torch's masks were used."""
    import onnx
    import onnxruntime as ort
    from converters.vjp.transform import build_vjp
    model, held, matched = onnx.load(str(path)), 0, False
    feeds = {INPUT_NAME: image.astype(np.float32)}
    if hold:
        model, held, matched = holds.with_held_kinks(model, feeds, hold, masks)
    model = build_vjp(model, wrt=[INPUT_NAME], of=[OUTPUT_NAME])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    cotangent = np.zeros((1, 1000), np.float32)
    cotangent[0, unit] = 1.0
    gradient = session.run([f"{INPUT_NAME}_grad"], {**feeds, f"{OUTPUT_NAME}_grad": cotangent})[0]
    return gradient, held, matched


@dataclass
class HeldGradients:
    """Both sides' input gradients with kink units held (`tau`)."""

    ours: np.ndarray
    torch: np.ndarray
    held: tuple[int, int]  # torch's, ours
    tau: float
    paired: bool  # ours held exactly torch's units

    @property
    def error(self) -> float:
        return relative_error(self.ours, self.torch)


def held_gradients(model: torch.nn.Module, path: Path, image: np.ndarray, unit: int,
                   cache: dict[float, tuple[np.ndarray, list[np.ndarray]]] | None = None) -> HeldGradients:
    """Input gradients with the kink units held on both sides: torch's units when its kink
    calls pair with the graph's kink nodes; else each side's own, at the first of holds.TAUS
    where both hold as many (a unit within float32 noise of the threshold itself can be held
    on one side only; the next threshold moves it away). `cache`: torch's results per tau."""
    cache = {} if cache is None else cache
    for tau in holds.TAUS:
        if tau not in cache:
            cache[tau] = torch_input_gradient(model, image, unit, hold=tau)
        expected, masks = cache[tau]
        torch_held = int(sum(mask.sum() for mask in masks))
        ours, count, paired = our_input_gradient(path, image, unit, hold=tau, masks=masks)
        if paired or count == torch_held:
            break
    return HeldGradients(ours, expected, (torch_held, count), tau, paired)


def act_max_command(python: str, onnx_path: Path, start_lr: float, out: Path,
                    iterations: int = ITERATIONS, unit: int = UNIT) -> list[str]:
    """The act_max command line for one run (its trace: out / trace.npz)."""
    return [python, "-m", "reproduce", "act_max", "--net_onnx", str(onnx_path),
            "--act_layer", OUTPUT_NAME, "--unit", str(unit), "--net_preset", "torchvision",
            "--demo", "--crop_size", str(CROP), "--n_iters", str(iterations + 1),
            "--start_lr", str(start_lr), "--output_dir", str(out),
            "--trace", str(out / "trace.npz"), "--threads", "2"]


def run_act_max(python: str, onnx_path: Path, start_lr: float, work: Path,
                iterations: int = ITERATIONS) -> tuple[int, np.ndarray | None, str]:
    """Runs act_max in the project's Python; (exit code, the trace's acts or None, last
    line of its stderr)."""
    out = Path(tempfile.mkdtemp(dir=work, prefix="act_max_"))
    done = subprocess.run(act_max_command(python, onnx_path, start_lr, out, iterations),
                          cwd=REPO, capture_output=True, text=True)
    trace = out / "trace.npz"
    acts = None
    if done.returncode == 0 and trace.is_file():
        with np.load(trace) as data:
            acts = data["acts"].astype(np.float64)
    message = (done.stderr.strip().splitlines() or [""])[-1]
    return done.returncode, acts, message


def climb(row: Row, python: str, onnx_path: Path, work: Path, ladder: list[float]) -> None:
    """Walks the ladder until a run climbs; fills the row with that run (or the last one)."""
    for start_lr in ladder:
        code, acts, message = run_act_max(python, onnx_path, start_lr, work)
        row.tried.append(start_lr)
        row.exit_code = code
        if code != 0 or acts is None:
            row.note = message[:120]
            return
        if len(acts) <= ITERATIONS:  # the run stopped early
            row.note = f"--start_lr {start_lr:g}: the trace holds {len(acts)} activations"
            row.act_before, row.act_after = float(acts[0]), None
            continue
        row.act_before, row.act_after = float(acts[0]), float(acts[ITERATIONS])
        log.info("%s %s --start_lr %g: act %.4g → %.4g", row.model, row.exporter, start_lr,
                 row.act_before, row.act_after)
        if row.act_after > row.act_before:
            row.start_lr = start_lr
            return


def check_model(name: str, python: str, work: Path, exporters: list[str],
                ladder: list[float]) -> list[Row]:
    """Both exports of one model: opset, gradient error, act_max and the climbing step."""
    model = torchvision_model(name)
    image = np.random.default_rng(0).standard_normal((1, 3, SIZE, SIZE)).astype(np.float32)
    expected, _ = torch_input_gradient(model, image, UNIT)
    torch_held: dict[float, tuple[np.ndarray, list[np.ndarray]]] = {}
    margin = min(kink_margins(copy.deepcopy(model).double(),
                              torch.from_numpy(image.astype(np.float64))).values(), default=None)
    rows, found = [], None
    for exporter in exporters:
        row, started = Row(name, MODELS.get(name, "?"), exporter), time.monotonic()
        row.kink_margin = margin
        path = work / f"{name}.{exporter}.onnx"
        try:
            row.opset = export(model, torch.from_numpy(image), exporter, path)
        except Exception as error:  # an exporter failure is a row of the table
            row.note = f"export failed: {str(error).splitlines()[0][:100]}"
            rows.append(row)
            continue
        try:
            row.grad_error = relative_error(our_input_gradient(path, image, UNIT)[0], expected)
            held = held_gradients(model, path, image, UNIT, torch_held)
            row.held_error, row.held, row.tau = held.error, held.held, held.tau
            row.paired = held.paired
        except Exception as error:  # VJPError (a missing rule), ORT errors
            row.note = f"gradient: {str(error).splitlines()[0][:100]}"
        order = ([found] if found else []) + [lr for lr in ladder if lr != found]
        climb(row, python, path, work, order)
        found = found or row.start_lr
        row.seconds = time.monotonic() - started
        path.unlink(missing_ok=True)
        log.info("%s", row)
        rows.append(row)
    return rows


def _number(value: float | None, spec: str = ".4g") -> str:
    return "–" if value is None else format(value, spec)


def table(rows: list[Row], command: str, when: str) -> str:
    """The Markdown table with its caption (date, command)."""
    lines = [f"Measured {when} with `{command}` (torch {torch.__version__}; random weights, "
             f"`weights=None` under seed 0, a zero-initialised head drawn from N(0, 0.01²): the "
             f"machine has no internet, so no ImageNet weights; "
             f"act_max with the demo generator, unit {UNIT}, activation before the first and "
             f"after {ITERATIONS} updates at the largest `--start_lr` of "
             f"{', '.join(f'{lr:g}' for lr in LADDER)} that climbs; gradient error: "
             "infinity-norm relative error of our float32 input gradient vs torch float64 "
             "autograd at a seeded image, plain and with the units within τ (relative) of a ReLU / "
             "ReLU6 / hard-swish / hard-sigmoid / max-pool kink held on both sides "
             "(tools/torch_fixtures/holds.py; units held: torch/ours at τ; *paired*: ours are "
             "exactly torch's, its kink calls pairing with the graph's kink nodes; else each "
             "side's own at the first τ of "
             f"{', '.join(f'{tau:g}' for tau in holds.TAUS)} where both hold as many): a unit within float32 noise of its kink can flip "
             "and move the plain gradient by up to ~1e-2; the smallest kink margin is torch "
             "float64's, nn modules only).", "",
             "| model | family | exporter | opset | act_max exit | climbing `--start_lr` | "
             f"act before | act after {ITERATIONS} | gradient rel. error vs torch | held: error (units) | "
             "smallest kink margin | seconds | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lr = _number(row.start_lr, "g") if row.start_lr is not None else (
            f"none of {', '.join(f'{lr:g}' for lr in row.tried)}" if row.tried else "–")
        held = (f"({row.held[0]}/{row.held[1]} at {row.tau:g}{', paired' if row.paired else ''})"
                if row.held else "")
        lines.append(f"| {row.model} | {row.family} | {row.exporter} | {_number(row.opset, 'd')} | "
                     f"{_number(row.exit_code, 'd')} | {lr} | {_number(row.act_before)} | "
                     f"{_number(row.act_after)} | {_number(row.grad_error, '.2g')} | "
                     f"{_number(row.held_error, '.2g')} {held} | "
                     f"{_number(row.kink_margin, '.1g')} | "
                     f"{row.seconds:.0f} | {row.note.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def default_python() -> str:
    """The checkout's .venv Python (relative to the repository), else this one."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), metavar="NAME",
                        help="torchvision model names (default: all %d)" % len(MODELS))
    parser.add_argument("--exporters", nargs="+", default=list(EXPORTERS), choices=EXPORTERS)
    parser.add_argument("--ladder", nargs="+", type=float, default=list(LADDER),
                        help="the --start_lr values tried, largest first")
    parser.add_argument("--python", default=default_python(),
                        help="the project's Python that runs act_max (default: .venv/bin/python)")
    parser.add_argument("--table", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("torch.onnx").setLevel(logging.WARNING)
    torch.set_num_threads(2)
    command = "python tools/torch_fixtures/check_torchvision.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="check_torchvision_") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for name in args.models:
            rows += check_model(name, args.python, work, args.exporters, args.ladder)
            text = table(rows, command, when)
            if args.table:  # rewritten after every model: a partial run still leaves a table
                args.table.write_text(text)
    print(text)
    return 0 if all(row.exit_code == 0 for row in rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
