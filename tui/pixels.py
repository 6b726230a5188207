"""Pixel art in the terminal: two pixel rows per cell with the upper half block.

A pure function from pixels to rich segments (as ``rich-pixels`` renders images), with a tiny
renderable on top. The foreground colour paints the upper pixel, the background the lower one.
"""

from __future__ import annotations

import functools
from typing import Iterable

from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

UPPER_HALF = "\u2580"


def _grey(value: int) -> tuple[int, int, int]:
    return value, value, value


NEGATIVE, POSITIVE = (64, 140, 255), (255, 150, 30)
"""The diverging palette's two ends: blue below zero, orange above."""


def _diverging(value: int) -> tuple[int, int, int]:
    """Byte 128 is zero (black); 0 and 255 are the largest negative and positive values."""
    share = min(abs(value - 128) / 127, 1.0)
    end = NEGATIVE if value < 128 else POSITIVE
    return tuple(round(channel * share) for channel in end)  # type: ignore[return-value]


PALETTES = {"grey": _grey, "diverging": _diverging}
"""Byte to colour: greyscale digits (0 black, 255 white), or weights around zero (128)."""


@functools.lru_cache(maxsize=65536)
def _pair_style(top: int, bottom: int, palette: str = "grey") -> Style:
    colour = PALETTES[palette]
    return Style(color=Color.from_rgb(*colour(top)), bgcolor=Color.from_rgb(*colour(bottom)))


def half_block_rows(pixels: bytes, width: int = 28, palette: str = "grey") -> list[list[Segment]]:
    """One list of segments per terminal row: ``width`` cells each covering two pixel rows.

    ``pixels`` are row-major bytes coloured by ``palette`` (grey: 0 black, 255 white). An odd
    last pixel row is paired with byte 0.
    """
    if width <= 0 or len(pixels) % width:
        raise ValueError(f"{len(pixels)} pixels do not make rows of {width}")
    height = len(pixels) // width
    rows: list[list[Segment]] = []
    for y in range(0, height, 2):
        top = pixels[y * width : (y + 1) * width]
        bottom = pixels[(y + 1) * width : (y + 2) * width] if y + 1 < height else bytes(width)
        rows.append(_merge(Segment(UPPER_HALF, _pair_style(t, b, palette)) for t, b in zip(top, bottom)))
    return rows


def _merge(segments: Iterable[Segment]) -> list[Segment]:
    """Join neighbouring cells of the same style into one segment (fewer segments to draw)."""
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].style == segment.style:
            merged[-1] = Segment(merged[-1].text + segment.text, segment.style)
        else:
            merged.append(segment)
    return merged


def downsample(pixels: bytes, width: int, factor: int) -> bytes:
    """Mean of each ``factor`` x ``factor`` block: a 28x28 digit becomes 14x14 with ``factor=2``."""
    if factor == 1:
        return pixels
    height = len(pixels) // width
    if width % factor or height % factor:
        raise ValueError(f"{width}x{height} pixels do not split into {factor}x{factor} blocks")
    out = bytearray()
    for y in range(0, height, factor):
        for x in range(0, width, factor):
            block = [pixels[(y + dy) * width + x + dx] for dy in range(factor) for dx in range(factor)]
            out.append(round(sum(block) / len(block)))
    return bytes(out)


class PixelArt:
    """A rich renderable of greyscale pixels, ``width`` cells wide and half as many rows high."""

    def __init__(self, pixels: bytes, width: int = 28, palette: str = "grey") -> None:
        self.width = width
        self._rows = half_block_rows(pixels, width, palette)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for row in self._rows:
            yield from row
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)
