"""The confusion heatmap: counts of (true, predicted) pairs, shaded by their share of the row.

Its cells grow with the room the Inspect view has (:meth:`ConfusionGrid.set_cells`): wider columns
and rows two lines high on a large terminal, the least that holds the counts on a small one.
"""

from __future__ import annotations

import textwrap

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

CELL = 6
"""Cells per column, at least: a count up to 99999 and a space."""
WIDEST_CELL = 8
"""Cells per column at most: wider columns spread ten counts too thin to read across."""
LABEL = 11
"""Cells for the row labels (class names cut to fit)."""
RIGHT, WRONG = (40, 160, 70), (200, 50, 50)
"""The diagonal (right) is shaded green, the rest (mistakes) red."""


def shade(count: int, row_total: int, diagonal: bool) -> Style:
    """A cell's background: its share of the row, green on the diagonal and red elsewhere.

    Mistakes are rarely more than a few percent of a row, so their share is stretched (x5) to show.
    """
    share = count / row_total if row_total else 0.0
    strength = share if diagonal else min(1.0, share * 5)
    if not count:
        return Style(color="grey42")
    base = RIGHT if diagonal else WRONG
    r, g, b = (round(16 + (c - 16) * (0.25 + 0.75 * strength)) for c in base)
    return Style(bgcolor=f"rgb({r},{g},{b})", color="white", bold=diagonal)


def largest_mistake(matrix: tuple[tuple[int, ...], ...]) -> tuple[int, int] | None:
    """The off-diagonal cell with the most cases (the first in reading order of equal ones), or
    None where nothing was mistaken."""
    mistakes = (
        (count, (row, column))
        for row, counts in enumerate(matrix)
        for column, count in enumerate(counts)
        if row != column
    )
    count, cell = max(mistakes, key=lambda pair: pair[0], default=(0, None))
    return cell if count else None


class ConfusionGrid(Widget, can_focus=True):
    """Rows are true classes, columns predictions; arrows or the mouse move the selection, enter chooses."""

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("enter", "choose", "Show mistakes", show=False),
    ]
    DEFAULT_CSS = """
    ConfusionGrid { width: auto; height: auto; }
    ConfusionGrid:focus { background-tint: $accent 5%; }
    """

    class Chosen(Message):
        """A cell was chosen (enter or a click): show its mistakes."""

        def __init__(self, row: int, column: int) -> None:
            super().__init__()
            self.row, self.column = row, column

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.matrix: tuple[tuple[int, ...], ...] | None = None
        self.names: tuple[str, ...] = tuple(str(d) for d in range(10))
        self.cursor = (0, 1)
        """The selected (true, predicted) cell."""
        self.chosen = False
        """Whether the cursor's cell was chosen (arrows, enter, a click); until then each matrix
        shown selects its largest mistake (QA: the view opened on an empty cell, "No mistakes")."""
        self.cell = CELL
        """Columns of one cell."""
        self.lines = 1
        """Lines of one row (2 draws each cell as a block under its count)."""
        self.note: str | None = None
        """Why there is no matrix, where none will come."""

    def show(self, matrix: tuple[tuple[int, ...], ...] | None, names: tuple[str, ...], *, note: str | None = None) -> None:
        """Show ``matrix``; without one, ``note`` says why (by default, it comes after the first epoch)."""
        if matrix is self.matrix and names == self.names and note == self.note:
            return  # the same epoch's matrix: another of its events arrived (a relayout costs the UI thread)
        resized = len(names) != len(self.names)
        self.matrix, self.names, self.note = matrix, names, note
        if matrix is not None and not self.chosen:
            self.cursor = largest_mistake(matrix) or self.cursor
        self.refresh(layout=resized)  # an epoch's counts fit the cells they had: repainted, not laid out

    def set_cells(self, cell: int, lines: int) -> None:
        """Draw each cell ``cell`` columns wide and each row ``lines`` lines high."""
        if (cell, lines) != (self.cell, self.lines):
            self.cell, self.lines = cell, lines
            self.refresh(layout=True)

    def get_content_width(self, container, viewport) -> int:  # type: ignore[no-untyped-def]
        return LABEL + self.cell * len(self.names)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return 1 + self.lines * len(self.names)

    def render(self) -> Text:
        if self.matrix is None:
            return self._render_empty()
        names, width = self.names, self.cell - 1
        text = Text(no_wrap=True)
        text.append("true ╲ pred".ljust(LABEL)[:LABEL], style="dim")
        for column, name in enumerate(names):
            style = "bold underline" if column == self.cursor[1] else "bold"
            # Over the counts' last CELL - 1 columns, where they are right-aligned, however wide the cell.
            text.append(name[:width].center(CELL - 1).rjust(width) + " ", style=style)
        for row, name in enumerate(names):
            counts = self.matrix[row] if self.matrix else (0,) * len(names)
            total = sum(counts)
            styles = []
            for column, count in enumerate(counts):
                style = shade(count, total, row == column)
                if (row, column) == self.cursor:
                    style += Style(reverse=True, bold=True)
                styles.append(style)
            text.append("\n")
            label = "bold underline" if row == self.cursor[0] else "bold"
            text.append(name[: LABEL - 1].rjust(LABEL - 1), style=label)
            text.append(" ")
            for column, (count, style) in enumerate(zip(counts, styles)):
                shown = f"{count:>{width}}" if (count or row == column) and self.matrix else f"{'·':>{width}}"
                text.append(shown + " ", style=style)
            for _ in range(self.lines - 1):  # the rest of the row: the cells' colours, without counts
                text.append("\n" + " " * LABEL)
                for style in styles:
                    text.append(" " * self.cell, style=style)
        return text

    def _render_empty(self) -> Text:
        """No matrix: what to wait for, or why none comes, in the grid's place (QA: a grid of dots read
        as a model that predicted nothing, beside panes that said inspection was off)."""
        width = LABEL + self.cell * len(self.names)
        said = textwrap.wrap(self.note or "The confusion matrix appears after the first epoch.", width - 2)
        lines = [f" {line}" for line in said][: 1 + self.lines * len(self.names)]  # as the other panes' padding
        return Text("\n".join(lines), style="dim", no_wrap=True)

    def action_move(self, rows: int, columns: int) -> None:
        size = len(self.names)
        self.cursor = ((self.cursor[0] + rows) % size, (self.cursor[1] + columns) % size)
        self.chosen = True
        self.refresh()

    def action_choose(self) -> None:
        self.chosen = True
        self.post_message(self.Chosen(*self.cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row, column = (offset.y - 1) // self.lines, (offset.x - LABEL) // self.cell
        if 0 <= row < len(self.names) and offset.x >= LABEL and 0 <= column < len(self.names):
            self.cursor = (row, column)
            self.chosen = True
            self.refresh()
            self.post_message(self.Chosen(row, column))
