"""The sweep's trials table: number, state, parameters, accuracy by epoch, final accuracy and time.

Pruned trials are greyed, failed ones dim red, running ones yellow (paused ones dim); ★ marks the best so far.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ..engine.run_rows import format_duration
from ..engine.trial_rows import TrialRow, accuracy_of, best_of, format_param

EPOCHS_SHOWN = 6
"""Epoch accuracies a row shows at most (the latest; earlier ones are elided), fewer where the table is narrow."""
HEADERS = ("", "trial", "state")
EPOCH_HEADERS, TAIL_HEADERS = ("accuracy by epoch", "by epoch"), ("accuracy", "time")
"""The epoch column's header: the first that fits."""
PADDING = 2
"""Cells a column adds to its widest value (DataTable's cell padding, one each side)."""
STATE_STYLES = {"running": "yellow", "paused": "dim yellow", "pruned": "dim", "failed": "dim red", "waiting": "dim"}
BEST_STYLE = "bold green"


def row_cells(row: TrialRow, fields: tuple[str, ...], best: TrialRow | None, epochs: int = EPOCHS_SHOWN) -> list[Text]:
    """The cells of one trial, its latest ``epochs`` accuracies, styled by its state (the best one bold green)."""
    is_best = best is not None and best.number == row.number
    kind = "paused" if row.paused else row.state  # to a person a paused trial is not running
    style = BEST_STYLE if is_best else STATE_STYLES.get(kind, "")
    accuracies = " ".join(f"{a:.1f}" for a in row.accuracies[-epochs:]) if epochs else ""
    if len(row.accuracies) > epochs:
        accuracies = ("… " + accuracies).strip()
    accuracy = accuracy_of(row) if row.state != "running" else None
    cells = [
        "★" if is_best else "",
        str(row.number),
        "paused" if row.paused else row.outcome or row.state,
        *(format_param(row.params[f]) if f in row.params else "-" for f in fields),
        accuracies or "-",
        f"{accuracy:.2f}" if accuracy is not None else "-",
        format_duration(row.seconds) if row.seconds is not None else "-",  # a 0.3 s trial read "0 s"
    ]
    return [Text(cell, style=style, justify="right" if index in (1, len(cells) - 2, len(cells) - 1) else "left")
            for index, cell in enumerate(cells)]


def epochs_that_fit(rows: tuple[TrialRow, ...], fields: tuple[str, ...], width: int) -> tuple[int, str]:
    """How many epoch accuracies each row can show, and under which header, with every other column
    whole in ``width`` cells.

    At 80 columns six epochs pushed the final accuracy and the time off the table, and cut a value
    in half: the latest epochs that fit are shown instead (at least one; past that the table scrolls).
    """
    columns = [*HEADERS, *fields, EPOCH_HEADERS[0], *TAIL_HEADERS]
    widths = [max(len(header), 1 if index == 0 else 0) for index, header in enumerate(columns)]  # the ★
    for row in rows:
        for index, cell in enumerate(row_cells(row, fields, None, 0)):
            widths[index] = max(widths[index], cell.cell_len)
    epoch_column = len(HEADERS) + len(fields)
    room = width - (sum(widths) - widths[epoch_column]) - PADDING * len(columns)
    header = next((h for h in EPOCH_HEADERS if len(h) <= room), EPOCH_HEADERS[-1])
    for epochs in range(EPOCHS_SHOWN, 0, -1):
        if len("… ") + epochs * 5 - 1 <= room:  # "99.9 " each, the last without its space
            return epochs, header
    return 1, header


class TrialsTable(DataTable):
    """One row per trial, in trial order; the app sets the rows, a chosen row posts ``RowSelected``."""

    DEFAULT_CSS = """
    TrialsTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.fields: tuple[str, ...] = ()
        self.rows_shown: tuple[TrialRow, ...] = ()
        self.epochs: tuple[int, str] = (EPOCHS_SHOWN, EPOCH_HEADERS[0])
        """Epoch accuracies each row shows, as many as the width leaves room for, and their header."""

    def on_resize(self) -> None:
        if self.rows_shown and self._epochs(self.rows_shown, self.fields) != self.epochs:
            rows, self.rows_shown = self.rows_shown, ()
            self.show(rows, self.fields)

    def _epochs(self, rows: tuple[TrialRow, ...], fields: tuple[str, ...]) -> tuple[int, str]:
        width = self.scrollable_content_region.width
        return epochs_that_fit(rows, fields, width) if width else self.epochs

    def show(self, rows: tuple[TrialRow, ...], fields: tuple[str, ...]) -> None:
        """Show ``rows``; the cursor stays on its trial."""
        if rows == self.rows_shown and fields == self.fields:
            return
        chosen = self.chosen_number()
        epochs = self._epochs(rows, fields)
        if fields != self.fields or not self.columns or epochs != self.epochs:  # columns only ever widen
            self.clear(columns=True)
            self.add_columns(*HEADERS, *fields, epochs[1], *TAIL_HEADERS)
            self.fields = fields
        else:
            self.clear()
        best = best_of(rows)
        self.epochs = epochs
        for row in sorted(rows, key=lambda r: r.number):
            self.add_row(*row_cells(row, fields, best, epochs[0]), key=str(row.number))
        self.rows_shown = rows
        if chosen is not None and str(chosen) in self.rows:
            self.move_cursor(row=self.get_row_index(str(chosen)), animate=False)

    def chosen_number(self) -> int | None:
        """The trial under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None
