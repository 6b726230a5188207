"""The runs browser's table: one row per run folder, sortable, filterable, with marks for the overlay."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from ..engine.catalog import RunEntry
from ..engine.run_rows import COLUMNS, DESCENDING, filter_runs, row_cells, sort_runs
from ..table import RUN_STAMP, cell_len, printable, shorten_middle

MARK = "●"
STATE_STYLES = {
    "finished": "green", "stopped": "yellow", "interrupted": "yellow", "running": "cyan", "damaged": "bold red",
}
FIRST = ("run", "state", "epochs", "final", "best", "time")
"""The columns a person reads a run by, first: the rest follow (ORDER) where they fit whole."""
ORDER = (*FIRST, "date", "preset", "device", "damage")
SHOWN_COLUMNS = sorted(
    [(key, header, right) for key, header, right in COLUMNS if key != "name"],  # the folder's name starts with it
    key=lambda column: ORDER.index(column[0]),
)
HEADERS = {key: header for key, header, _ in SHOWN_COLUMNS}
"""Each shown column's header label, by column key (the sort arrow follows it)."""
RIGHT = {key: right for key, _, right in SHOWN_COLUMNS}
"""Whether each column's cells are right-aligned (numbers)."""
COMPACT_HEADERS = {**HEADERS, "time": "time"}
"""Where the first columns do not fit whole under their headers (the table beside the details at
120x40), or the run names would be cut shorter, the training time's header is shortened."""
RUN_MIN_WIDTH = 15
"""The run column is cut to what leaves the first columns in view, down to this: a sweep trial's
``live-t0000…fb9b`` (its name whole, then its unique end)."""
_PADDING = 2  # a DataTable cell's padding, both sides


def fit_columns(rows: list[dict[str, str]], width: int, headers: dict[str, str] = HEADERS) -> tuple[int, list[str]]:
    """The run column's width and the keys of the columns shown, in ORDER, for these rows' cells
    in ``width`` cells under ``headers``.

    The run column is cut (down to RUN_MIN_WIDTH) to keep the other first columns in view; the
    columns after it show while they fit whole, and the first that does not is left out with those
    after it (at 120x40 the training column read ``0.`` for ``0.6s``, under a horizontal scroll bar)."""
    natural = {
        key: max([len(header) + 1, *(cell_len(cells[key]) for cells in rows)]) for key, header in headers.items()
    }
    room = width - (1 + _PADDING)  # the mark
    others = sum(natural[key] + _PADDING for key in FIRST[1:])
    run = min(natural["run"], max(RUN_MIN_WIDTH, room - others - _PADDING), max(1, room - _PADDING))
    # What the cut names take: less than ``run`` where a stamp's date was left out whole.
    used = max([len(HEADERS["run"]) + 1, *(cell_len(shorten_run(cells["run"], run)) for cells in rows)]) + _PADDING
    keys = ["run"]
    for key in ORDER[1:]:
        used += natural[key] + _PADDING
        if used > room:
            break
        keys.append(key)
    return run, keys


def shorten_run(run: str, width: int) -> str:
    """A run folder's name in at most ``width`` cells, keeping what tells runs apart: the name
    whole (a sweep's trial number ends it), "…", then the stamp's time and unique suffix, or the
    suffix alone; a name too long for that is cut in its middle too. The date goes first: the
    date column shows it (cut in the middle, ``live-t00…1202-123149-fb9b`` lost the trial number)."""
    stamp = RUN_STAMP.search(run)
    if cell_len(run) <= width or stamp is None:
        return shorten_middle(run, width)
    name = run[: stamp.start()]
    _date, time, suffix = stamp.group()[1:].split("-")
    for tail in (f"{time}-{suffix}", suffix):
        if cell_len(name) + 1 + len(tail) <= width:
            return f"{name}…{tail}"
    room = width - 1 - len(suffix)
    if room < 3:  # no name left to show beside the suffix
        return shorten_middle(run, width)
    return f"{shorten_middle(name, room)}…{suffix}"


class RunsTable(DataTable):
    """Run folders newest first; ``sort_by`` and ``filter`` reorder them, ``toggle_mark`` marks the cursor's run."""

    DEFAULT_CSS = "RunsTable { height: 1fr; }"

    class Sorted(Message):
        """The order changed (``sort_by``, or a header clicked): the table's ``sort_key`` and ``ascending`` say how."""

    class MarksChanged(Message):
        """The marked runs changed; ``marked`` holds their entries in the order they were marked."""

        def __init__(self, marked: list[RunEntry]) -> None:
            super().__init__()
            self.marked = marked

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.entries: list[RunEntry] = []
        self.shown: list[RunEntry] = []
        self.sort_key = "date"
        self.reverse = False
        self.filter_text = ""
        self.marked: list[str] = []
        """Marked runs' folder names, in the order they were marked."""
        self.headers = HEADERS
        """The column headers shown: HEADERS, or COMPACT_HEADERS where those leave a first column out."""

    def on_mount(self) -> None:
        self._add_columns(list(HEADERS))

    def _add_columns(self, keys: list[str]) -> None:
        self.add_column("", key="mark", width=1)
        for key in keys:
            self.add_column(self._header(key), key=key)

    @property
    def ascending(self) -> bool:
        """Whether the sort column's smallest value comes first."""
        return self._ascending(self.sort_key)

    @property
    def selected(self) -> RunEntry | None:
        """The run under the cursor."""
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def marked_entries(self) -> list[RunEntry]:
        by_run = {entry.run: entry for entry in self.entries}
        return [by_run[run] for run in self.marked if run in by_run]

    def set_entries(self, entries: list[RunEntry]) -> None:
        """Show a fresh listing; the cursor stays on its run and marks of runs that are gone are dropped."""
        self.entries = entries
        present = {entry.run for entry in entries}
        gone = [run for run in self.marked if run not in present]
        self.marked = [run for run in self.marked if run in present]
        self._refill()
        if gone:
            self.post_message(self.MarksChanged(self.marked_entries()))

    def sort_by(self, key: str) -> None:
        """Sort by a column; the same column again flips the order."""
        self.reverse = not self.reverse if key == self.sort_key else False
        self.sort_key = key
        self._refill()
        self.post_message(self.Sorted())

    def filter(self, text: str) -> None:
        """Show only runs matching every word of ``text``."""
        self.filter_text = text
        self._refill()

    def toggle_mark(self) -> None:
        """Mark the cursor's run for the overlay, or unmark it."""
        entry = self.selected
        if entry is None:
            return
        if entry.run in self.marked:
            self.marked.remove(entry.run)
        else:
            self.marked.append(entry.run)
        self.update_cell(entry.run, "mark", self._mark(entry))
        self.post_message(self.MarksChanged(self.marked_entries()))

    def unmark(self, runs: list[str]) -> None:
        """Unmark these runs (their curves could not be read: they take no overlay slot)."""
        gone = [run for run in runs if run in self.marked]
        if not gone:
            return
        self.marked = [run for run in self.marked if run not in gone]
        shown = {entry.run for entry in self.shown}
        for run in gone:
            if run in shown:
                self.update_cell(run, "mark", Text(""))
        self.post_message(self.MarksChanged(self.marked_entries()))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = str(event.column_key.value)
        if key != "mark":
            self.sort_by(key)

    def _refill(self) -> None:
        current = self.selected.run if self.selected else None
        self.shown = sort_runs(filter_runs(self.entries, self.filter_text), self.sort_key, reverse=self.reverse)
        rows = [{key: printable(value) for key, value in row_cells(entry).items()} for entry in self.shown]
        width = self._width()
        # Every first column in view, then the names as whole as can be, then the longer headers.
        fits = [(fit_columns(rows, width, headers), headers) for headers in (HEADERS, COMPACT_HEADERS)]
        (run_width, keys), self.headers = max(fits, key=lambda fit: (len(fit[0][1]) >= len(FIRST), fit[0][0]))
        # The columns too: a column's width only grows with its cells, and one kept from a wider
        # table left the run column 31 cells wide for names cut to 24, best % out of view.
        self.clear(columns=True)
        self._add_columns(keys)
        for entry, cells in zip(self.shown, rows):
            row = [self._mark(entry)]
            for key in keys:
                style = STATE_STYLES.get(entry.state, "") if key in ("state", "damage") else ""
                text = shorten_run(cells[key], run_width) if key == "run" else cells[key]
                row.append(Text(text, style=style, justify="right" if RIGHT[key] else "left"))
            self.add_row(*row, key=entry.run)
        runs = [entry.run for entry in self.shown]
        if current in runs:
            self.move_cursor(row=runs.index(current))

    def _width(self) -> int:
        """The cells the columns have: the table's width, less the vertical scroll bar's."""
        width = self.scrollable_content_region.width
        if not self.show_vertical_scrollbar:
            # Rows past the table's height bring the scrollbar after this fill: reserved now, or it
            # covered the last column's end (best % read 78.0 for 78.00 at 80x24).
            width -= self.styles.scrollbar_size_vertical
        return width

    def on_resize(self) -> None:
        if self.entries:  # the run column follows the table's width, once the layout gave it
            self.call_after_refresh(self._refill)

    def _header(self, key: str) -> Text:
        """A column's header: its label and the sort arrow, or a blank in the arrow's place.

        The blank keeps every header as wide with the arrow as without: a column is as wide as its
        header was when it was added (or its widest cell), and an arrow past that width was cut off."""
        arrow = ("▲" if self._ascending(key) else "▼") if key == self.sort_key else " "
        return Text(self.headers[key] + arrow)

    def _ascending(self, key: str) -> bool:
        return (key in DESCENDING) == self.reverse

    def _mark(self, entry: RunEntry) -> Text:
        return Text(MARK if entry.run in self.marked else "", style="bold")
