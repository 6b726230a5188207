"""Pixel art: greyscale bytes to half-block cells, two pixel rows per terminal row."""

from __future__ import annotations

import random

import pytest
from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from mnist_tui.tui.pixels import UPPER_HALF, PixelArt, caption, downsample, half_block_rows, tile_grid
from tui_script import digit_image


def cells(row: list[Segment]) -> list[tuple[int, int]]:
    """A row's cells as (top grey, bottom grey): each segment is split back into its characters."""
    out: list[tuple[int, int]] = []
    for segment in row:
        assert segment.style is not None
        assert set(segment.text) == {UPPER_HALF}
        top = segment.style.color.get_truecolor()
        bottom = segment.style.bgcolor.get_truecolor()
        assert top.red == top.green == top.blue and bottom.red == bottom.green == bottom.blue
        out.extend([(top.red, bottom.red)] * len(segment.text))
    return out


def test_a_28x28_digit_becomes_14_rows_of_28_cells() -> None:
    rows = half_block_rows(bytes(range(256)) * 3 + bytes(16))
    assert len(rows) == 14
    assert all(len(cells(row)) == 28 for row in rows)


def test_the_top_pixel_is_the_foreground_and_the_bottom_pixel_the_background() -> None:
    pixels = bytearray(28 * 28)
    pixels[0 * 28 + 0] = 255  # row 0, column 0: top half of cell (0, 0)
    pixels[1 * 28 + 5] = 128  # row 1, column 5: bottom half of cell (0, 5)
    pixels[26 * 28 + 27] = 7  # row 26, column 27: top half of cell (13, 27)
    pixels[27 * 28 + 27] = 200  # row 27, column 27: bottom half of the same cell
    grid = [cells(row) for row in half_block_rows(bytes(pixels))]
    assert grid[0][0] == (255, 0)
    assert grid[0][5] == (0, 128)
    assert grid[13][27] == (7, 200)
    assert grid[5][10] == (0, 0)
    first = half_block_rows(bytes(pixels))[0][0]
    assert first.style.color == Color.from_rgb(255, 255, 255)
    assert first.style.bgcolor == Color.from_rgb(0, 0, 0)


def test_every_pixel_lands_in_its_cell() -> None:
    """A distinct grey per pixel position (mod 256): the whole grid reads back exactly."""
    width, height = 6, 4
    pixels = bytes((y * width + x) * 10 for y in range(height) for x in range(width))
    grid = [cells(row) for row in half_block_rows(pixels, width)]
    expected = [
        [(pixels[2 * r * width + x], pixels[(2 * r + 1) * width + x]) for x in range(width)]
        for r in range(height // 2)
    ]
    assert grid == expected


def test_an_odd_last_row_is_paired_with_black() -> None:
    pixels = bytes([10, 20, 30, 40, 50, 60])  # 3 rows of 2
    grid = [cells(row) for row in half_block_rows(pixels, width=2)]
    assert grid == [[(10, 30), (20, 40)], [(50, 0), (60, 0)]]


def test_neighbouring_cells_of_one_style_merge_into_one_segment() -> None:
    rows = half_block_rows(bytes(28 * 28))
    assert all(row == [Segment(UPPER_HALF * 28, row[0].style)] for row in rows)


@pytest.mark.parametrize(
    ("size", "width"),
    [(783, 28), (785, 28), (10, 0), (10, -2), (7, 2)],
)
def test_sizes_that_do_not_make_whole_rows_are_refused(size: int, width: int) -> None:
    with pytest.raises(ValueError, match="do not make rows"):
        half_block_rows(bytes(size), width)


def test_the_renderable_draws_14_lines_28_cells_wide() -> None:
    console = Console(width=40, record=True, color_system="truecolor", force_terminal=True)
    console.print(PixelArt(digit_image(7)))
    lines = console.export_text().splitlines()
    assert lines == [UPPER_HALF * 28] * 14
    assert console.measure(PixelArt(digit_image(7))).maximum == 28


def block_mean(pixels: bytes, width: int, factor: int) -> bytes:
    """The mean of each ``factor`` x ``factor`` block, pixel by pixel: what ``downsample`` means."""
    height = len(pixels) // width
    return bytes(
        round(sum(pixels[(y + dy) * width + x + dx] for dy in range(factor) for dx in range(factor)) / factor**2)
        for y in range(0, height, factor)
        for x in range(0, width, factor)
    )


@pytest.mark.parametrize(("width", "height", "factor"), [(28, 28, 2), (28, 28, 4), (28, 28, 7), (6, 4, 2), (9, 6, 3)])
def test_downsample_is_the_mean_of_each_block(width: int, height: int, factor: int) -> None:
    generator = random.Random(width * height * factor)
    for _ in range(20):
        pixels = bytes(generator.randrange(256) for _ in range(width * height))
        assert downsample(pixels, width, factor) == block_mean(pixels, width, factor)
    assert downsample(bytes([1, 2, 3, 3]), 2, 2) == bytes([2])  # 2.25 rounds down
    assert downsample(bytes([1, 2, 2, 5]), 2, 2) == bytes([2])  # 2.5 rounds to even, as round() does


def plain(segments: list[Segment]) -> str:
    return "".join(segment.text for segment in segments)


def test_a_caption_is_centred_as_rich_centres_text() -> None:
    console = Console(width=20, record=True, color_system="truecolor", force_terminal=True)
    for text, width in [("unit 3", 14), ("unit 12", 14), ("7 → 1 99% #12", 28), ("x", 2)]:
        segments = caption([(text, "")], width)
        assert plain(segments) == console.render_str(text, justify="center").plain.center(width) == text.center(width)
        lines = console.render_lines(Text(text, justify="center"), console.options.update_width(width))
        assert plain(segments) == plain(lines[0])


def test_a_long_caption_ends_in_an_ellipsis_in_the_style_of_the_piece_it_cuts() -> None:
    segments = caption([("seven", "bold"), (" → ", ""), ("one", "red"), (" 100%", "dim")], 10)
    assert plain(segments) == "seven → o…"
    assert [(s.text, s.style) for s in segments][-2:] == [("o", Style.parse("red")), ("…", Style.parse("red"))]
    rich = Text(no_wrap=True, overflow="ellipsis")
    for piece, style in (("seven", "bold"), (" → ", ""), ("one", "red"), (" 100%", "dim")):
        rich.append(piece, style=style)
    console = Console(width=10)
    assert plain(console.render_lines(rich, console.options.update_width(10))[0]) == plain(segments)
    # Cut at a piece's end: the ellipsis is the next piece's first cell, in its style, as Rich does.
    assert [(s.text, s.style) for s in caption([("abc", "bold"), ("de", "red")], 4)][-2:] == [
        ("abc", Style.parse("bold")), ("…", Style.parse("red"))
    ]


def test_a_captions_style_covers_its_padding_and_its_pieces() -> None:
    dim = Style.parse("dim")
    segments = caption([("unit 0", "")], 14, "dim")
    assert [(s.text, s.style) for s in segments] == [("    ", dim), ("unit 0", dim), ("    ", dim)]
    bold = caption([("a", "bold")], 3, "dim")
    assert bold[1].style == dim + Style.parse("bold") and bold[0].style == dim


def test_tiles_stand_in_columns_one_cell_apart_with_each_caption_under_its_art() -> None:
    art = [half_block_rows(bytes([value]) * 16, 4) for value in (0, 100, 200)]  # 4x4 pixels: 2 rows of 4 cells
    short = half_block_rows(bytes([50]) * 8, 4)  # 1 row
    tiles = [(rows, caption([(f"t{i}", "")], 4)) for i, rows in enumerate([*art, short])]
    grid = tile_grid(tiles, 4, columns=2)
    assert grid.columns == 2 and grid.width == 2 * 4 + 1
    texts = [plain(line) for line in grid.lines]
    block = UPPER_HALF * 4
    # The shorter tile beside a taller one is blank below its art; the captions share a line.
    assert texts == [f"{block} {block}"] * 2 + [" t0   t1 "] + [f"{block} {block}", f"{block}     ", " t2   t3 "]
    assert grid.lines[0][2].style == art[1][0][0].style  # the second tile's art, after the gap
    console = Console(width=30, record=True, color_system="truecolor", force_terminal=True)
    console.print(grid)
    assert console.export_text().splitlines() == texts
    assert console.measure(grid).maximum == 9
    three = tile_grid(tiles, 4, columns=3)
    assert (three.columns, three.width, len(three.lines)) == (3, 14, 3 + 2)  # the last row: one line and its caption
    assert tile_grid(tiles[:2], 4, columns=3).columns == 2
