"""The confusion matrix and per-class accuracy a headless run prints at its end.

Plain aligned text for logs, a Rich table on a terminal; both read the last epoch's
:class:`ConfusionCounted` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .engine.events import ConfusionCounted

if TYPE_CHECKING:
    from rich.table import Table

CORNER = "true \\ predicted"


def title(event: ConfusionCounted) -> str:
    """What the matrix shows, in one line."""
    return f"confusion at epoch {event.epoch}: {caption(event)}"


def caption(event: ConfusionCounted) -> str:
    """Which way the matrix reads, and over how many digits."""
    total = sum(map(sum, event.matrix))
    correct = sum(event.matrix[i][i] for i in range(len(event.matrix)))
    share = f"{100.0 * correct / total:.2f} %" if total else "-"
    return f"rows: true class, columns: predicted; {total:,} digits, {share} right"


def class_accuracy(row: tuple[int, ...], index: int) -> str:
    """The share of a true class predicted right (its recall), or ``-`` for a class with no digits."""
    total = sum(row)
    return f"{100.0 * row[index] / total:.2f} %" if total else "-"


def confusion_lines(event: ConfusionCounted) -> list[str]:
    """The matrix as plain aligned text, a per-class accuracy column on the right."""
    names = event.class_names
    rows = event.matrix
    width = max(len(name) for name in (*names, *(str(v) for row in rows for v in row)))
    label = max(len(CORNER), *(len(name) for name in names))
    accuracy = "accuracy"
    lines = [title(event)]
    header = [CORNER.rjust(label), *(name.rjust(width) for name in names), accuracy.rjust(8)]
    lines.append("  ".join(header))
    for index, (name, row) in enumerate(zip(names, rows)):
        cells = [name.rjust(label), *(str(v).rjust(width) for v in row), class_accuracy(row, index).rjust(8)]
        lines.append("  ".join(cells))
    return lines


def confusion_table(event: ConfusionCounted) -> Table:
    """The matrix as a Rich table: the diagonal in bold green, zeros dimmed."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"Confusion at epoch {event.epoch}", caption=caption(event), box=box.SIMPLE_HEAD,
        title_justify="left", caption_justify="left",
    )
    table.add_column(CORNER, justify="right", style="bold")
    for name in event.class_names:
        table.add_column(name, justify="right")
    table.add_column("accuracy", justify="right")
    for index, (name, row) in enumerate(zip(event.class_names, event.matrix)):
        cells = [
            f"[bold green]{v}[/]" if column == index else f"[dim]{v}[/]" if v == 0 else str(v)
            for column, v in enumerate(row)
        ]
        table.add_row(name, *cells, class_accuracy(row, index))
    return table
