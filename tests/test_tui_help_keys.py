"""The help scrolls from the keyboard as soon as it opens, as one region. Driven by Pilot with the
scripted source (no torch)."""

from __future__ import annotations

import pytest
from textual.widget import Widget

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.help_screen import HelpScreen
from tui_script import ScriptedSource, press, run_async, wait_until

pytestmark = pytest.mark.timeout(60)


def scrolling(screen: HelpScreen) -> list[Widget]:
    """The help's widgets that scroll (a region with content past its height)."""
    return [widget for widget in screen.query("*") if widget.max_scroll_y > 0 or widget.max_scroll_x > 0]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@run_async
async def test_the_keys_scroll_the_whole_help_as_soon_as_it_opens(size: tuple[int, int]) -> None:
    """On a fresh app, down, page down, end and space moved nothing until tab focused the help."""
    app = MnistApp(load_preset("smoke"), source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=size) as pilot:
        await press(pilot, "question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        await wait_until(pilot, lambda: bool(scrolling(help_screen)), what="the help laid out, taller than its box")
        (box,) = scrolling(help_screen)  # one scroll region: the key table scrolls with the prose
        page = box.scrollable_content_region.height

        async def scrolls(key: str, to: float) -> None:
            await press(pilot, key)  # paging scrolls smoothly: wait for where it settles
            await wait_until(pilot, lambda: box.scroll_y == to, timeout=3, what=f"{key} scrolling to {to} ({box.scroll_y})")

        end = box.max_scroll_y
        await scrolls("down", 1)
        await scrolls("pagedown", min(1 + page, end))
        await scrolls("home", 0)
        await scrolls("space", min(page, end))
        await scrolls("pageup", 0)
        await scrolls("end", end)
        await scrolls("up", end - 1)

        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)
        await press(pilot, "question_mark")  # opened again, the keys still scroll it
        assert app.screen is help_screen
        await scrolls("home", 0)
        await scrolls("down", 1)


def test_the_help_says_e_sets_the_runs_settings_in_the_dashboard_too() -> None:
    """It said ``e`` was watch's: at 80x24 the dashboard's form hides during a run, and ``e`` is the way to steer."""
    from mnist_tui.tui.help_screen import help_text

    text = help_text()
    (row,) = [line for line in text.splitlines() if line.startswith("| `e` |")]
    assert "during a run" in row and "watch" not in row
    assert "it hides during a run: `e` sets them there" in " ".join(text.split())
