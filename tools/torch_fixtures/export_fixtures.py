"""Writes tests/fixtures/torch/: each family of families.py exported with both of torch's ONNX
exporters, with torch's float64 numbers for a fixed input (run where torch exists:
tools/torch_fixtures/README.md).

Per family F and exporter E (`torchscript`: torch.onnx.export(dynamo=False) at opset 17, the
step graph's; `dynamo`: torch.onnx.export(dynamo=True) at its default opset):

- `F.E.onnx`: the model with its weights embedded, input `image` (1×3×32×32), output `logits`;
- `F.npz` (shared by both exporters): `image` (float32), `cotangent` (float32, 1×10), and from
  the same weights in float64: `logits` and `image_grad` = cotangent · d logits / d image;
- `index.json`: per fixture the files, the activation tensor (`logits`), the exporter, the
  opset, the smallest relative kink margin (null: the model has no kink), and the
  torch/torchvision/onnx versions.

Kinks: a ReLU (ReLU6, hard-swish, hard-sigmoid) input within float32 rounding of a kink, or a
max-pool window whose two largest inputs are that close, has no well-defined derivative and a
float32 run may take the other side. The image seed is chosen (from `seed` upward) so that in
float64 every such input is at least KINK_MARGIN × (the tensor's largest magnitude) away from
every kink: then no decision can flip in float32 and the suite compares at 1e-5 without
holding any unit (the suite checks the same margins on ONNX Runtime's own float32 values).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.torch_fixtures import families, holds  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "torch"
EXPORTERS = ("torchscript", "dynamo")
TORCHSCRIPT_OPSET = 17
KINK_MARGIN = 1e-5
INPUT_NAME, OUTPUT_NAME = "image", "logits"
log = logging.getLogger("torch_fixtures")


def export(model: nn.Module, example: torch.Tensor, exporter: str, path: Path) -> int:
    """Exports `model` to `path` (weights embedded); returns the file's standard opset."""
    import onnx
    kwargs = dict(input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    if exporter == "torchscript":
        torch.onnx.export(model, (example,), str(path), dynamo=False,
                          opset_version=TORCHSCRIPT_OPSET, do_constant_folding=True, **kwargs)
    else:
        program = torch.onnx.export(model, (example,), dynamo=True, external_data=False,
                                    optimize=True, **kwargs)
        program.save(str(path), external_data=False)
    model_proto = onnx.load(str(path))
    if _drop_stack_traces(model_proto):
        onnx.save(model_proto, str(path))
    onnx.checker.check_model(model_proto)
    return next(o.version for o in model_proto.opset_import if o.domain in ("", "ai.onnx"))


STACK_TRACE = "pkg.torch.onnx.stack_trace"


def _drop_stack_traces(model_proto) -> int:
    """Removes the dynamo exporter's per-node Python stack traces (they hold the absolute paths
    of the exporting machine's checkout and venv, so the files would differ by where they were
    made); returns how many were removed."""
    removed = 0
    for graph_nodes in [model_proto.graph.node, *(function.node for function in model_proto.functions)]:
        for node in graph_nodes:
            kept = [prop for prop in node.metadata_props if prop.key != STACK_TRACE]
            removed += len(node.metadata_props) - len(kept)
            del node.metadata_props[:]
            node.metadata_props.extend(kept)
    return removed


def _relative(distance: torch.Tensor, tensor: torch.Tensor) -> float:
    scale = float(tensor.abs().max()) or 1.0
    return float(distance.min()) / scale if distance.numel() else math.inf


def _maxpool_gap(module: nn.MaxPool2d, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Per window: largest − second largest input (holds.maxpool_gaps); windows tied at 0
    (ReLU zeros, whose gradient the ReLU before stops whichever wins) are left out."""
    pad_h, pad_w = holds._pair(module.padding, 0)
    largest, gap = holds.maxpool_gaps(x, module.kernel_size, module.stride or module.kernel_size,
                                      (pad_h, pad_w, pad_h, pad_w), tuple(out.shape[2:]))
    return gap[(gap != 0) | (largest != 0)]


def kink_margins(model: nn.Module, image: torch.Tensor) -> dict[str, float]:
    """Module name → smallest relative distance of its input from a kink (float64 forward)."""
    margins: dict[str, float] = {}
    hooks = []

    def note(name: str, margin: float) -> None:
        margins[name] = min(margin, margins.get(name, math.inf))

    def before(name: str, module: nn.Module):  # before: in-place ReLUs overwrite their input
        def record(_module, inputs):
            x = inputs[0].detach()
            if isinstance(module, nn.ReLU):  # exact zeros (structural) are no decision
                note(name, _relative(x[x != 0].abs(), x))
            elif isinstance(module, nn.ReLU6):
                note(name, _relative(torch.minimum(x.abs(), (x - 6).abs())[x != 0], x))
            else:  # Hardswish, Hardsigmoid: kinks at ±3
                note(name, _relative(torch.minimum((x - 3).abs(), (x + 3).abs()), x))
        return record

    def after(name: str, module: nn.MaxPool2d):  # after: the window count is the output's
        def record(_module, inputs, output):
            x = inputs[0].detach()
            note(name, _relative(_maxpool_gap(module, x, output), x))
        return record

    for name, module in model.named_modules():
        if isinstance(module, nn.MaxPool2d):
            hooks.append(module.register_forward_hook(after(name, module)))
        elif isinstance(module, (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid)):
            hooks.append(module.register_forward_pre_hook(before(name, module)))
    with torch.no_grad():
        model(image)
    for handle in hooks:
        handle.remove()
    return margins


def reference(model: nn.Module, image: np.ndarray, cotangent: np.ndarray) -> dict[str, np.ndarray]:
    """torch float64: logits and cotangent · d logits / d image."""
    x = torch.from_numpy(image.astype(np.float64)).requires_grad_(True)
    logits = model(x)
    logits.backward(torch.from_numpy(cotangent.astype(np.float64)))
    return {"logits": logits.detach().numpy(), "image_grad": x.grad.numpy()}


def kink_free_image(model: nn.Module, seed: int, tries: int = 200) -> tuple[np.ndarray, int, float]:
    """The first seeded image (seed, seed + 1, ...) whose every kink margin is ≥ KINK_MARGIN;
    returns it, its seed and its smallest margin."""
    for image_seed in range(seed, seed + tries):
        image = np.random.default_rng(image_seed).standard_normal(
            (1, 3, families.SIZE, families.SIZE)).astype(np.float32)
        margins = kink_margins(model, torch.from_numpy(image.astype(np.float64)))
        smallest = min(margins.values(), default=math.inf)
        if smallest >= KINK_MARGIN:
            return image, image_seed, smallest
    raise RuntimeError(f"no image seed in [{seed}, {seed + tries}) keeps every kink margin ≥ {KINK_MARGIN}")


def versions() -> dict[str, str]:
    import onnx
    import torchvision
    return {"torch": torch.__version__, "torchvision": torchvision.__version__,
            "onnx": onnx.__version__, "numpy": np.__version__}


def write_family(family: str, out: Path, seed: int) -> list[dict]:
    """Both exports of one family and its reference numbers; its index entries."""
    model = families.build(family, seed)
    model64 = families.build(family, seed).double()
    image, image_seed, margin = kink_free_image(model64, 1000 * seed)
    cotangent = np.random.default_rng(image_seed + 1).standard_normal(
        (1, families.CLASSES)).astype(np.float32)
    np.savez_compressed(out / f"{family}.npz", image=image, cotangent=cotangent,
                        **reference(model64, image, cotangent))
    entries = []
    for exporter in EXPORTERS:
        path = out / f"{family}.{exporter}.onnx"
        opset = export(model, torch.from_numpy(image), exporter, path)
        entries.append({"family": family, "exporter": exporter, "onnx": path.name,
                        "numbers": f"{family}.npz", "input": INPUT_NAME, "activation": OUTPUT_NAME,
                        "opset": opset, "model_seed": seed, "image_seed": image_seed,
                        "kink_margin": margin if math.isfinite(margin) else None, "bytes": path.stat().st_size})
        log.info("%s %s: opset %d, %d bytes, kink margin %.2g", family, exporter, opset,
                 path.stat().st_size, margin)
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--families", nargs="+", default=list(families.FAMILIES),
                        choices=list(families.FAMILIES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("torch.onnx").setLevel(logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    index_path = args.out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {"fixtures": []}
    kept = [e for e in index["fixtures"] if e["family"] not in args.families]
    for family in args.families:
        kept += write_family(family, args.out, args.seed)
    order = list(families.FAMILIES)
    kept.sort(key=lambda e: (order.index(e["family"]), EXPORTERS.index(e["exporter"])))
    index = {"written_by": "tools/torch_fixtures/export_fixtures.py", "versions": versions(),
             "kink_margin_required": KINK_MARGIN, "fixtures": kept}
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
