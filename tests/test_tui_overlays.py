"""What stands over or beside the panes: notifications over the help, and scrollbars beside views
taller than the terminal. Driven by Pilot with the scripted source (no torch)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Awaitable, Callable

import pytest
from rich.style import Style
from textual.color import Color, rgb_to_lab
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.help_screen import HelpScreen
from mnist_tui.tui.runs_table import RunsTable
from test_tui_runs import write_run
from tui_script import ScriptedSource, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)
VISIBLE = 10.0
"""Colours this far apart (CIE76 ΔE) tell apart at a glance on a dark background; black beside
the dashboard's #121212 is 5.5 apart, and read as no colour at all."""


def toasts(screen: Screen) -> list[Widget]:
    """The notifications shown on ``screen``."""
    return [toast for toast in screen.query("Toast") if toast.region]


def shown_colour(style: Style) -> Color:
    """The colour a terminal cell of ``style`` shows (its foreground where it is reversed)."""
    colour = style.color if style.reverse else style.bgcolor
    assert colour is not None and colour.triplet is not None, style
    return Color(*colour.triplet)


def distance(a: Color, b: Color) -> float:
    """How far apart two colours look (CIE76 ΔE)."""
    la, lb = rgb_to_lab(a), rgb_to_lab(b)
    return math.dist((la.L, la.a, la.b), (lb.L, lb.a, lb.b))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_notifications_over_the_help_stand_under_its_box_and_cover_none_of_it(size: tuple[int, int]) -> None:
    """A run's end notified while the help was open, or before it opened, covered the help's last lines."""
    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=size, notifications=True) as pilot:  # tests show none by default
        await press(pilot, "question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        box = help_screen.query_one(VerticalScroll)
        await wait_until(pilot, lambda: bool(box.region), what="the help laid out")
        await pilot.pause()
        full = box.region

        def readable() -> None:
            """Every notification wholly on screen, and none over the help's box."""
            for toast in toasts(help_screen):
                assert help_screen.region.contains_region(toast.region), toast.region
                assert not toast.region.overlaps(box.region), (toast.region, box.region)

        app.notify("Finished: final accuracy 96.75 %; best 97.25 % at epoch 2", timeout=30)
        await wait_until(pilot, lambda: len(toasts(help_screen)) == 1, what="the notification over the help")
        await pilot.pause()
        readable()
        app.notify("Not changed: lr must be a number between 0 and 10, not 'fast'", severity="error", timeout=30)
        await wait_until(pilot, lambda: len(toasts(help_screen)) == 2, what="a second notification")
        await pilot.pause()
        readable()

        app.clear_notifications()  # once they are gone the help has its whole height again
        await wait_until(pilot, lambda: not toasts(help_screen) and box.region == full, what="the help's height back")

        await press(pilot, "escape")
        app.notify("Stopped at epoch 2, step 150; resumable", severity="warning", timeout=30)
        await press(pilot, "question_mark")  # opened over a notification already shown
        assert app.screen is help_screen
        await wait_until(pilot, lambda: len(toasts(help_screen)) == 1, what="the notification over the help")
        await pilot.pause()
        readable()


async def inspect_after_a_run(pilot: Pilot, runs: Path) -> str:
    """A finished run's Inspect view: its mistakes and weights take 43 rows, the view has 37."""
    await press(pilot, "s")
    await wait_until(pilot, lambda: pilot.app.state == "finished", what="the run's end")
    await press(pilot, "2")
    return "#inspect-scroll"


async def draw(pilot: Pilot, runs: Path) -> str:
    """The Draw view: at 80x24 the prepared digit is a scroll away, under the prediction."""
    await press(pilot, "3")
    return "#draw-panes"


async def runs_table(pilot: Pilot, runs: Path) -> str:
    """The Runs table: 24 runs, more than its rows at 120x40 (its columns fit or are left out:
    it no longer scrolls sideways)."""
    for number in range(24):
        write_run(runs, f"smoke-{number:02d}", CONFIG, started=f"2026-11-20T10:{number:02d}:00+00:00")
    await press(pilot, "4")
    await wait_until(pilot, lambda: pilot.app.query_one(RunsTable).row_count == 24, what="the runs listed")
    return "#runs-table"


@pytest.mark.parametrize(
    ("size", "show"),
    [((120, 40), inspect_after_a_run), ((80, 24), draw), ((120, 40), runs_table)],
    ids=["inspect-120x40", "draw-80x24", "runs-table-120x40"],
)
@run_async
async def test_a_view_that_scrolls_shows_a_scrollbar_with_a_visible_track_and_thumb(
    size: tuple[int, int], show: Callable[[Pilot, Path], Awaitable[str]], tmp_path: Path
) -> None:
    """Beside a view a few rows taller than the terminal, only stray ends of a dim thumb showed:
    the track was black beside the dashboard's near-black."""
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke", runs_dir=tmp_path)
    async with app.run_test(size=size) as pilot:
        view = app.query_one(await show(pilot, tmp_path))
        await wait_until(pilot, lambda: view.show_vertical_scrollbar, what="the scrollbar")
        await pilot.pause()  # painted
        assert view.max_scroll_y > 0 and view.scroll_y == 0, "it scrolls, from the top"
        bar = view.vertical_scrollbar.region
        thumb, track = (bar.x, bar.y), (bar.x, bar.bottom - 1)
        beside = (bar.x - 1, bar.bottom - 1)  # left of the track: a border, or the table's last row
        thumb_colour, track_colour, beside_colour = (
            shown_colour(app.screen.get_style_at(*cell)) for cell in (thumb, track, beside)
        )
        assert distance(track_colour, beside_colour) >= VISIBLE, (track_colour.hex, beside_colour.hex)
        assert distance(thumb_colour, track_colour) >= VISIBLE, (thumb_colour.hex, track_colour.hex)


@run_async
async def test_the_draw_and_the_idle_inspect_view_fit_120x40_without_a_scrollbar() -> None:
    """The standard terminal holds them whole: no scrollbar beside them (the Inspect view scrolls
    there once a run's mistakes and first-layer weights fill it, taller than the terminal)."""
    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        for key, scroller in (("2", "#inspect-scroll"), ("3", "#draw-panes")):
            await press(pilot, key)
            await pilot.pause(0.2)
            view = app.query_one(scroller)
            assert view.max_scroll_y == 0 and not view.show_vertical_scrollbar, (scroller, view.virtual_size, view.size)
