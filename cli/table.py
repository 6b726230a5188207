"""Tables on stdout for the listing commands: Rich on a terminal, plain aligned lines otherwise."""

from __future__ import annotations

import os
import sys
from typing import Sequence


def on_terminal() -> bool:
    """Whether stdout is a terminal that takes Rich's colours and box drawing."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    right: frozenset[int] = frozenset(),
    whole: frozenset[int] = frozenset(),
) -> None:
    """Print ``rows`` under ``headers``; columns whose index is in ``right`` are right-aligned
    (numbers), those in ``whole`` are never cut or wrapped on a narrow terminal (names to copy)."""
    if on_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left", header_style="bold")
        for index, header in enumerate(headers):
            widest = max((len(str(row[index])) for row in rows), default=0) if index in whole else None
            table.add_column(
                header, justify="right" if index in right else "left", no_wrap=index in whole, min_width=widest
            )
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    if title:
        print(title)
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for row in (headers, *rows):
        cells = [
            str(cell).rjust(width) if index in right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        ]
        print("  ".join(cells).rstrip())
