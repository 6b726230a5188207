"""The form's field being typed in stays in view in the scrolled sidebar, its error under it.
Driven by Pilot with the scripted source (no torch)."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widget import Widget

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import ConfigForm
from tui_script import ScriptedSource, run_async, wait_until

pytestmark = pytest.mark.timeout(60)


def in_view(widget: Widget, sidebar: Widget) -> bool:
    """Whether ``widget`` shows whole in the sidebar's scrolled window."""
    return bool(widget.region) and sidebar.scrollable_content_region.contains_region(widget.region)


@pytest.mark.parametrize(("name", "typed", "size"), [
    ("weight_decay", "x", (120, 40)),
    ("epochs", "abc", (120, 40)),
])
@run_async
async def test_the_field_typed_in_stays_in_view_with_its_error(name: str, typed: str, size: tuple[int, int]) -> None:
    """Scrolled to be the sidebar's top row, clicked and typed in: smoke's four-line description
    above became the three of "smoke, edited: ...", and the field went out of sight above, only its
    error showing."""
    app = MnistApp(load_preset("smoke"), source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=size) as pilot:
        sidebar = app.query_one("#sidebar")
        field = app.query_one(f"#field-{name}")
        row = field.parent
        assert isinstance(row, Widget)
        await pilot.pause()
        sidebar.scroll_to(y=row.virtual_region.y, animate=False)
        await wait_until(pilot, lambda: row.region.y == sidebar.scrollable_content_region.y, what="the row on top")

        await pilot.click(field)
        await pilot.press("end", *typed)
        form = app.query_one(ConfigForm)
        await wait_until(pilot, lambda: (line := form.error_line(name)) is not None and line.display and bool(line.region), what="the error shown")
        error = app.query_one(f"#error-{name}")
        await pilot.pause()
        assert app.focused is field
        assert in_view(field, sidebar), (field.region, sidebar.scrollable_content_region)
        assert in_view(error, sidebar), (error.region, sidebar.scrollable_content_region)
        assert error.region.y > field.region.y


@run_async
async def test_an_error_under_the_bottom_row_scrolls_into_view_as_it_is_typed() -> None:
    """The field on the sidebar's last row: its error, appearing under it, was out of sight."""
    app = MnistApp(load_preset("smoke"), source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        sidebar = app.query_one("#sidebar")
        field = app.query_one("#field-batch_size")
        row = field.parent
        assert isinstance(row, Widget)
        await pilot.pause()
        window: Region = sidebar.scrollable_content_region
        sidebar.scroll_to(y=row.virtual_region.bottom - window.height, animate=False)
        await wait_until(pilot, lambda: row.region.bottom == window.bottom, what="the row at the bottom")

        await pilot.click(field)
        await pilot.press("end", "x")
        form = app.query_one(ConfigForm)
        await wait_until(
            pilot, lambda: (error := form.error_line("batch_size")) is not None and in_view(error, sidebar), timeout=3, what="the error in view"
        )
        assert in_view(field, sidebar)
