"""Ten probability bars, one per class, the most probable highlighted, under a one-line verdict."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from .class_bars import bar

WIDTH = 20
"""Cells of a full bar (probability 1)."""


def verdict(probabilities: tuple[float, ...], names: tuple[str, ...]) -> str:
    """``Prediction: 7 · 98.2 %``: the most probable class and its probability."""
    top = max(range(len(probabilities)), key=lambda k: probabilities[k])
    return f"Prediction: {names[top]} · {100 * probabilities[top]:.1f} %"


class ProbabilityBars(Static):
    """The verdict, then each class's probability as a bar; the app sets them with :meth:`show`."""

    DEFAULT_CSS = """
    ProbabilityBars { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.probabilities: tuple[float, ...] | None = None
        """What is shown (None: a message instead)."""

    def show(self, probabilities: tuple[float, ...] | None, names: tuple[str, ...], message: str = "") -> None:
        """Show ``probabilities`` of the classes ``names``, or ``message`` when there are none."""
        self.probabilities = probabilities
        if probabilities is None:
            self.update(Text(message, style="dim"))
            return
        top = max(range(len(probabilities)), key=lambda k: probabilities[k])
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", no_wrap=True, max_width=10)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        for k, (name, p) in enumerate(zip(names, probabilities)):
            style = "bold green" if k == top else ""
            table.add_row(
                Text(name[:10], style="bold" if k == top else "dim"),
                Text(bar(p, WIDTH), style=style or "cyan"),
                Text(f"{100 * p:5.1f} %", style=style),
            )
        self.update(Group(Text(verdict(probabilities, names), style="bold green"), Text(""), table))
