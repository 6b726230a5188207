"""The Draw view sizes its canvas for the terminal whenever it changes, shown or hidden (QA: a full
56x28 canvas at 80x24, its border and the prediction below the screen, after the view was shown)."""

from __future__ import annotations

import pytest

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.draw_canvas import DrawCanvas
from mnist_tui.tui.draw_view import DrawView
from mnist_tui.tui.probability_bars import ProbabilityBars
from tui_script import ScriptedSource, run_async

pytestmark = pytest.mark.timeout(60)


def make_app() -> MnistApp:
    return MnistApp(load_preset("smoke"), source=ScriptedSource(), preset="smoke")


@run_async
async def test_a_resize_while_the_view_is_hidden_sizes_its_canvas_for_when_it_is_shown() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        canvas, view = app.query_one(DrawCanvas), app.query_one(DrawView)
        for key, size in (("3", (120, 40)), ("1", (80, 24))):  # Draw shown full size, then hidden and the terminal shrunk
            await pilot.press(key)
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
            assert view.display == (key == "3")
            if key == "3":
                assert not canvas.compact and canvas.size == (56, 28)
        assert canvas.compact, "sized while hidden, not only once shown"

        await pilot.press("3")
        await pilot.pause(0.1)
        assert canvas.size == (28, 14)
        box, bars = app.query_one("#canvas-box"), app.query_one(ProbabilityBars)
        assert box.region.bottom <= view.region.bottom, "the canvas's bottom border on screen"
        assert bars.region.bottom <= app.query_one("#draw-panes").region.bottom, "the prediction on screen"
        assert app.query_one("#draw-side").size.width >= 40, "the side panes keep their room"

        await pilot.press("1")
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.1)
        assert not canvas.compact

