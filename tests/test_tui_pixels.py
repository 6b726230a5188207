"""Pixel art: greyscale bytes to half-block cells, two pixel rows per terminal row."""

from __future__ import annotations

import pytest
from rich.color import Color
from rich.console import Console
from rich.segment import Segment

from mnist_tui.tui.pixels import UPPER_HALF, PixelArt, half_block_rows
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
