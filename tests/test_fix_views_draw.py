"""QA, Draw at 80x24: the Run folder box sat over the lower part of "What the model sees" (its title
showed, its digit a scroll away under the box), which read as overlapping panes, and the panes'
scrollbar thumb floated alone in the empty space right of that narrower box."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_tui.tui.draw_view import DrawView
from test_tui_draw import Loads, loads, make_app, runs  # noqa: F401  (loads, runs: the fixtures)
from tui_script import press, run_async, wait_until

pytestmark = pytest.mark.timeout(60)


@run_async
async def test_at_80x24_the_scrolled_panes_end_at_the_screens_edge_and_are_as_wide_as_their_scrollbar_reaches(
    runs: Path, loads: Loads  # noqa: F811
) -> None:
    app = make_app(runs_dir=runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "3", "space", "down", "space")
        view = app.query_one(DrawView)
        await wait_until(pilot, lambda: view.settled and view.predictions, what="the prediction")
        await pilot.pause()
        panes, folder, prepared, prediction = (
            app.query_one(f"#{name}") for name in ("draw-panes", "folder-box", "prepared", "prediction")
        )
        assert panes.max_scroll_y > 0, "the prepared digit is a scroll away at 80x24"
        # Nothing under the scrolled panes: the prepared digit is cut by the screen's edge, not by a box.
        assert panes.region.bottom == view.region.bottom, (panes.region, view.region)
        assert folder.region.bottom <= panes.region.y and folder.region.height >= 3
        # Every pane reaches the scrollbar: no thumb stands alone in empty space beside a narrower box.
        right = panes.region.right - panes.styles.scrollbar_size_vertical
        assert prepared.region.right == prediction.region.right == right, (prepared.region, prediction.region, right)
        panes.scroll_end(animate=False)
        await pilot.pause()
        assert prepared.region.bottom <= view.region.bottom  # scrolled to: whole on screen

        await pilot.resize_terminal(120, 40)  # room for all: the box goes back under the panes, as it was
        await pilot.pause(0.2)
        assert panes.max_scroll_y == 0 and folder.region.y >= panes.region.bottom
        assert prepared.region.width < prediction.region.width
