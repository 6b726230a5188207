"""The Sweep view at 80x24 (QA): the trials table keeps the final accuracy and the time, cuts no value in
half, and without a sweep its hint wraps whole."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from mnist_tui.engine.trial_rows import SweepSnapshot, TrialRow
from mnist_tui.tui.sweep_view import NO_SWEEP, SweepUpdated
from mnist_tui.tui.trials_table import TrialsTable
from test_tui_sweep import make_app
from tui_script import run_async, wait_until

pytestmark = pytest.mark.timeout(60)

SPACE = {
    "lr": {"low": 1e-4, "high": 1e-1, "log": True},
    "optimizer": {"choices": ["sgd", "adam"]},
    "hidden": {"choices": [[32], [64, 32]]},
}
ACCURACIES = (81.2, 84.0, 85.5, 87.1, 87.1, 86.4, 88.7, 88.1)


def trial(number: int, state: str) -> TrialRow:
    return TrialRow(
        number=number, state=state, params={"lr": 0.0505, "optimizer": "adam", "hidden": "32"},
        accuracies=ACCURACIES, value=ACCURACIES[-1] if state == "complete" else None, seconds=41.0, outcome=state,
    )


def screen_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


@run_async
async def test_at_80_columns_the_trials_keep_their_accuracy_and_time_and_whole_values() -> None:
    app = make_app(view="SweepView")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(TrialsTable)
        rows = (trial(0, "complete"), trial(1, "complete"), trial(2, "running"))
        app.post_message(SweepUpdated(SweepSnapshot(study="s", storage="j", space=SPACE, rows=rows, status="running")))
        await wait_until(pilot, lambda: table.row_count == 3, what="the trials")
        await pilot.pause(0.1)
        assert table.virtual_size.width <= table.scrollable_content_region.width, "no column off the table"
        # The table's row of the best trial (the chart above marks that trial with a star too).
        region = table.region
        line = next(line[region.x : region.right] for line in screen_lines(app)[region.y : region.bottom] if "★" in line)
        assert "88.10" in line and "41.0s" in line, line
        shown = str(table.get_row("0")[-3])
        assert shown.startswith("… ") and shown.endswith("88.1"), shown
        assert all(value in {f"{a:.1f}" for a in ACCURACIES} for value in shown[2:].split()), shown

        await pilot.resize_terminal(160, 30)  # room again: all six of the latest
        await pilot.pause(0.2)
        assert str(table.get_row("0")[-3]) == "… " + " ".join(f"{a:.1f}" for a in ACCURACIES[-6:])


@run_async
async def test_without_a_sweep_the_hint_wraps_whole_and_no_key_hint_shows() -> None:
    app = make_app(view="SweepView")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        lines = screen_lines(app)
        assert "Set lr…" in lines[-1]  # the key bar: a label's own ellipsis
        text = "\n".join(lines[:-1])
        words = " ".join(" ".join(line.strip("│ ") for line in screen_lines(app)).split())
        assert "…" not in text
        assert NO_SWEEP in words, words
        assert "enter: open" not in text
