"""The Runs view: every run folder, sortable and filterable, its configuration, and marked runs overlaid.

Listing reads each folder's summary only (in a worker thread); a run's events are read when it
is marked (its curves) or opened (replayed into Train and Inspect by the app). The view posts
:class:`RunsView.Opened` and :class:`RunsView.ResumeRequested` up; the app does the rest.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from ..engine.catalog import DamagedRun, RunEntry, list_runs, read_config
from ..engine.run_rows import preset_of
from ..engine.config import Config
from .overlay_chart import PALETTE, OverlayChart
from .pane import View
from .run_curves import RunCurves, read_curves
from .run_details import RunDetails
from .runs_table import HEADERS, RunsTable

SORT_CYCLE = ("date", "final", "best", "time", "run", "preset", "state", "epochs", "device")
REFRESH_SECONDS = 2.0
"""While the view is shown, the runs folder is listed again this often (runs start, progress and
end in other processes), or further apart where a listing takes long: at most ``LISTING_SHARE``
of a core is spent listing (its worker thread's CPU time). A hidden view lists nothing."""
LISTING_SHARE = 0.02
RESUMABLE = ("stopped", "interrupted")


class RunsView(View):
    """The runs browser: list, compare, overlay, open and resume the runs under the runs folder."""

    KEY = "4"
    TITLE = "Runs"
    DEFAULT_CSS = """
    RunsView { layout: vertical; }
    RunsView #runs-filter { height: 1; border: none; padding: 0 1; margin: 0 0 0 0; }
    RunsView #runs-top { height: 1fr; }
    RunsView #runs-table-box { width: 1fr; border: round $primary 60%; border-title-color: $accent; }
    RunsView #runs-details { width: 48; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    RunsView #runs-overlay { height: 1fr; border: round $primary 60%; border-title-color: $accent; }
    RunsView #runs-empty { color: $text-muted; padding: 0 1; height: auto; }
    """

    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("r", "resume", "Resume"),
        Binding("o", "sort", "Sort"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("g", "reload", "Reload"),
        # Ahead of the app's escape, which leaves focus nowhere: here that left the table and these keys deaf.
        Binding("escape", "focus_table", "Back to the runs", show=False),
    ]

    class Opened(Message):
        """Open this run: replay its events into Train and Inspect."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class ResumeRequested(Message):
        """Continue this stopped run from its last checkpoint."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, runs_dir: str | Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs_dir = Path(runs_dir)
        self.curves: dict[str, RunCurves] = {}
        """Curves of the marked runs only (unmarking forgets them): memory stays bounded."""
        self.listed = 0
        """Listings shown so far (the tests wait on it)."""
        self._listing = False  # a listing is in flight
        self._shown: tuple[str, ...] | None = None  # what the table shows, row by row
        self._next_listing = 0.0  # monotonic time before which the timer lists nothing
        self._reading: set[str] = set()  # marked runs whose curves are being read

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: words in the run's name, preset, state, device or damage (/ to type)", id="runs-filter"
        )
        with Horizontal(id="runs-top"):
            with Vertical(id="runs-table-box"):
                yield Static("", id="runs-empty")
                yield RunsTable(id="runs-table")
            yield RunDetails(id="runs-details")
        yield OverlayChart(id="runs-overlay")

    def on_mount(self) -> None:
        self.query_one("#runs-table-box").border_title = f"Runs in {self.runs_dir}"
        self.query_one("#runs-details").border_title = "Configuration"
        self.query_one(OverlayChart).border_subtitle = "space mark · enter open · r resume · o sort · / filter · g reload"
        self._refresher = self.set_interval(REFRESH_SECONDS, self._refresh, pause=True)

    def on_show_view(self) -> None:
        """List afresh each time the view is shown (a hidden view reads nothing)."""
        self.reload()
        self.query_one(RunsTable).focus()
        self._refresher.resume()

    def _refresh(self) -> None:
        """The timer: list again while shown; once hidden, the timer stops until shown again."""
        if not self.display or not self.is_attached:
            self._refresher.pause()
            return
        if not self._listing and time.monotonic() >= self._next_listing:
            self.reload()

    # --- listing ------------------------------------------------------------------------------

    def reload(self) -> None:
        """List the runs folder again (in a worker: a thousand summaries take a moment)."""
        self._listing = True
        self._list(self.runs_dir)

    @work(thread=True, exclusive=True, group="runs-list")
    def _list(self, runs_dir: Path) -> None:
        started = time.thread_time()  # the listing's own cost, not the time it waited for the GIL
        try:
            entries, problem = list_runs(runs_dir), None
        except OSError as error:
            entries, problem = [], f"No runs: {runs_dir} cannot be read ({error.strerror or error})."
        if not entries and problem is None:
            problem = f"No runs in {runs_dir} yet: train one (Train view) and it is listed here."
        rows = tuple(json.dumps(entry.to_dict(), sort_keys=True, default=str) for entry in entries)
        took = time.thread_time() - started
        self.app.call_from_thread(self._show_listing, entries, problem, rows, took)

    def _show_listing(
        self, entries: list[RunEntry], problem: str | None, rows: tuple[str, ...] | None = None, took: float = 0.0
    ) -> None:
        self._listing = False
        self._next_listing = time.monotonic() + took / LISTING_SHARE
        self.listed += 1
        if rows is not None and rows == self._shown:
            return  # nothing changed: the table, its cursor and the details stay as they are
        self._shown = rows
        table = self.query_one(RunsTable)
        table.set_entries(entries)
        empty = self.query_one("#runs-empty", Static)
        empty.update(problem or "")
        empty.display = problem is not None
        self._caption()
        self._show_details()

    def _caption(self) -> None:
        table = self.query_one(RunsTable)
        order = "ascending ▲" if table.ascending else "descending ▼"
        self.query_one("#runs-table-box").border_subtitle = (
            f"{len(table.shown)} of {len(table.entries)} runs, by {HEADERS[table.sort_key]}, {order}"
        )

    # --- actions ------------------------------------------------------------------------------

    def action_mark(self) -> None:
        table = self.query_one(RunsTable)
        entry = table.selected
        if entry is None:
            return
        if entry.run not in table.marked:
            if entry.damage:  # no curves to draw: refused here, not warned about at every later mark
                self.notify(f"Cannot overlay {entry.run}: it is damaged ({entry.damage}).", severity="error")
                return
            if len(table.marked) >= len(PALETTE):
                self.notify(f"At most {len(PALETTE)} runs overlay at once: unmark one first.", severity="warning")
                return
        table.toggle_mark()

    def action_open(self) -> None:
        entry = self.query_one(RunsTable).selected
        if entry is None:
            return
        if entry.damage:
            self.notify(f"{entry.run} is damaged: {entry.damage}", severity="error")
            return
        self.post_message(self.Opened(entry.path))

    def action_resume(self) -> None:
        entry = self.query_one(RunsTable).selected
        if entry is None:
            return
        if entry.damage or entry.state not in RESUMABLE:
            self.notify(f"Only a stopped or interrupted run resumes; {entry.run} is {entry.state}.", severity="warning")
            return
        self.post_message(self.ResumeRequested(entry.path))

    def action_sort(self) -> None:
        table = self.query_one(RunsTable)
        at = SORT_CYCLE.index(table.sort_key) if table.sort_key in SORT_CYCLE else -1
        table.sort_by(SORT_CYCLE[(at + 1) % len(SORT_CYCLE)])  # the caption follows its Sorted

    def action_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def action_reload(self) -> None:
        self.reload()

    def action_focus_table(self) -> None:
        """Escape: leave the filter (its words still apply), or anything else here, for the table."""
        self.query_one(RunsTable).focus()

    @on(Input.Changed, "#runs-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(RunsTable).filter(event.value)
        self._caption()
        if self.query_one(RunsTable).selected is None:
            self.query_one(RunDetails).show_none("No run matches the filter." if event.value.strip() else "")

    @on(RunsTable.Sorted)
    def _sorted(self) -> None:
        self._caption()

    @on(Input.Submitted, "#runs-filter")
    def _filtered(self) -> None:
        self.query_one(RunsTable).focus()

    # --- selection, differences and the overlay -----------------------------------------------------

    @on(DataTable.RowSelected, "#runs-table")
    def _selected(self) -> None:
        self.action_open()

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        table = self.query_one(RunsTable)
        entry = table.selected
        if entry is None:
            return
        try:
            config, problem = read_config(entry.path), None
        except DamagedRun as error:
            config, problem = None, str(error)
        self.query_one(RunDetails).show(entry, config, problem=problem, other=self._other(entry, table))

    def _other(self, entry: RunEntry, table: RunsTable) -> tuple[str, Config] | None:
        """What the selected run is compared with: the first other marked run, else its preset."""
        for other in table.marked_entries():
            if other.run != entry.run:
                try:
                    return other.run, read_config(other.path)
                except DamagedRun:
                    continue
        preset = preset_of(entry)
        return (f"preset {entry.get('preset')}", preset) if preset else None

    @on(RunsTable.MarksChanged)
    def _marks_changed(self, message: RunsTable.MarksChanged) -> None:
        marked = [entry.run for entry in message.marked]
        self.curves = {run: curves for run, curves in self.curves.items() if run in marked}
        missing = [entry for entry in message.marked if entry.run not in self.curves and entry.run not in self._reading]
        self._reading.update(entry.run for entry in missing)
        if missing:
            self._read_curves(missing)
        else:
            self._overlay()
        self._show_details()

    @work(thread=True, group="runs-curves")
    def _read_curves(self, entries: list[RunEntry]) -> None:
        read: dict[str, RunCurves] = {}
        problems: dict[str, str] = {}
        for entry in entries:
            try:
                read[entry.run] = read_curves(entry.path)
            except DamagedRun as error:
                problems[entry.run] = str(error)
        self.app.call_from_thread(self._curves_read, read, problems)

    def _curves_read(self, read: dict[str, RunCurves], problems: dict[str, str]) -> None:
        table = self.query_one(RunsTable)
        self._reading.difference_update([*read, *problems])
        self.curves.update({run: curves for run, curves in read.items() if run in table.marked})
        failed = [run for run in problems if run in table.marked]
        for run in failed:
            self.notify(f"Cannot overlay {run}: {problems[run]}; unmarked it.", severity="error")
        # Unmarked, a run without curves takes none of the overlay's slots and is not read again.
        table.unmark(failed)
        self._overlay()

    def _overlay(self) -> None:
        marked = self.query_one(RunsTable).marked
        self.query_one(OverlayChart).show([self.curves[run] for run in marked if run in self.curves])
