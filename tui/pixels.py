"""Pixel art in the terminal: two pixel rows per cell with the upper half block.

A pure function from pixels to rich segments (as ``rich-pixels`` renders images), with a tiny
renderable on top. The foreground colour paints the upper pixel, the background the lower one.

Grids of such images (the Inspect view's weight tiles and mistake cards) are laid out here too,
straight into lines of segments (:func:`tile_grid`): a Rich ``Table`` of pixel-art cells took
30 ms to lay out 32 tiles, and Textual renders a widget's content twice for each change (once to
measure its height, once to paint it), so an epoch's new tiles cost the UI thread over 100 ms.
"""

from __future__ import annotations

import functools
import operator
from typing import Sequence

from rich.cells import cell_len, set_cell_size
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

_COLOURS = {name: [colour(value) for value in range(256)] for name, colour in PALETTES.items()}
"""Each palette's colour of every byte, looked up per cell."""


@functools.lru_cache(maxsize=1024)
def _colour(rgb: tuple[int, int, int]) -> Color:
    """One Rich ``Color`` per colour (``Color.from_rgb`` took most of a new cell style's 5 us)."""
    return Color.from_rgb(*rgb)


@functools.lru_cache(maxsize=65536)
def _pair_style(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    """The one style of a cell's (upper, lower) colours: cells of equal colours share it, so that
    neighbours merge by identity (a Rich ``Style`` compares equal at 3 us a call)."""
    return Style(color=_colour(top), bgcolor=_colour(bottom))


_PAIRS: dict[str, dict[int, Style]] = {name: {} for name in PALETTES}
"""Each palette's style of a cell by its two bytes (upper << 8 | lower): one dict lookup a cell,
where the colours' cache hashed two colour tuples (32 tiles of weights took 8 ms a row of them).
At most 65,536 entries a palette."""


def half_block_rows(pixels: bytes, width: int = 28, palette: str = "grey") -> list[list[Segment]]:
    """One list of segments per terminal row: ``width`` cells each covering two pixel rows.

    ``pixels`` are row-major bytes coloured by ``palette`` (grey: 0 black, 255 white). An odd
    last pixel row is paired with byte 0. Neighbouring cells of one style are one segment.
    """
    if width <= 0 or len(pixels) % width:
        raise ValueError(f"{len(pixels)} pixels do not make rows of {width}")
    colours = _COLOURS[palette]
    pairs = _PAIRS[palette]
    height = len(pixels) // width
    rows: list[list[Segment]] = []
    for y in range(0, height, 2):
        top = pixels[y * width : (y + 1) * width]
        bottom = pixels[(y + 1) * width : (y + 2) * width] if y + 1 < height else bytes(width)
        row: list[Segment] = []
        last: Style | None = None
        cells = 0
        for upper, lower in zip(top, bottom):
            style = pairs.get(upper << 8 | lower)
            if style is None:
                style = pairs[upper << 8 | lower] = _pair_style(colours[upper], colours[lower])
            if style is last:
                cells += 1
                continue
            if cells:
                row.append(Segment(UPPER_HALF * cells, last))
            last, cells = style, 1
        row.append(Segment(UPPER_HALF * cells, last))
        rows.append(row)
    return rows


@functools.lru_cache(maxsize=8)
def _means(area: int) -> bytes:
    """The rounded mean of every sum of ``area`` bytes, by the sum (``round``, half to even)."""
    return bytes(round(total / area) for total in range(255 * area + 1))


def _added(parts: list[Sequence[int]]) -> list[int]:
    """The element-wise sum of equally long ``parts``."""
    total = list(parts[0])
    for part in parts[1:]:
        total = list(map(operator.add, total, part))
    return total


def downsample(pixels: bytes, width: int, factor: int) -> bytes:
    """Mean of each ``factor`` x ``factor`` block: a 28x28 digit becomes 14x14 with ``factor=2``."""
    if factor == 1:
        return pixels
    height = len(pixels) // width
    if width % factor or height % factor:
        raise ValueError(f"{width}x{height} pixels do not split into {factor}x{factor} blocks")
    means = _means(factor * factor)
    out = bytearray()
    for y in range(0, height, factor):
        # Each column's sum over the block's rows, then every factor-th column's added up.
        columns = _added([pixels[row * width : (row + 1) * width] for row in range(y, y + factor)])
        out.extend(map(means.__getitem__, _added([columns[dx::factor] for dx in range(factor)])))
    return bytes(out)


class Block:
    """A rich renderable of ready lines of segments, ``width`` cells wide: nothing left to lay out."""

    def __init__(self, lines: list[list[Segment]], width: int) -> None:
        self.lines = lines
        self.width = width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        newline = Segment.line()
        for line in self.lines:
            yield from line
            yield newline

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)


class PixelArt(Block):
    """A rich renderable of greyscale pixels, ``width`` cells wide and half as many rows high."""

    def __init__(self, pixels: bytes, width: int = 28, palette: str = "grey") -> None:
        super().__init__(half_block_rows(pixels, width, palette), width)


def caption(pieces: Sequence[tuple[str, str]], width: int, style: str = "") -> list[Segment]:
    """``pieces`` of (text, style) centred in ``width`` cells, cut with an ellipsis where longer,
    as a centred, ``no_wrap`` Rich ``Text`` of ``style`` with ``overflow="ellipsis"`` shows."""
    size = sum(cell_len(piece) for piece, _ in pieces)
    if size > width:
        kept: list[tuple[str, str]] = []
        start = 0
        for piece, own in pieces:
            if start + cell_len(piece) >= width:  # the piece the ellipsis ends, in its style
                kept += [(set_cell_size(piece, width - 1 - start), own), ("…", own)]
                break
            kept.append((piece, own))
            start += cell_len(piece)
        pieces, size = kept, width
    base = Style.parse(style) if style else None
    left = (width - size) // 2
    segments = [Segment(" " * left, base)] if left else []
    segments += [Segment(piece, (base or Style()) + Style.parse(own) if own else base) for piece, own in pieces if piece]
    if width - left - size:
        segments.append(Segment(" " * (width - left - size), base))
    return segments


class TileGrid(Block):
    """Tiles laid out in ``columns``, as :func:`tile_grid` makes them."""

    def __init__(self, lines: list[list[Segment]], width: int, columns: int) -> None:
        super().__init__(lines, width)
        self.columns = columns


def tile_grid(tiles: Sequence[tuple[list[list[Segment]], list[Segment]]], tile_width: int, columns: int) -> TileGrid:
    """Tiles of (rows of pixel art, caption line), ``columns`` to a row one cell apart, each caption under its art."""
    gap = Segment(" ")
    blank = [Segment(" " * tile_width)]
    lines: list[list[Segment]] = []
    for start in range(0, len(tiles), columns):
        row = tiles[start : start + columns]
        height = max(len(rows) for rows, _ in row)
        for y in [*range(height), -1]:  # -1: the captions
            line: list[Segment] = []
            for index, (rows, under) in enumerate(row):
                if index:
                    line.append(gap)
                line += under if y < 0 else rows[y] if y < len(rows) else blank
            lines.append(line)
    shown = min(columns, len(tiles))
    return TileGrid(lines, shown * tile_width + max(0, shown - 1), shown)
