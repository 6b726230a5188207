"""The accuracy pane draws each row once for as long as it stays the same, and always as DataTable would."""

from __future__ import annotations

import dataclasses

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from mnist_tui.tui.accuracy_table import BEST, AccuracyTable
from tui_script import epoch_ended, run_async

pytestmark = pytest.mark.timeout(60)

ACCURACIES = (90.0, 92.5, 91.0, 95.0, 94.0, 96.5, 96.0, 97.25, 97.0, 96.75, 98.0, 97.5)


class Table(App[None]):
    CSS = "AccuracyTable { height: 8; width: 42; }"

    def compose(self) -> ComposeResult:
        yield AccuracyTable()


def as_data_table_draws(table: AccuracyTable) -> list[str]:
    """Every line in view as DataTable itself draws it now (its own caches, no one else's)."""
    return [DataTable.render_line(table, y).text for y in range(table.size.height)]


def shown(table: AccuracyTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@run_async
async def test_an_epoch_draws_only_the_rows_it_changed_and_every_line_is_as_data_table_draws_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DataTable drew every row in view again at each epoch's end, twice (the new row, then the
    scroll to it): 10 ms of the UI thread an epoch, 1 % of a core at one-second epochs."""
    app = Table()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(AccuracyTable)
        drawn: list[int] = []  # the lines DataTable drew, for the rows the pane had not kept
        draw = DataTable.render_line
        monkeypatch.setattr(DataTable, "render_line", lambda self, y: (drawn.append(y), draw(self, y))[1])
        counts = []
        for epoch in range(1, len(ACCURACIES) + 1):
            drawn.clear()
            table.add_epoch(epoch_ended("r", epoch, len(ACCURACIES), ACCURACIES))
            await pilot.pause()
            await pilot.pause()
            counts.append(len(drawn))
            assert shown(table) == as_data_table_draws(table), f"epoch {epoch}"
            assert table.scroll_y == table.max_scroll_y, "the newest row in view"
        # Once the rows scroll (7 under the header in 8 lines, from epoch 8 on): the new row, and
        # where the star moved, its old and new rows. DataTable drew every line in view, twice.
        assert max(counts[8:]) <= 3 and min(counts[8:]) >= 1, counts
        assert table.max_scroll_y > 0 and f"98.00 {BEST}" in shown(table)[-2] and BEST not in shown(table)[-1]

        # The eval loss column grows with a wider loss: every row is drawn again, as DataTable draws it.
        wide = dataclasses.replace(epoch_ended("r", 13, 13, (*ACCURACIES, 50.0)), eval_loss=123456.0)
        table.add_epoch(wide)
        await pilot.pause()
        await pilot.pause()
        assert "123456.0000" in shown(table)[-1]
        assert shown(table) == as_data_table_draws(table)
