"""Small random-weight classifiers, one per torchvision architecture family, built from
torchvision's own building blocks (needs torch and torchvision: requirements-torch.txt).

Each takes N×3×32×32 images and returns N×10 logits: a tiny stem, the family's block(s), a
global pool and a linear head. Batch-norm layers get seeded random running statistics and
affine parameters (so that they are not the identity) and every model is in eval mode.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn
from torchvision.models import convnext, densenet, efficientnet, mobilenetv3, resnet
from torchvision.models import swin_transformer, vision_transformer

SIZE = 32
CLASSES = 10


class _Classifier(nn.Module):
    """stem (conv 3→C) → body → global average pool → linear head."""

    def __init__(self, stem: nn.Module, body: nn.Module, channels: int) -> None:
        super().__init__()
        self.stem, self.body = stem, body
        self.head = nn.Linear(channels, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.body(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _stem(channels: int, *, pool: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1, bias=False),
                               nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(3, stride=2, padding=1))
    return nn.Sequential(*layers)


def resnet_block() -> nn.Module:
    """ResNet: conv stem with max-pool, a BasicBlock with a strided 1×1 downsample."""
    downsample = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
    return _Classifier(_stem(8, pool=True),
                       resnet.BasicBlock(8, 16, stride=2, downsample=downsample), 16)


def mobilenet_v3_block() -> nn.Module:
    """MobileNetV3: inverted residuals with squeeze-excitation (hard-sigmoid gate), one with
    hard-swish and a residual connection, one with ReLU and stride 2."""
    config = partial(mobilenetv3.InvertedResidualConfig, dilation=1, width_mult=1.0)
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
    body = nn.Sequential(
        mobilenetv3.InvertedResidual(config(8, 3, 24, 8, True, "HS", 1), norm),
        mobilenetv3.InvertedResidual(config(8, 5, 32, 16, True, "RE", 2), norm))
    return _Classifier(_stem(8), body, 16)


def efficientnet_block() -> nn.Module:
    """EfficientNet: MBConv blocks (SiLU, squeeze-excitation), the second with a residual."""
    norm = nn.BatchNorm2d
    body = nn.Sequential(
        efficientnet.MBConv(efficientnet.MBConvConfig(4, 3, 2, 8, 16, 1), 0.0, norm),
        efficientnet.MBConv(efficientnet.MBConvConfig(4, 5, 1, 16, 16, 1), 0.0, norm))
    return _Classifier(_stem(8), body, 16)


def densenet_block() -> nn.Module:
    """DenseNet: a _DenseBlock of 3 layers (BN-ReLU-conv1×1-BN-ReLU-conv3×3, concatenated),
    a transition (BN-ReLU-conv-avg-pool) and the final BN-ReLU."""
    block = densenet._DenseBlock(num_layers=3, num_input_features=8, bn_size=2, growth_rate=4,
                                 drop_rate=0.0)
    body = nn.Sequential(block, densenet._Transition(20, 12), nn.BatchNorm2d(12),
                         nn.ReLU(inplace=True))
    return _Classifier(_stem(8, pool=True), body, 12)


def convnext_block() -> nn.Module:
    """ConvNeXt: patchify stem (4×4 conv, channels-first LayerNorm), two CNBlocks (depthwise
    7×7, LayerNorm, MLP with GELU, layer scale)."""
    stem = nn.Sequential(nn.Conv2d(3, 16, 4, stride=4),
                         convnext.LayerNorm2d(16, eps=1e-6))
    body = nn.Sequential(convnext.CNBlock(16, 0.5, 0.0), convnext.CNBlock(16, 0.5, 0.0))
    return _Classifier(stem, body, 16)


def vit_block() -> nn.Module:
    """ViT: torchvision's VisionTransformer with a class token, 8×8 patches, 2 encoder layers."""
    return vision_transformer.VisionTransformer(image_size=SIZE, patch_size=8, num_layers=2,
                                                num_heads=2, hidden_dim=16, mlp_dim=32,
                                                num_classes=CLASSES)


class _Swin(nn.Module):
    """Swin: 4×4 patch embedding (channels-last LayerNorm), a window block and a shifted
    window block (4×4 windows over the 8×8 grid), LayerNorm, pool, head."""

    def __init__(self) -> None:
        super().__init__()
        dim = 16
        self.embed = nn.Conv2d(3, dim, 4, stride=4)
        self.embed_norm = nn.LayerNorm(dim)
        self.blocks = nn.Sequential(
            swin_transformer.SwinTransformerBlock(dim, 2, [4, 4], [0, 0], mlp_ratio=2.0),
            swin_transformer.SwinTransformerBlock(dim, 2, [4, 4], [2, 2], mlp_ratio=2.0))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed_norm(self.embed(x).permute(0, 2, 3, 1))
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=(1, 2)))


def swin_block() -> nn.Module:
    return _Swin()


FAMILIES: dict[str, Callable[[], nn.Module]] = {
    "resnet_block": resnet_block,
    "mobilenet_v3_se": mobilenet_v3_block,
    "efficientnet_mbconv": efficientnet_block,
    "densenet_block": densenet_block,
    "convnext_block": convnext_block,
    "vit_2layer": vit_block,
    "swin_block": swin_block,
}


def randomised(model: nn.Module, seed: int) -> nn.Module:
    """`model` with seeded random weights everywhere: default init under the seed, then
    batch-norm statistics and affine parameters, layer-norm affines, layer scales and the ViT
    class token / position embedding drawn so none is an identity or zero."""
    generator = torch.Generator().manual_seed(seed)

    def draw(tensor: torch.Tensor, low: float, high: float) -> None:
        with torch.no_grad():
            tensor.copy_(torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)
                         * (high - low) + low)

    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            draw(module.running_mean, -0.2, 0.2)
            draw(module.running_var, 0.5, 1.5)
            draw(module.weight, 0.5, 1.5)
            draw(module.bias, -0.2, 0.2)
        elif isinstance(module, nn.LayerNorm):
            draw(module.weight, 0.5, 1.5)
            draw(module.bias, -0.2, 0.2)
        elif isinstance(module, convnext.CNBlock):
            draw(module.layer_scale, 0.3, 0.7)
        elif isinstance(module, vision_transformer.VisionTransformer):
            draw(module.class_token, -0.5, 0.5)
            draw(module.encoder.pos_embedding, -0.1, 0.1)
            draw(module.heads.head.weight, -0.3, 0.3)  # torchvision zero-initialises it
    return model.eval()


def build(family: str, seed: int = 0) -> nn.Module:
    """The family's small model with seeded random weights, in eval mode (float32)."""
    torch.manual_seed(seed)
    return randomised(FAMILIES[family](), seed)
