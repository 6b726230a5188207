"""Tables on stdout for the listing commands: Rich on a terminal, plain aligned lines otherwise.

Every cell is shown as text, never interpreted: a folder name or summary value with control
characters (an escape sequence that clears the screen) prints them escaped, and one with square
brackets is no Rich markup.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from rich.table import Table

PADDED_AT_MOST = 100
"""The widest a plain table pads a column to: a longer cell (a damaged summary's 5-million-character
value) is printed whole on its own row rather than padding every other row to its width."""
UNSEEN = frozenset(("Cc", "Cf", "Zl", "Zp"))
"""Unicode categories escaped in a cell: controls, invisible format characters (bidirectional
overrides among them, which reorder what follows), and line and paragraph separators."""


def on_terminal() -> bool:
    """Whether stdout is a terminal that takes Rich's colours and box drawing (not when it is closed)."""
    return sys.stdout is not None and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def silence_stdout() -> None:
    """Point stdout at /dev/null: a closed pipe or a full disk would refuse every later line too,
    the interpreter's last flush among them."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def printable(text: object) -> str:
    """``text`` with every control or invisible character written as Python writes it (``\\x1b``),
    as ``--json`` escapes them: a name cannot move the cursor, recolour or clear the terminal."""
    text = str(text)
    if text.isprintable():  # the usual case, checked in C
        return text
    return "".join(ascii(char)[1:-1] if unicodedata.category(char) in UNSEEN else char for char in text)


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
    headers = [printable(header) for header in headers]
    rows = [[printable(cell) for cell in row] for row in rows]
    if on_terminal():
        from rich.console import Console

        Console().print(rich_table(headers, rows, title=title, right=right, whole=whole))
        return
    if title:
        print(title)
    widths = [min(PADDED_AT_MOST, max(len(cell) for cell in column)) for column in zip(headers, *rows)]
    for row in (headers, *rows):
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        ]
        print("  ".join(cells).rstrip())


def rich_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    right: frozenset[int] = frozenset(),
    whole: frozenset[int] = frozenset(),
) -> Table:
    """The Rich table ``print_table`` prints on a terminal, of cells already ``printable``."""
    from rich.cells import cell_len
    from rich.highlighter import ReprHighlighter
    from rich.table import Table
    from rich.text import Text

    highlight = ReprHighlighter()  # numbers coloured as Rich colours a str cell, with no markup read

    # A title wider than a narrow table (compare's "Configuration differences: run 7 of 7") stays on one line.
    title_text = title and Text(title, no_wrap=True, overflow="ignore")
    table = Table(title=title_text, title_justify="left", header_style="bold")
    for index, header in enumerate(headers):
        widest = max((cell_len(row[index]) for row in rows), default=0) if index in whole else None
        table.add_column(
            Text(header),
            justify="right" if index in right else "left",
            no_wrap=index in whole,
            min_width=widest,
            overflow="ellipsis" if index in whole else "fold",  # a word too wide goes on over lines, uncut
        )
    for row in rows:
        table.add_row(*(highlight(cell) for cell in row))  # a Text, not a str: "[bold]" in a name is no markup
    return table


RUN_STAMP = re.compile(r"-\d{8}-\d{6}-[0-9a-f]+$")
"""The end of a run folder's name that makes it unique (``-20261122-101500-ab12``)."""


def shorten_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by "…": a run's name keeps its start and
    as much as fits of its unique end (the start keeps a third at least)."""
    if cell_len(text) <= width:
        return text
    keep = width - 1
    stamp = RUN_STAMP.search(text)
    tail = min(cell_len(stamp.group()) if stamp else (keep + 1) // 2, keep - keep // 3)
    return _cells(text, keep - tail) + "…" + _cells(text, tail, from_end=True)


def _cells(text: str, width: int, *, from_end: bool = False) -> str:
    """The longest start (or end) of ``text`` that takes at most ``width`` cells (a wide character takes two)."""
    taken: list[str] = []
    used = 0
    for char in reversed(text) if from_end else text:
        used += cell_len(char)
        if used > width:
            break
        taken.append(char)
    return "".join(reversed(taken) if from_end else taken)


def cell_len(text: str) -> int:
    """The terminal cells ``text`` takes, as Rich counts them (Rich loads only to draw a table)."""
    from rich.cells import cell_len as measure

    return measure(text)
