"""A drawn or scanned digit prepared as MNIST's were, so the model sees what it was trained on.

MNIST's digits were scaled, keeping their aspect, so that their bounding box fits 20x20 (with
anti-aliasing, which gives the grey edges), then placed in a 28x28 field so that their centre of
mass falls on the field's centre: in the training set every digit's centre of mass lies in
[13.5, 14.5) on both axes (pixel 14, within half a pixel: they were moved by whole pixels). :func:`prepare_digit` does
the same to a canvas or an image of any size; :func:`load_image` reads an image file (up to
:data:`MAX_PIXELS`, upright as its EXIF orientation says) as ink.
"""

from __future__ import annotations

import math
import struct
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import paths

FIELD = 28
BOX = 20
CENTRE = 14
INK = 0.1
"""Ink below this (of 1) is left out of the bounding box: faint noise must not widen it."""
MIN_CONTRAST = 0.1
"""The least an image's strongest ink may differ from its paper (of full brightness, 1) for it to
be read as a digit. Faint digits above it read as well as dark ones (a light-grey pencil 7, 0.18 on
white; red on blue, 0.18 in grey). It is kept above the noise of a blank 280x280 scan, whose
brightest speck stands 0.04 above the paper at a noise of 3 of 255 and 0.08 at 5 (refused), 0.13
at 8 (classified, as any mark would be)."""
STROKE = 1.9
"""The median stroke width of MNIST's training digits, in pixels of the 20x20 box (:func:`stroke_width`;
measured over 5,000 of them: 10 % are thinner than 1.4, 10 % wider than 2.7)."""
THIN_STROKE = 1.4
"""Strokes of an image thinner than this once fitted (as thin as MNIST's thinnest tenth) are grown to :data:`STROKE`."""
MAX_SIDE = 1024
"""Larger images are shrunk to this first (a digit needs no more)."""
MAX_PIXELS = 200_000_000
"""Larger images are refused before they are decoded.

The biggest photos phones take fit (200-megapixel modes save 16320x12240; most phones 4000x3000 to
8000x6000), and memory stays bounded, since a PNG of a few hundred kilobytes can hold 20000x20000
pixels. At this size a JPEG takes about 100 MB to read (Pillow decodes it at an eighth of its
size), an opaque PNG 0.8 GB and 3 s, a PNG with transparency 1.6 GB and 7 s (measured on two
cores). Pillow's own limit would warn past 89 million pixels and refuse past 179 million, a
200-megapixel photo among them.
"""


class NoDigit(ValueError):
    """Nothing to classify: the canvas or image holds no ink, or too faint a one (the message says which)."""


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
    crop = _thickened(ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1])
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


def stroke_width(ink: np.ndarray) -> float:
    """The ink's mean stroke width in pixels: twice its area over its outline's length (a stroke of
    width w and length L has area wL and an outline of 2L + 2w)."""
    solid = ink > 0.5
    outline = (
        np.count_nonzero(solid[1:] != solid[:-1]) + np.count_nonzero(solid[:, 1:] != solid[:, :-1])
        + np.count_nonzero(solid[0]) + np.count_nonzero(solid[-1])
        + np.count_nonzero(solid[:, 0]) + np.count_nonzero(solid[:, -1])
    )
    return 2 * float(ink.sum()) / outline if outline else 0.0


def _thickened(crop: np.ndarray) -> np.ndarray:
    """A large image's strokes widened, where they would come out thinner than MNIST's once fitted.

    MNIST's strokes are about :data:`STROKE` pixels wide in the 20x20 box. A pen line of 3 pixels
    in a 1000-pixel photo shrinks to a tenth of a pixel there: a faint trace, which the model read
    as nothing (a near-even guess, with no word of why). Such strokes are grown (a running maximum,
    rows then columns) to that width first. A canvas (at most 28x28) is left as drawn."""
    height, width = crop.shape
    longest = max(height, width)
    if longest <= 2 * BOX:
        return crop
    scale = BOX / longest
    drawn = stroke_width(crop)
    if drawn * scale >= THIN_STROKE:
        return crop
    grow = round((STROKE / scale - drawn) / 2)  # pixels added on each side
    if grow < 1:
        return crop
    padded = np.pad(crop, 2 * grow)  # the window of output pixel i is padded[i : i + 2 * grow + 1]
    rows = padded.copy()
    for shift in range(1, 2 * grow + 1):
        np.maximum(rows[: -shift or None], padded[shift:], out=rows[: -shift or None])
    grown = rows.copy()
    for shift in range(1, 2 * grow + 1):
        np.maximum(grown[:, : -shift or None], rows[:, shift:], out=grown[:, : -shift or None])
    return grown[: height + 2 * grow, : width + 2 * grow]


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
    that contrasts with the ink (white under dark strokes, black under light ones). The image is
    turned upright as its EXIF orientation says, as viewers show it. An unreadable or missing file,
    or one of more than :data:`MAX_PIXELS` pixels, raises :class:`ImageError`. A blank image (no
    ink at all) comes back as zeros, which :func:`prepare_digit` refuses; one whose ink differs
    from its paper by less than :data:`MIN_CONTRAST` raises :class:`NoDigit`, naming the file and
    the contrast measured.
    """
    from PIL import Image, UnidentifiedImageError

    source = Path(path)
    if not paths.is_file(source):
        if paths.exists(source):
            why = "a folder" if paths.is_dir(source) else "not a regular file"
        else:
            why = paths.absent(source).replace("does not exist", "no such file")
        raise ImageError(f"{source}: {why}")
    try:
        with _size_limit_of_ours(), Image.open(source) as image:  # opening reads the header only
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"{source}: the image is {width}x{height} pixels ({width * height:,}); "
                    f"images of more than {MAX_PIXELS:,} pixels are not read"
                )
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            grey = _greyscale(_upright(image))
    except ImageError:
        raise
    except UnidentifiedImageError as error:
        raise ImageError(f"{source}: not an image Pillow can read ({error})") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        raise ImageError(f"{source}: cannot read the image ({error})") from None
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    dark_ink = bool(np.median(border) > 0.5)  # dark ink on light paper
    if dark_ink:
        grey, border = 1.0 - grey, 1.0 - border
    background = float(np.median(border))
    contrast = float(grey.max()) - background
    if contrast <= 0:  # no ink at all
        return np.zeros_like(grey)
    if contrast < MIN_CONTRAST:
        raise NoDigit(f"{source}: nothing to classify: {_too_faint(contrast, dark_ink=dark_ink)}")
    return ((grey - background) / contrast).clip(0.0, 1.0)


def _too_faint(contrast: float, *, dark_ink: bool) -> str:
    """Why an image of this contrast (its strongest ink less its paper, of 1) is not read, and what to do."""
    ink = "darker ink on the light paper" if dark_ink else "lighter ink on the dark background"
    return (
        f"the digit has too little contrast with its background ({math.floor(contrast * 1000) / 10:.1f} % of full "
        f"brightness; at least {MIN_CONTRAST * 100:.0f} % is needed): raise the image's contrast, or use {ink}"
    )


_PILLOW_LIMIT = threading.Lock()


@contextmanager
def _size_limit_of_ours() -> Iterator[None]:
    """Pillow's decompression-bomb limit lifted (MAX_PIXELS is checked instead) and its warnings kept off stderr.

    Its limit is a module global, restored afterwards; the lock keeps two readers from restoring
    each other's value. Lifted, an image too large for us still opens (lazily), so the refusal can
    name its size, which Pillow's error does not.
    """
    from PIL import Image

    with _PILLOW_LIMIT, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's warnings name its own files: noise to a user
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _upright(image: Any) -> Any:
    """``image`` as viewers show it: turned as its EXIF orientation says (phones store photos sideways)."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(image)
    except (SyntaxError, TypeError, ValueError, struct.error):  # damaged EXIF data, which viewers ignore too
        return image


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
