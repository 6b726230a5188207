"""The selected run's configuration, where it differs from a second run or from its preset, and the
settings changed while it trained (its configuration is what it started with)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..engine.catalog import RunEntry
from ..engine.run_rows import config_differences, format_value
from ..engine.config import Config
from ..engine.settings import describe_changes
from ..table import printable


NONE_SELECTED = "Select a run to see its configuration."
CHANGES_HEADING = "changed while it trained (the table has the values it started with):"
UNREADABLE_CHANGES = "summary.json's setting changes cannot be read: enter opens the run, whose chart marks them"


class RunDetails(VerticalScroll):
    """A run's state, its damage if any, and its configuration with the fields that differ from ``other``."""

    DEFAULT_CSS = """
    RunDetails { height: 1fr; scrollbar-size-vertical: 1; }
    RunDetails > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.differences: dict[str, list[Any]] = {}
        """Fields where the shown run differs from what it is compared with: each with both values."""
        self.caption = ""
        """What the comparison found, as the pane's first line after the run says it."""

    def compose(self) -> ComposeResult:
        yield Static(NONE_SELECTED, id="details")

    def show_none(self, text: str = "") -> None:
        """No run selected (none listed, or none matches the filter): say so instead of the last one's."""
        self.differences = {}
        self.caption = ""
        self.query_one("#details", Static).update(Text(text or NONE_SELECTED, style="dim"))

    def show(
        self,
        entry: RunEntry,
        config: Config | None,
        *,
        problem: str | None = None,
        other: tuple[str, Config] | None = None,
    ) -> None:
        """Show ``entry`` with ``config`` (or the ``problem`` reading it), compared with ``other`` (label, config)."""
        self.differences = {}
        self.caption = ""
        parts: list[Any] = [Text.assemble((printable(entry.run), "bold"), "  ", (entry.state, "italic"))]
        if entry.damage or problem:
            self.caption = f"damaged: {printable(entry.damage or problem)}"
            parts.append(Text(self.caption, style="bold red"))
        table = None
        if config is not None:
            if other is None:
                self.caption = "no preset or second run to compare with (mark one with space)"
                parts.append(Text(self.caption, style="dim"))
                table = _table(config, None, {})
            else:
                label, other_config = other
                self.differences = config_differences([config, other_config])
                self.caption = f"differs from {label} in: {', '.join(self.differences) or 'nothing'}"
                parts.append(Text(self.caption))
                table = _table(config, other, self.differences)
        parts.extend(_changes(entry))  # before the table, which has the values the run started with
        if table is not None:
            parts.append(table)
        self.query_one("#details", Static).update(Group(*parts))


def _changes(entry: RunEntry) -> list[Text]:
    """The settings changed while ``entry`` trained, under its heading (magenta, as the loss chart marks them)."""
    changes = setting_changes(entry.get("changes"))
    if changes is None:
        return [Text(UNREADABLE_CHANGES, style="bold red")]
    return [Text("\n".join([CHANGES_HEADING, *changes]), style="magenta")] if changes else []


def setting_changes(changes: object) -> list[str] | None:
    """The setting changes a summary lists, a line each (``epoch 149: lr 0.003 -> 0.0001``), in
    the order they were made; None where they are not as the engine writes them (older summaries
    have none)."""
    if changes is None:
        return []
    if not isinstance(changes, list):
        return None
    lines = []
    for change in changes:
        if not isinstance(change, dict) or not _is_count(change.get("epoch")):
            return None
        values = change.get("changes")
        if not isinstance(values, dict) or not all(map(_is_pair, values.values())):
            return None
        lines.append(printable(f"epoch {change['epoch']}: {describe_changes(values)}"))
    return lines


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_pair(value: object) -> bool:
    """An old and a new value, both numbers."""
    return isinstance(value, list) and len(value) == 2 and all(
        isinstance(number, (int, float)) and not isinstance(number, bool) for number in value
    )


def _table(config: Config, other: tuple[str, Config] | None, differences: dict[str, list[Any]]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=other is not None, header_style="bold")
    table.add_column("field", style="dim")
    table.add_column("this run")
    if other is not None:
        table.add_column(other[0])
    values = config.to_dict()
    theirs = other[1].to_dict() if other else {}
    # Differences first: they are what the comparison is for.
    for name in [*differences, *(n for n in values if n not in differences)]:
        changed = name in differences
        row = [
            Text(name, style="bold yellow" if changed else "dim"),
            Text(format_value(values[name]), style="bold" if changed else ""),
        ]
        if other is not None:
            row.append(Text(format_value(theirs[name]), style="bold" if changed else "dim"))
        table.add_row(*row)
    return table
