"""A drawn or scanned digit prepared as MNIST's were, so the model sees what it was trained on.

MNIST's digits were scaled, keeping their aspect, so that their bounding box fits 20x20 (with
anti-aliasing, which gives the grey edges), then placed in a 28x28 field so that their centre of
mass falls on the field's centre: in the training set every digit's centre of mass lies in
[13.5, 14.5) on both axes (pixel 14, within half a pixel: they were moved by whole pixels). :func:`prepare_digit` does
the same to a canvas or an image of any size; :func:`load_image` reads an image file as ink.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

FIELD = 28
BOX = 20
CENTRE = 14
INK = 0.1
"""Ink below this (of 1) is left out of the bounding box: faint noise must not widen it."""
MIN_CONTRAST = 0.2
"""An image whose strongest ink is this little above its background is blank."""
MAX_SIDE = 1024
"""Larger images are shrunk to this first (a digit needs no more)."""


class NoDigit(ValueError):
    """Nothing to classify: the canvas or image holds no ink."""


class ImageError(ValueError):
    """An image file that cannot be read; the message names the file."""


def prepare_digit(pixels: Any) -> bytes:
    """784 greyscale bytes (28x28, white ink on black) from ink values, as MNIST prepared its digits.

    ``pixels``: a 2-D grid of any size (nested sequences or an array) of ink in [0, 1] (bytes
    0-255 when its dtype is uint8), or square ``bytes``. A grid without ink raises :class:`NoDigit`.
    """
    ink = _as_ink(pixels)
    rows = np.flatnonzero((ink > INK).any(axis=1))
    columns = np.flatnonzero((ink > INK).any(axis=0))
    if rows.size == 0:
        raise NoDigit("nothing to classify: the canvas is empty")
    crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    fitted = _fit(crop)
    height, width = fitted.shape
    total = float(fitted.sum())
    ys, xs = np.indices(fitted.shape)
    centre_y, centre_x = float((fitted * ys).sum()) / total, float((fitted * xs).sum()) / total
    # Whole-pixel moves that leave the centre of mass in [13.5, 14.5), as in MNIST; kept inside
    # the field (a very lopsided digit cannot be centred fully).
    top = min(max(math.ceil(CENTRE - 0.5 - centre_y), 0), FIELD - height)
    left = min(max(math.ceil(CENTRE - 0.5 - centre_x), 0), FIELD - width)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + height, left : left + width] = fitted
    return np.rint(field * 255).astype(np.uint8).tobytes()


def _as_ink(pixels: Any) -> np.ndarray:
    if isinstance(pixels, (bytes, bytearray)):
        side = math.isqrt(len(pixels))
        if side == 0 or side * side != len(pixels):
            raise ValueError(f"pixels as bytes must be a square image, not {len(pixels)} bytes")
        return np.frombuffer(bytes(pixels), dtype=np.uint8).reshape(side, side).astype(np.float32) / 255
    array = np.asarray(pixels)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"pixels must be a 2-D grid, not of shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255
    ink = array.astype(np.float32)
    if not np.isfinite(ink).all():
        raise ValueError("pixels must be finite numbers")
    return ink.clip(0.0, 1.0)


def _fit(crop: np.ndarray) -> np.ndarray:
    """``crop`` scaled, aspect kept, so that its longer side is 20 pixels (area averaging when shrinking)."""
    from PIL import Image

    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    shrink = scale < 1
    resampling = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    fitted = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize(size, resampling), dtype=np.float32)
    return fitted.clip(0.0, 1.0)


def load_image(path: str | Path) -> np.ndarray:
    """An image file (PNG, JPEG, PGM and whatever else Pillow reads) as ink in [0, 1].

    White on black or black on white is told by the border (paper is the border's median), the
    background is taken away and the strongest ink scaled to 1. Transparent parts count as paper
    that contrasts with the ink (white under dark strokes, black under light ones). An unreadable or missing file raises :class:`ImageError`.
    """
    from PIL import Image, UnidentifiedImageError

    source = Path(path)
    if not source.is_file():
        why = "no such file" if not source.exists() else "a folder" if source.is_dir() else "not a regular file"
        raise ImageError(f"{source}: {why}")
    try:
        with Image.open(source) as image:
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            grey = _greyscale(image)
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise ImageError(f"{source}: not an image Pillow can read ({error})") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        raise ImageError(f"{source}: cannot read the image ({error})") from None
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 0.5:  # dark ink on light paper
        grey, border = 1.0 - grey, 1.0 - border
    background = float(np.median(border))
    peak = float(grey.max())
    if peak - background < MIN_CONTRAST:
        return np.zeros_like(grey)
    return ((grey - background) / (peak - background)).clip(0.0, 1.0)


def _greyscale(image: Any) -> np.ndarray:
    """Brightness in [0, 1] of an open Pillow image."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit PGM and PNG, float TIFF
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max())
        return values / top if top > 0 else values
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        # Paper that contrasts with what is drawn: white under dark ink, black under light ink
        # (white strokes on a transparent layer vanished on white paper: "the image is blank").
        values = np.asarray(rgba, dtype=np.float32) / 255
        alpha = values[..., 3]
        shown = float(alpha.sum())
        ink = float((values[..., :3].mean(axis=2) * alpha).sum() / shown) if shown else 0.0
        level = 0 if ink > 0.5 else 255
        paper = Image.new("RGBA", rgba.size, (level, level, level, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255
