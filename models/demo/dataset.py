"""A deterministic procedural image dataset for the demo DGN pair (no downloads).

Twelve classes of shapes, patterns and simple objects, drawn with NumPy at 2x
supersampling (anti-aliased edges) on 64x64 RGB images. Every image varies in position,
scale, rotation, foreground colour and background (solid, gradient or smooth blotches),
plus mild pixel noise. Image `i` of a set with seed `s` depends only on (s, i): it is drawn
from its own `np.random.default_rng([s, i])`, so any subset can be regenerated exactly.

Training uses seed 0, validation seed 1; tests draw fresh held-out images from other seeds.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

IMAGE_SIZE = 64
SUPERSAMPLE = 2

CLASS_NAMES = (
    "circle", "square", "triangle", "star", "cross", "ring",
    "heart", "crescent", "stripes", "checkerboard", "polka dots", "house",
)

# A mask function maps local coordinates (u, v) (shape units: the shape spans about
# [-1, 1], v pointing down) to a boolean inside-mask.
MaskFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _polygon(u: np.ndarray, v: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test for the closed polygon `points` (n x 2, (u, v))."""
    inside = np.zeros(u.shape, dtype=bool)
    for (u0, v0), (u1, v1) in zip(points, np.roll(points, -1, axis=0)):
        crosses = (v0 > v) != (v1 > v)
        u_at = u0 + (v - v0) * (u1 - u0) / np.where(v1 == v0, 1.0, v1 - v0)
        inside ^= crosses & (u < u_at)
    return inside


def _regular_star(n_tips: int, inner: float) -> np.ndarray:
    """Vertices of a star (inner < 1) or regular polygon (inner = 1), first tip up."""
    angles = -np.pi / 2 + np.arange(2 * n_tips) * np.pi / n_tips
    radii = np.where(np.arange(2 * n_tips) % 2 == 0, 1.0, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


_TRIANGLE = _regular_star(3, 0.5)[::2]
_STAR = _regular_star(5, 0.42)
_HOUSE_ROOF = np.array([[-0.95, -0.05], [0.95, -0.05], [0.0, -0.95]])


def _circle(u, v):
    return u * u + v * v <= 1.0


def _square(u, v):
    return np.maximum(np.abs(u), np.abs(v)) <= 0.8


def _triangle(u, v):
    return _polygon(u, v * 1.0 + 0.15, _TRIANGLE * 1.15)


def _star(u, v):
    return _polygon(u, v, _STAR)


def _cross(u, v):
    au, av = np.abs(u), np.abs(v)
    return ((au <= 0.3) & (av <= 0.95)) | ((av <= 0.3) & (au <= 0.95))


def _ring(u, v):
    rho2 = u * u + v * v
    return (rho2 <= 1.0) & (rho2 >= 0.55 ** 2)


def _heart(u, v):
    x, y = 1.25 * u, -1.25 * v + 0.25
    return (x * x + y * y - 1.0) ** 3 - x * x * y ** 3 <= 0.0


def _crescent(u, v):
    return _circle(u, v) & ((u - 0.5) ** 2 + (v + 0.15) ** 2 > 0.8 ** 2)


def _house(u, v):
    body = (np.abs(u) <= 0.7) & (v >= -0.1) & (v <= 0.95)
    door = (np.abs(u) <= 0.17) & (v >= 0.45)
    return (body & ~door) | _polygon(u, v, _HOUSE_ROOF)


SHAPE_MASKS: dict[int, MaskFn] = {
    0: _circle, 1: _square, 2: _triangle, 3: _star, 4: _cross, 5: _ring,
    6: _heart, 7: _crescent, 11: _house,
}


def _stripes(x, y, period, rng):
    return np.sin(2 * np.pi * x / period + rng.uniform(0, 2 * np.pi)) > 0


def _checkerboard(x, y, period, rng):
    px, py = rng.uniform(0, period, 2)
    return (np.floor((x + px) / period) + np.floor((y + py) / period)) % 2 == 0


def _polka_dots(x, y, period, rng):
    px, py = rng.uniform(0, period, 2)
    dx = np.mod(x + px, period) - period / 2
    dy = np.mod(y + py, period) - period / 2
    return dx * dx + dy * dy <= (0.3 * period) ** 2


# Pattern classes fill the whole image; (x, y) are rotated pixel coordinates.
PATTERN_MASKS = {8: _stripes, 9: _checkerboard, 10: _polka_dots}
PATTERN_PERIOD = {8: (9.0, 18.0), 9: (10.0, 20.0), 10: (11.0, 20.0)}
# Objects with a natural "up" only tilt a little; the rest rotate freely.
UPRIGHT = {6: 25.0, 11: 20.0, 2: 180.0}


LUMA = np.array([0.299, 0.587, 0.114])


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Foreground colour and two background colours, any hue, the foreground always
    clearly brighter than the background (a figure the class code can imply: a generator
    cannot guess colours the classifier ignores, but it can draw a bright shape on dark)."""
    while True:
        fg, bg_a, bg_b = rng.uniform(0, 255, (3, 3))
        if fg @ LUMA - max(bg_a @ LUMA, bg_b @ LUMA) > 60:
            return fg, bg_a, bg_b


def _background(rng: np.random.Generator, bg_a: np.ndarray, bg_b: np.ndarray,
                size: int) -> np.ndarray:
    """Solid, linear gradient or smooth blotches between two colours (size x size x 3)."""
    kind = rng.integers(3)
    if kind == 0:
        weight = np.zeros((size, size))
    elif kind == 1:
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
        weight = np.clip(0.5 + xx * np.cos(angle) + yy * np.sin(angle), 0, 1)
    else:
        coarse = rng.uniform(0, 1, (4, 4))
        idx = np.linspace(0, 3, size)
        i0 = np.minimum(idx.astype(int), 2)
        frac = idx - i0
        rows = coarse[i0] * (1 - frac)[:, None] + coarse[i0 + 1] * frac[:, None]
        weight = rows[:, i0] * (1 - frac) + rows[:, i0 + 1] * frac
    return bg_a * (1 - weight[..., None]) + bg_b * weight[..., None]


def _coverage(label: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """Anti-aliased foreground coverage in [0, 1] (size x size) for one drawn instance."""
    fine = size * SUPERSAMPLE
    yy, xx = (np.mgrid[0:fine, 0:fine] + 0.5) / SUPERSAMPLE
    max_tilt = UPRIGHT.get(label, 180.0)
    theta = np.deg2rad(rng.uniform(-max_tilt, max_tilt))
    cos, sin = np.cos(theta), np.sin(theta)
    if label in PATTERN_MASKS:
        period = rng.uniform(*PATTERN_PERIOD[label])
        xr = xx * cos + yy * sin
        yr = -xx * sin + yy * cos
        mask = PATTERN_MASKS[label](xr, yr, period, rng)
    else:
        radius = rng.uniform(0.24, 0.38) * size
        cx, cy = rng.uniform(0.36 * size, 0.64 * size, 2)
        dx, dy = (xx - cx) / radius, (yy - cy) / radius
        mask = SHAPE_MASKS[label](dx * cos + dy * sin, -dx * sin + dy * cos)
    return mask.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))


def make_image(seed: int, index: int, size: int = IMAGE_SIZE) -> tuple[np.ndarray, int]:
    """Image `index` of the set drawn with `seed`: (size x size x 3 uint8 RGB, label).

    Labels cycle through the classes (label = index mod number of classes), so any
    prefix of a set is class-balanced.
    """
    label = index % len(CLASS_NAMES)
    rng = np.random.default_rng([seed, index])
    fg, bg_a, bg_b = _colours(rng)
    background = _background(rng, bg_a, bg_b, size)
    cover = _coverage(label, rng, size)[..., None]
    image = background * (1 - cover) + fg * cover + rng.normal(0, 4.0, (size, size, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), label


def make_dataset(count: int, seed: int, size: int = IMAGE_SIZE,
                 start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images `start .. start+count-1` of set `seed`: (N x size x size x 3 uint8, N labels)."""
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    labels = np.empty(count, dtype=np.int64)
    for offset in range(count):
        images[offset], labels[offset] = make_image(seed, start + offset, size)
    return images, labels


def to_net_input(images_rgb: np.ndarray, crop: int, mean: float) -> np.ndarray:
    """N x H x W x 3 uint8 RGB -> N x 3 x crop x crop float32 BGR minus `mean`, centre crop.

    The demo classifier's input space, like a Caffe net's: BGR, mean-subtracted pixels.
    """
    top = (images_rgb.shape[1] - crop) // 2
    window = images_rgb[:, top:top + crop, top:top + crop, ::-1]
    return np.ascontiguousarray(window.transpose(0, 3, 1, 2), dtype=np.float32) - mean
