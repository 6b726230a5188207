"""The sweep's trials table: number, state, parameters, accuracy by epoch, final accuracy and time.

Pruned trials are greyed, failed ones dim red, running ones yellow; ★ marks the best so far.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ..engine.trial_rows import TrialRow, accuracy_of, best_of, format_param

EPOCHS_SHOWN = 6
"""Epoch accuracies a row shows (the latest; earlier ones are elided)."""
STATE_STYLES = {"running": "yellow", "pruned": "dim", "failed": "dim red", "waiting": "dim"}
BEST_STYLE = "bold green"


def row_cells(row: TrialRow, fields: tuple[str, ...], best: TrialRow | None) -> list[Text]:
    """The cells of one trial, styled by its state (the best one bold green)."""
    is_best = best is not None and best.number == row.number
    style = BEST_STYLE if is_best else STATE_STYLES.get(row.state, "")
    accuracies = " ".join(f"{a:.1f}" for a in row.accuracies[-EPOCHS_SHOWN:])
    if len(row.accuracies) > EPOCHS_SHOWN:
        accuracies = "… " + accuracies
    accuracy = accuracy_of(row) if row.state != "running" else None
    state = row.outcome if row.outcome and row.outcome != row.state else row.state
    cells = [
        "★" if is_best else "",
        str(row.number),
        state,
        *(format_param(row.params[f]) if f in row.params else "-" for f in fields),
        accuracies or "-",
        f"{accuracy:.2f}" if accuracy is not None else "-",
        f"{row.seconds:.0f} s" if row.seconds is not None else "-",
    ]
    return [Text(cell, style=style, justify="right" if index in (1, len(cells) - 2, len(cells) - 1) else "left")
            for index, cell in enumerate(cells)]


class TrialsTable(DataTable):
    """One row per trial, in trial order; the app sets the rows, a chosen row posts ``RowSelected``."""

    DEFAULT_CSS = """
    TrialsTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.fields: tuple[str, ...] = ()
        self.rows_shown: tuple[TrialRow, ...] = ()

    def show(self, rows: tuple[TrialRow, ...], fields: tuple[str, ...]) -> None:
        """Show ``rows``; the cursor stays on its trial."""
        if rows == self.rows_shown and fields == self.fields:
            return
        chosen = self.chosen_number()
        if fields != self.fields or not self.columns:
            self.clear(columns=True)
            self.add_columns("", "trial", "state", *fields, "accuracy by epoch", "accuracy", "time")
            self.fields = fields
        else:
            self.clear()
        best = best_of(rows)
        for row in sorted(rows, key=lambda r: r.number):
            self.add_row(*row_cells(row, fields, best), key=str(row.number))
        self.rows_shown = rows
        if chosen is not None and str(chosen) in self.rows:
            self.move_cursor(row=self.get_row_index(str(chosen)), animate=False)

    def chosen_number(self) -> int | None:
        """The trial under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None
