"""The Train view's accuracy and progress panes across resizes and widths (scripted runs, no torch)."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.accuracy_table import AccuracyTable
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.quick_text import QuickText
from mnist_tui.tui.run_progress import describe_end, fit_outcome, hold_units
from tui_script import ACCURACIES, ScriptedSource, finished, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)


def shown_lines(widget: QuickText) -> list[str]:
    """What the line-API widget shows in its box."""
    width, height = widget.content_size
    return [widget.render_line(y).crop(0, width).text.rstrip() for y in range(height)]


def newest_in_view(table: AccuracyTable) -> bool:
    rows = table.scrollable_content_region.height - 1  # less the header
    newest = table.row_count - 1
    return rows >= 1 and table.scroll_offset.y <= newest < table.scroll_offset.y + rows


@run_async
async def test_the_newest_epoch_stays_in_view_when_the_terminal_shrinks() -> None:
    """Three epochs fit at 120x40 (not scrolled); at 80x24 one row shows, and it was epoch 1 until
    the next epoch's end."""
    source = ScriptedSource(training_run(end=False, until_step=3 * 100 + 50))  # running, in epoch 4
    app = MnistApp(CONFIG.replace(epochs=10), source=source, preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(AccuracyTable)
        await press(pilot, "s")
        await wait_until(pilot, lambda: table.row_count == 3, what="three epochs")
        await pilot.pause(0.2)
        assert table.scroll_offset.y == 0 and newest_in_view(table)

        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: app.size == (80, 24))
        await pilot.pause(0.3)
        assert table.scrollable_content_region.height - 1 < 3, "fewer rows than epochs at 80x24"
        assert newest_in_view(table), (table.scroll_offset, table.max_scroll_y)
        rows = [table.render_line(y).text.split()[:1] for y in range(1, table.scrollable_content_region.height)]
        assert ["3"] in rows, rows

        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: app.size == (120, 40))
        await pilot.pause(0.3)
        assert newest_in_view(table)


def test_a_number_keeps_its_unit_where_the_outcome_wraps() -> None:
    """At 100 columns the pane showed "Finished: final accuracy 97.90" and "%" alone below it."""
    outcome = hold_units(describe_end(finished("r", (95.5, 97.9)))[0])
    console = Console(width=200)
    for width in range(12, 45):
        lines = fit_outcome(outcome, width, 3, console).split("\n")
        assert not any(line.startswith("%") or re.search(r"\d\.\d\d$", line) for line in lines), (width, lines)
        assert "\u00a0" not in "".join(lines), "shown with plain spaces"
    wide = fit_outcome(outcome, 60, 3, console)
    assert wide == "Finished: final accuracy 97.90 %\nbest 97.90 % at epoch 2", "unchanged where it fits"


@run_async
async def test_at_100_columns_the_finished_run_keeps_its_accuracy_and_percent_on_one_line() -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the run's end")
        await pilot.pause(0.3)
        lines = shown_lines(app.query_one("#numbers", QuickText))
        assert not any(line.strip() == "%" for line in lines), lines
        shown = " ".join(" ".join(lines).split())
        accuracy = f"{ACCURACIES[2]:.2f} %"
        assert any(accuracy in line for line in lines), lines
        assert shown.startswith("Finished:") and f"best {max(ACCURACIES):.2f} % at epoch 2" in shown, shown


@run_async
async def test_the_bars_reach_an_epochs_end_with_the_accuracy_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: with epochs shorter than the frame tick, the pane showed epoch 7 while the gallery said
    epoch 11; reports still wait for the frame tick (here never), an epoch's end does not."""
    from mnist_tui.tui import app as app_module
    from mnist_tui.tui.run_progress import RunProgress

    monkeypatch.setattr(app_module, "FRAME_SECONDS", 1000.0)
    source = ScriptedSource(training_run(end=False, until_step=3 * 100 + 50))  # running, in epoch 4
    app = MnistApp(CONFIG.replace(epochs=10), source=source, preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        table, progress = app.query_one(AccuracyTable), app.query_one(RunProgress)
        await press(pilot, "s")
        await wait_until(pilot, lambda: table.row_count == 3, what="three epochs")
        await pilot.pause(0.2)
        assert any("step 100/100" in line for line in shown_lines(progress.query_one(QuickText))), "epoch 3's last report"
