"""Per-class recall and precision as bars, with the change since the previous epoch.

The bars take the width the pane has, and each row as many lines as the confusion grid's beside it,
so that a class's bar stands level with its row of counts.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from .pane import FitsWidth

BAR = 10
"""The shortest bar, and the default width of :func:`bar`."""
LONGEST_BAR = 40
"""The longest bar: past it, a wide pane's bars grow no easier to compare."""
NUMBERS = 6 + 7 + 6 + 4
"""Columns of the table besides the name and the bar: recall, change, precision and the gaps."""
EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(share: float, width: int = BAR) -> str:
    """``share`` (0 to 1) as a bar of ``width`` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[rest] if rest else "")).ljust(width)


def per_class(matrix: tuple[tuple[int, ...], ...]) -> list[tuple[float | None, float | None]]:
    """(recall, precision) of each class in percent; None where a class has no digit or no prediction."""
    size = len(matrix)
    result = []
    for k in range(size):
        row = sum(matrix[k])
        column = sum(matrix[r][k] for r in range(size))
        recall = 100.0 * matrix[k][k] / row if row else None
        precision = 100.0 * matrix[k][k] / column if column else None
        result.append((recall, precision))
    return result


def change(now: float | None, before: float | None) -> Text:
    if now is None or before is None:
        return Text("")
    delta = now - before
    if abs(delta) < 0.005:
        return Text("  ±0.00", style="dim")
    return Text(f"{'▲' if delta > 0 else '▼'}{abs(delta):5.2f}", style="green" if delta > 0 else "red")


class ClassBars(FitsWidth):
    """Recall per class as a bar, its change since the previous epoch, and precision."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = 1
        """Lines of each class's row, as the confusion grid's rows."""

    def set_lines(self, lines: int) -> None:
        """Draw each class's row ``lines`` lines high (its bar on the first, level with the grid's counts)."""
        if lines != self.lines:
            self.lines = lines
            self.show_again()

    def show(
        self,
        matrix: tuple[tuple[int, ...], ...] | None,
        previous: tuple[tuple[int, ...], ...] | None,
        names: tuple[str, ...],
        *,
        note: str | None = None,
    ) -> None:
        """``note`` says why there is no ``matrix`` where none will come (by default, it comes after the first epoch)."""
        if self.same_as_shown(matrix, previous, names, note):
            return
        width = self.fit_to_width(lambda: self.show(matrix, previous, names, note=note))
        if matrix is None:
            self.update_content(Text(note or "Per-class accuracy appears after the first epoch.", style="dim"))
            return
        name_width = max(len("class"), *(len(name[:10]) for name in names))
        length = max(BAR, min(LONGEST_BAR, width - name_width - NUMBERS)) if width else BAR
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", no_wrap=True, max_width=10)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_row(Text("class", style="dim"), Text("recall", style="dim"), "", Text("change", style="dim"),
                      Text("prec.", style="dim"))
        before = per_class(previous) if previous is not None else [(None, None)] * len(names)
        for name, (recall, precision), (old_recall, _) in zip(names, per_class(matrix), before):
            colour = "green" if (recall or 0) >= 97 else "yellow" if (recall or 0) >= 90 else "red"
            table.add_row(
                Text(name[:10] + "\n" * (self.lines - 1), style="bold"),  # the row as high as the grid's
                Text(bar((recall or 0) / 100, length), style=colour),
                f"{recall:6.2f}" if recall is not None else "     –",
                change(recall, old_recall),
                f"{precision:6.2f}" if precision is not None else "     –",
            )
        self.update_content(table)
