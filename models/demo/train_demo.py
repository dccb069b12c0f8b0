"""Train the demo DGN pair on the procedural dataset and export it as Caffe files.

Usage (from the repository root; torch from requirements-extra.txt):
    .venv/bin/python -m models.demo.train_demo [--threads 1] [--work build/demo]

Stages (each checkpointed under --work, so a rerun resumes): 1. classifier (CaffeNet-style,
cross-entropy, random 56x56 crops of the 64x64 images) trained jointly with the generator
as the decoder of its fc6 code (image loss); 2. fc6 rescaled so that its 3x bound averages
about that of CaffeNet's (fc7 and the generator's defc7 rescaled inversely: outputs do not
change); 3. generator fine-tuned to invert fc6 with the DeePSiM recipe: image loss +
feature loss through the classifier (norm1, norm2, pool5) + adversarial loss from a
discriminator that sees the image and the code; 4. export (models.demo.export) and a check
of the Caffe files through the project's converter against torch (models.demo.verify_export).
Seeds are fixed and torch runs deterministic algorithms with a fixed thread count.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from common.progress import progress

from models.demo import architecture as arch
from models.demo.dataset import CLASS_NAMES, make_dataset, to_net_input
from models.demo.torch_nets import CaffeChain

log = logging.getLogger("train_demo")

INPUT_SCALE = 1 / 64.0  # training-side scale of the ±128 pixel space (folded into conv1)
OUTPUT_SCALE = 64.0  # generator's training-side output scale (folded into deconv0)
TRAIN_PER_CLASS, VAL_PER_CLASS = 800, 100
TRAIN_SEED, VAL_SEED = 0, 1
# CaffeNet's released 3x fc6 bound averages about 11.8; the demo's fc6 is scaled to match,
# so that the published step sizes move the code by comparable amounts.
TARGET_MEAN_BOUND = 12.0
# DeePSiM stops updating the discriminator while its loss is below this fraction of the
# generator's adversarial loss.
D_PAUSE_RATIO = 0.1
# Weight of the decoder's image loss while the classifier trains (see train_classifier).
RECON_WEIGHT = 1.0
# Classifier blobs of the feature loss: low-level ones keep the generator from satisfying
# the loss with adversarial high-frequency patterns (the code, fc6, is already its input).
FEATURE_BLOBS = ("norm1", "norm2", "pool5")


class Classifier(nn.Module):
    """The Caffe classifier table with the training-side input scale in front."""

    def __init__(self) -> None:
        super().__init__()
        self.chain = CaffeChain(arch.classifier_layers(len(CLASS_NAMES)), "data",
                                (1, 3, arch.CLASSIFIER_INPUT, arch.CLASSIFIER_INPUT))

    def forward(self, data: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.chain(data * INPUT_SCALE)


class Generator(nn.Module):
    """The Caffe generator table with the training-side output scale behind."""

    def __init__(self) -> None:
        super().__init__()
        self.chain = CaffeChain(arch.generator_layers(), "feat", (1, arch.FC6_SIZE))
        # He initialisation for leaky ReLU 0.3 (zero biases): with torch's default the
        # signal shrinks layer after layer and the generator learns many times slower.
        for module in self.chain.modules_by_name.values():
            fan = "fan_out" if isinstance(module, nn.ConvTranspose2d) else "fan_in"
            nn.init.kaiming_normal_(module.weight, a=arch.LEAKY_SLOPE, mode=fan,
                                    nonlinearity="leaky_relu")
            nn.init.zeros_(module.bias)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.chain(feat)["deconv0"] * OUTPUT_SCALE


class Discriminator(nn.Module):
    """DeePSiM-style discriminator: conv features of the image joined with the code."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 64, 4, 2, 1),
            nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(128, 128, 3, 2, 1), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1),
            nn.Flatten())
        self.code = nn.Sequential(nn.Linear(arch.FC6_SIZE, 128), nn.LeakyReLU(0.2))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(256, 1))

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.image(image * INPUT_SCALE),
                            self.code(code / TARGET_MEAN_BOUND)], 1)
        return self.head(joined).squeeze(1)


def to_caffe_space(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x RGB -> float N x 3 x H x W BGR minus the pixel mean (uncropped)."""
    return torch.from_numpy(to_net_input(images, images.shape[1], arch.PIXEL_MEAN))


def centre(images: torch.Tensor) -> torch.Tensor:
    """The classifier's centre crop of 64x64 images (the driver's crop)."""
    top = (images.shape[-1] - arch.CLASSIFIER_INPUT) // 2
    return images[..., top:top + arch.CLASSIFIER_INPUT, top:top + arch.CLASSIFIER_INPUT]


def random_crops(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 56x56 crops with random horizontal flips (training augmentation)."""
    n, size = images.shape[0], arch.CLASSIFIER_INPUT
    offsets = torch.randint(0, images.shape[-1] - size + 1, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    crops = torch.stack([images[i, :, y:y + size, x:x + size]
                         for i, (y, x) in enumerate(offsets.tolist())])
    return torch.where(flips[:, None, None, None], crops.flip(-1), crops)


def accuracy(classifier: Classifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy on centre crops."""
    classifier.eval()
    with torch.no_grad():
        logits = torch.cat([classifier(centre(chunk))["fc8"] for chunk in images.split(256)])
    return float((logits.argmax(1) == labels).float().mean())


def train_classifier(train: tuple, val: tuple, epochs: int,
                     gen: torch.Generator) -> tuple[Classifier, Generator]:
    """Classifier trained jointly with the generator as the decoder of its fc6 code.

    Loss: cross-entropy + RECON_WEIGHT x image loss (the decoded image's centre against the
    crop the classifier saw), decoded from fc6 after relu6 (before drop6). Without the decoder, fc6 of a classifier trained on random
    colours and places keeps little but the class, and no generator can draw an image
    from it. Adam with weight decay, learning rates cosine-decayed to zero.
    """
    images, labels = train
    classifier, decoder = Classifier(), Generator()
    opt = torch.optim.Adam([{"params": classifier.parameters(), "lr": 2e-3},
                            {"params": decoder.parameters(), "lr": 5e-4}], weight_decay=1e-4)
    steps = epochs * (len(labels) // 64)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    bar = progress(total=steps, desc="classifier + decoder")
    for epoch in range(epochs):
        classifier.train()
        order = torch.randperm(len(labels), generator=gen)
        for batch in order[:len(order) // 64 * 64].split(64):
            crops = random_crops(images[batch], gen)
            blobs = classifier(crops)
            loss_ce = F.cross_entropy(blobs["fc8"], labels[batch])
            loss_img = F.mse_loss(centre(decoder(blobs["after relu6"])) * INPUT_SCALE,
                                  crops * INPUT_SCALE)
            loss = loss_ce + RECON_WEIGHT * loss_img
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update()
            bar.set_postfix(ce=f"{loss_ce.item():.3f}", img=f"{loss_img.item():.3f}")
        log.info("epoch %d: held-out accuracy %.4f", epoch, accuracy(classifier, *val))
    bar.close()
    return classifier, decoder


def fc6_codes(classifier: Classifier, images: torch.Tensor) -> torch.Tensor:
    """fc6 after a full forward (after relu6, test-time dropout) of the centre crops."""
    classifier.eval()
    with torch.no_grad():
        return torch.cat([classifier(centre(chunk))["fc6"] for chunk in images.split(256)])


def rescale_fc6(classifier: Classifier, decoder: Generator, images: torch.Tensor) -> float:
    """Scale fc6 (weights, bias) by s, fc7's and defc7's weights by 1/s: same outputs, and
    the 3x bound (mean + 3 std of fc6 over the images) averages TARGET_MEAN_BOUND."""
    codes = fc6_codes(classifier, images)
    factor = TARGET_MEAN_BOUND / float((codes.mean(0) + 3 * codes.std(0)).mean())
    layers = classifier.chain.modules_by_name
    with torch.no_grad():
        layers["fc6"].weight *= factor
        layers["fc6"].bias *= factor
        layers["fc7"].weight /= factor
        decoder.chain.modules_by_name["defc7"].weight /= factor
    return factor


def train_generator(classifier: Classifier, generator: Generator, images: torch.Tensor,
                    steps: int,
                    gen: torch.Generator, weights: tuple[float, float, float],
                    feature_blobs: tuple[str, ...] = FEATURE_BLOBS) -> Generator:
    """Fine-tunes the decoder with DeePSiM's losses on the frozen classifier's codes:
    image loss + feature loss (classifier blobs) + GAN loss."""
    w_img, w_feat, w_adv = weights
    classifier.eval()
    for p in classifier.parameters():
        p.requires_grad_(False)
    disc = Discriminator()
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt_g, steps)
    with torch.no_grad():
        sample = classifier(centre(images[:512]))
        feat_scale = {b: float(sample[b].var()) for b in feature_blobs}
    last_adv = 0.0
    bar = progress(range(steps), desc="generator")
    for _ in bar:
        batch = torch.randint(0, len(images), (32,), generator=gen)
        real = images[batch]
        flips = torch.rand(len(batch), generator=gen) < 0.5
        real = torch.where(flips[:, None, None, None], real.flip(-1), real)
        with torch.no_grad():
            real_blobs = classifier(centre(real))
        code = real_blobs["fc6"]
        fake = generator(code)
        # discriminator step
        d_real, d_fake = disc(real, code), disc(fake.detach(), code)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        if loss_d.item() > D_PAUSE_RATIO * last_adv:  # DeePSiM: pause a too-strong D
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        # generator step
        fake_blobs = classifier(centre(fake))
        loss_img = F.mse_loss(fake * INPUT_SCALE, real * INPUT_SCALE)
        loss_feat = sum(F.mse_loss(fake_blobs[b], real_blobs[b]) / s
                        for b, s in feat_scale.items())
        d_out = disc(fake, code)
        loss_adv = F.binary_cross_entropy_with_logits(d_out, torch.ones_like(d_out))
        loss_g = w_img * loss_img + w_feat * loss_feat + w_adv * loss_adv
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        sched.step()
        last_adv = loss_adv.item()
        bar.set_postfix(img=f"{loss_img.item():.4f}", feat=f"{loss_feat.item():.3f}",
                        adv=f"{loss_adv.item():.2f}", d=f"{loss_d.item():.2f}")
    return generator


def caffe_weights(classifier: Classifier, generator: Generator) -> tuple[dict, dict]:
    """Both nets' Caffe blobs with the training-side scales folded in."""
    cls_blobs = classifier.chain.caffe_blobs()
    cls_blobs["conv1"][0] = cls_blobs["conv1"][0] * np.float32(INPUT_SCALE)
    gen_blobs = generator.chain.caffe_blobs()
    gen_blobs["deconv0"] = [b * np.float32(OUTPUT_SCALE) for b in gen_blobs["deconv0"]]
    return cls_blobs, gen_blobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("build/demo"),
                        help="checkpoint folder (default build/demo)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="export folder (default models/demo)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: fastest on a shared machine; part of the recipe)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--gen-steps", type=int, default=1000)
    parser.add_argument("--feature-blobs", nargs="+", default=list(FEATURE_BLOBS))
    parser.add_argument("--loss-weights", type=float, nargs=3, default=(1.0, 1.0, 0.05),
                        metavar=("IMG", "FEAT", "ADV"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    n = len(CLASS_NAMES)
    train_np = make_dataset(n * TRAIN_PER_CLASS, TRAIN_SEED)
    val_np = make_dataset(n * VAL_PER_CLASS, VAL_SEED)
    train = (to_caffe_space(train_np[0]), torch.from_numpy(train_np[1]))
    val = (to_caffe_space(val_np[0]), torch.from_numpy(val_np[1]))
    log.info("dataset: %d train, %d held-out images (%.0f s)", len(train[1]), len(val[1]),
             time.time() - started)

    cls_path, dec_path = args.work / "classifier.pt", args.work / "decoder.pt"
    classifier, decoder = Classifier(), Generator()
    if cls_path.is_file() and dec_path.is_file():
        classifier.load_state_dict(torch.load(cls_path))
        decoder.load_state_dict(torch.load(dec_path))
    else:
        classifier, decoder = train_classifier(train, val, args.epochs, gen)
        factor = rescale_fc6(classifier, decoder, train[0])
        log.info("fc6 rescaled by %.4f", factor)
        torch.save(classifier.state_dict(), cls_path)
        torch.save(decoder.state_dict(), dec_path)
    val_acc = accuracy(classifier, *val)
    log.info("classifier held-out accuracy %.4f (%.0f s)", val_acc, time.time() - started)

    gen_path = args.work / "generator.pt"
    generator = Generator()
    if gen_path.is_file():
        generator.load_state_dict(torch.load(gen_path))
    else:
        generator = train_generator(classifier, decoder, train[0], args.gen_steps, gen,
                                    tuple(args.loss_weights), tuple(args.feature_blobs))
        torch.save(generator.state_dict(), gen_path)
    log.info("generator done (%.0f s)", time.time() - started)

    codes = fc6_codes(classifier, train[0]).double().numpy()
    cls_blobs, gen_blobs = caffe_weights(classifier, generator)
    np.savez(args.work / "weights.npz", codes=codes,
             **{f"cls/{k}/{i}": v for k, b in cls_blobs.items() for i, v in enumerate(b)},
             **{f"gen/{k}/{i}": v for k, b in gen_blobs.items() for i, v in enumerate(b)})
    from models.demo.export import export_demo
    export_demo(args.out, cls_blobs, gen_blobs, codes)
    from models.demo.verify_export import max_relative_errors
    for blob, error in max_relative_errors(args.out, classifier, generator, codes).items():
        log.info("Caffe files via ONNX vs torch, %s: max relative error %.2e", blob, error)
    log.info("exported to %s (total %.0f s)", args.out, time.time() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
