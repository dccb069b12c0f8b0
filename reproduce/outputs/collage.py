"""Labelled collages with Pillow, in the layout of the release's ImageMagick calls.

Each panel gets a 10 px white band and a 30 pt caption below it (`convert -splice 0x10` and
`label:`); panels are tiled with a 1 px gap (`montage -geometry +1+1`) and the outer border is
trimmed.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from reproduce.outputs.images import write_image_atomic

BAND = 10
FONT_SIZE = 30
GAP = 1
RELEASE_WIDTH = 227  # the size the release's 30 pt captions and 10 px band go with
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)


def caption_font(size: int = FONT_SIZE) -> ImageFont.ImageFont:
    """A sans-serif font at `size` points (DejaVu Sans when installed, else Pillow's own)."""
    for font_file in FONT_FILES:
        if Path(font_file).is_file():
            return ImageFont.truetype(font_file, size)
    return ImageFont.load_default(size=size)


def scaled(size: int, image_width: int) -> int:
    """A caption size or band for images of this width, in the release's proportion to 227 px."""
    return max(2, round(size * min(image_width, RELEASE_WIDTH) / RELEASE_WIDTH))


def labelled_panel(image: np.ndarray, label: str, font: ImageFont.ImageFont) -> Image.Image:
    """The image over a white band and its centred caption."""
    picture = Image.fromarray(image)
    band, font_size = scaled(BAND, picture.width), scaled(FONT_SIZE, picture.width)
    left, top, right, bottom = font.getbbox(label)
    text_height = max(bottom, font_size)
    panel = Image.new("RGB", (max(picture.width, right - left),
                              picture.height + band + text_height + band // 2), "white")
    panel.paste(picture, ((panel.width - picture.width) // 2, 0))
    ImageDraw.Draw(panel).text(((panel.width - (right - left)) // 2 - left, picture.height + band),
                               label, fill="black", font=font)
    return panel


def tile(panels: Sequence[Image.Image], columns: int) -> Image.Image:
    """Panels in rows of `columns`, 1 px apart on white, no outer border."""
    width = max(panel.width for panel in panels)
    height = max(panel.height for panel in panels)
    rows = -(-len(panels) // columns)
    used_columns = min(columns, len(panels))
    sheet = Image.new("RGB", (used_columns * (width + GAP) - GAP, rows * (height + GAP) - GAP), "white")
    for index, panel in enumerate(panels):
        row, column = divmod(index, columns)
        sheet.paste(panel, (column * (width + GAP), row * (height + GAP)))
    return sheet


def write_collage(path: str | Path, images: Sequence[np.ndarray], labels: Sequence[str], *,
                  columns: int | None = None, crop: tuple[int, int, int] | None = None,
                  min_panel_size: int = 0) -> Path:
    """Writes the labelled collage (JPEG, or PNG by suffix); crop = (top, left, size) per image.

    Images smaller than `min_panel_size` are enlarged by a whole factor (nearest neighbour)
    for display only; the result images saved beside the collage are untouched.
    """
    if crop is not None:
        top, left, size = crop
        images = [image[top:top + size, left:left + size] for image in images]
    smallest = min(min(image.shape[:2]) for image in images)
    factor = max(1, -(-min_panel_size // smallest))
    if factor > 1:
        images = [image.repeat(factor, axis=0).repeat(factor, axis=1) for image in images]
    font = caption_font(scaled(FONT_SIZE, min(image.shape[1] for image in images)))
    panels = [labelled_panel(np.ascontiguousarray(image), label, font)
              for image, label in zip(images, labels, strict=True)]
    sheet = tile(panels, columns or len(panels))
    write_image_atomic(path, np.asarray(sheet))
    return Path(path)
