"""Training-side tool: the published DGN-AM loop in torch, for tuning the demo pair.

Follows docs/method.md ("One run") batched over units: normalised gradient
step on the cropped image, the change pushed back through the generator to the code,
normalised step on the code, clipping to [0, 3x bound], L2 decay. The project's own
driver (reproduce/) is what measures the shipped results (tests/test_demo.py); this checks
a freshly trained checkpoint in torch before export and helps try step sizes.

    .venv/bin/python -m models.demo.torch_act_max [--work build/demo] [--lr 8] [--iters 200]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from models.demo import architecture as arch
from models.demo.dataset import CLASS_NAMES
from models.demo.train_demo import Classifier, Generator


def _normalised(grad: torch.Tensor) -> torch.Tensor:
    """grad / mean(|grad|) per sample (a zero gradient stays zero)."""
    scale = grad.abs().flatten(1).mean(1).clamp_min(1e-30)
    return grad / scale.view(-1, *[1] * (grad.dim() - 1))


def act_max(classifier: Classifier, generator: Generator, units: list[int],
            upper: np.ndarray, n_iters: int, lr_start: float, lr_end: float = 1e-10,
            l2: float = 0.99, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (result crops B x 3 x 56 x 56, their fc8 rows) for each unit."""
    classifier.eval()
    generator.eval()
    np.random.seed(seed)
    start = np.random.normal(0, 1, (1, arch.FC6_SIZE)).astype(np.float32)
    code = torch.from_numpy(np.repeat(start, len(units), 0))
    upper_t = torch.from_numpy(upper.astype(np.float32))
    top = (arch.GENERATOR_OUTPUT - arch.CLASSIFIER_INPUT) // 2
    window = (slice(None), slice(None), slice(top, top + arch.CLASSIFIER_INPUT),
              slice(top, top + arch.CLASSIFIER_INPUT))
    index = torch.arange(len(units))
    unit_t = torch.tensor(units)
    best = None
    for i in range(n_iters):
        step = lr_start + (lr_end - lr_start) * i / n_iters
        code_var = code.clone().requires_grad_(True)
        image = generator(code_var)
        crop = image[window].detach().requires_grad_(True)
        acts = classifier(crop)["fc8"]
        acts[index, unit_t].sum().backward()
        best = crop.detach().clone()
        moved = crop.detach() + step * _normalised(crop.grad)
        diff = torch.zeros_like(image)
        diff[window] = moved - crop.detach()
        image.backward(diff)
        code = code + step * _normalised(code_var.grad)
        code = torch.minimum(code.clamp_min(0), upper_t) * l2
    with torch.no_grad():
        final = classifier(best)["fc8"]
    return best, final


def collage(crops: torch.Tensor, path: Path) -> None:
    """One row of result crops, saved the release's way (clip ±120, stretch), 1 px gaps."""
    from PIL import Image
    tiles = []
    for crop in crops.numpy():
        rgb = np.clip(crop[::-1].transpose(1, 2, 0), -120, 120)
        a = (rgb - rgb.min()) * (255 / max(rgb.max() - rgb.min(), 1e-12))
        tiles.append(np.pad(np.uint8(np.clip(a, 0, 255) + 0.5), ((0, 0), (0, 1), (0, 0)),
                            constant_values=255))
    Image.fromarray(np.concatenate(tiles, 1)).resize(
        (len(tiles) * 57 * 2, 112), Image.NEAREST).save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("build/demo"))
    parser.add_argument("--lr", type=float, default=8.0)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--l2", type=float, default=0.99)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--collage", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    classifier, generator = Classifier(), Generator()
    classifier.load_state_dict(torch.load(args.work / "classifier.pt"))
    generator.load_state_dict(torch.load(args.work / "generator.pt"))
    codes = np.load(args.work / "weights.npz")["codes"]
    upper = codes.mean(0) + 3 * codes.std(0)
    units = list(range(len(CLASS_NAMES)))
    crops, acts = act_max(classifier, generator, units, upper, args.iters, args.lr,
                          l2=args.l2, seed=args.seed)
    hits = (acts.argmax(1) == torch.tensor(units)).tolist()
    for unit, hit, row in zip(units, hits, acts):
        print(f"{unit:2d} {CLASS_NAMES[unit]:13s} hit={hit} act={row[unit]:.2f} "
              f"top={CLASS_NAMES[int(row.argmax())]}")
    print(f"hit rate {sum(hits)}/{len(hits)}")
    if args.collage:
        collage(crops, args.collage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
