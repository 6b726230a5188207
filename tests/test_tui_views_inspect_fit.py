"""The Inspect view's panes grow with the terminal (QA: at 160x50 they kept their 120x40 sizes and
left the room empty), keep their 120x40 and 80x24 layouts, and lay their content out again when
the terminal changes size (shown or hidden meanwhile)."""

from __future__ import annotations

import pytest
from rich.console import Group
from rich.table import Table

from mnist_tui.tui.class_bars import BAR, ClassBars
from mnist_tui.tui.confusion_grid import CELL, LABEL, ConfusionGrid
from mnist_tui.tui.inspect_view import InspectView
from mnist_tui.tui.laid_lines import LaidLines
from mnist_tui.tui.mistake_cards import CARD, MistakeCards
from mnist_tui.tui.pixels import TileGrid
from mnist_tui.tui.weight_tiles import TILE, WeightTiles
from test_tui_inspect import finished_run, make_app
from tui_script import run_async, wait_until

pytestmark = pytest.mark.timeout(60)


def grid_columns(widget: MistakeCards | WeightTiles) -> int:
    """Columns of the cards or tiles the widget shows now."""
    if isinstance(widget, WeightTiles):
        assert widget.grid is not None
        return widget.grid.columns
    (grid,) = (part for part in widget.content.renderables if isinstance(part, TileGrid))  # type: ignore[union-attr]
    return grid.columns


def bar_length(bars: ClassBars) -> int:
    table = bars.content
    assert isinstance(table, Table)
    return len(str(table.columns[1]._cells[1]).splitlines()[0])


async def inspect_cell(pilot, app) -> None:  # type: ignore[no-untyped-def]
    """A finished run in the Inspect view, the mistakes of 5 taken for 8 shown."""
    await finished_run(pilot, app)
    await pilot.press("2")
    grid = app.query_one(ConfusionGrid)
    await wait_until(pilot, lambda: app.focused is grid, what="the grid to take the focus")
    grid.cursor = (5, 8)
    await pilot.press("enter")
    await pilot.pause()


@run_async
async def test_at_160x50_the_grid_bars_and_weights_take_the_room() -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await inspect_cell(pilot, app)
        grid, bars = app.query_one(ConfusionGrid), app.query_one(ClassBars)
        mistakes, weights = app.query_one(MistakeCards), app.query_one(WeightTiles)
        box = app.query_one("#confusion-box")
        assert (grid.cell, grid.lines) == (8, 2), "wider cells, two lines a row"
        assert box.outer_size == (LABEL + 8 * 10 + 2, 1 + 2 * 10 + 2)
        assert bars.outer_size.height == box.outer_size.height and bar_length(bars) > 2 * BAR
        # Each class's bar is level with its row of counts.
        assert bars.content_region.y == grid.content_region.y
        assert mistakes.outer_size.width == box.outer_size.width, "the mistakes line up under the grid"
        assert weights.region.right == bars.region.right and grid_columns(weights) >= 4
        assert (mistakes.size.width + 1) // (CARD + 1) >= 3, "a row of three cards"
        assert mistakes.region.bottom <= app.query_one("#inspect-scroll").region.bottom, "on screen, under the taller grid"
        # QA: the weights' tiles ran past the screen's bottom; they scroll within their pane.
        assert weights.outer_size.height == mistakes.outer_size.height
        assert weights.region.bottom <= app.query_one("#inspect-scroll").region.bottom
        assert weights.virtual_size.height <= weights.size.height, "its 8 tiles in view"
        room = app.query_one("#inspect-scroll").scrollable_content_region
        for pane in (box, bars, mistakes, weights):
            assert pane.region.right <= room.right, f"{pane.id} within the screen"

        # A click lands on the cell it hits, on either of its lines.
        await pilot.click(ConfusionGrid, offset=(LABEL + 3 * 8 + 4, 1 + 2 * 2 + 1))
        assert grid.cursor == (2, 3)


@run_async
async def test_at_120x40_and_80x24_the_panes_keep_their_layouts() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inspect_cell(pilot, app)
        grid, box = app.query_one(ConfusionGrid), app.query_one("#confusion-box")
        view, weights = app.query_one(InspectView), app.query_one(WeightTiles)
        assert (grid.cell, grid.lines) == (CELL, 1) and box.outer_size == (LABEL + CELL * 10 + 2, 13)
        assert not view.has_class("-narrow") and weights.outer_size.width == 49
        assert app.query_one(MistakeCards).region.right == weights.region.x

        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        assert view.has_class("-narrow") and (grid.cell, grid.lines) == (CELL, 1)
        assert app.query_one(ClassBars).region.y > box.region.bottom - 1, "stacked, one above the other"
        assert weights.outer_size.width == app.query_one(MistakeCards).outer_size.width


@run_async
async def test_cards_and_tiles_are_laid_out_again_for_a_narrower_terminal() -> None:
    """Shrunk from 160x50, the mistakes kept three squeezed 28-column cards in a 66-column pane."""
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await inspect_cell(pilot, app)
        mistakes, weights = app.query_one(MistakeCards), app.query_one(WeightTiles)
        wide = grid_columns(weights)
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert grid_columns(weights) == (weights.size.width + 1) // (TILE + 1) < wide
        assert isinstance(mistakes.content, Group) and grid_columns(mistakes) <= (mistakes.size.width + 1) // (CARD + 1)


@run_async
async def test_a_resize_while_the_view_is_hidden_sizes_its_panes_for_when_it_is_shown() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await finished_run(pilot, app)
        await pilot.resize_terminal(160, 50)  # Train shown, Inspect hidden
        await pilot.pause(0.2)
        await pilot.press("2")
        await pilot.pause(0.2)
        grid = app.query_one(ConfusionGrid)
        assert (grid.cell, grid.lines) == (8, 2)
        assert app.query_one(MistakeCards).outer_size.width == app.query_one("#confusion-box").outer_size.width


@run_async
async def test_tiles_past_the_pane_s_height_scroll_into_view() -> None:
    """The pane's lines are drawn from the top, and past its height they scroll (as a Static of a
    Rich group, the tiles beyond its height were cut off)."""
    from tui_script import layers, weights

    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await inspect_cell(pilot, app)
        tiles = app.query_one(WeightTiles)
        lines = tiles.query_one(LaidLines)
        tiles.show(weights("many", 1, units=32), layers("many", 1))
        await pilot.pause()
        assert tiles.grid is not None and tiles.grid.columns == 4
        # The table, a gap and the legend, then 8 rows of tiles with their captions.
        assert lines.size.height == tiles.virtual_size.height == 4 + 8 * (7 + 1) > tiles.scrollable_content_region.height

        def shown() -> list[str]:
            """The lines in view, as the screen shows them."""
            top, height = round(tiles.scroll_y), tiles.scrollable_content_region.height
            return ["".join(segment.text for segment in lines.render_line(y)) for y in range(top, top + height)]

        assert "layer" in shown()[0] and not any("unit 31" in line for line in shown())
        tiles.scroll_end(animate=False)
        await pilot.pause()
        assert tiles.scroll_y == tiles.max_scroll_y > 0
        assert "unit 28" in shown()[-1] and "unit 31" in shown()[-1]
        assert all(len(line) == lines.size.width for line in shown())
