"""The Sweep view: a live table of the sweep's trials, their curves, and accuracy against each searched field.

``mnist-tui sweep`` opens the dashboard here and feeds it :class:`SweepUpdated` messages (a
snapshot of the study, posted from the thread that supervises the workers whenever it changed);
the app sets them on this view. Hidden, the view only keeps the latest snapshot and draws it when
shown. ``enter`` opens the chosen trial's run folder in the Train view, ``i`` in Inspect.
"""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from ..engine.trial_rows import SweepSnapshot, best_of, format_param
from .pane import View
from .sweep_charts import UNITS, FieldPlot, TrialCurves
from .trials_table import TrialsTable

PLOTS_HEIGHT, PLOTS_MIN = 16, 10
"""Rows of the plots' pane: as many as there is room for beside the table, within these."""
TRIALS_MIN, TABLE_CHROME = 5, 4
"""Trial rows the table keeps on a short terminal (80x24), and its borders, header and scrollbar."""

NO_SWEEP = "No sweep in this dashboard. Start one with: mnist-tui sweep --space FILE.toml (see mnist-tui sweep --help)"


class SweepUpdated(Message):
    """The sweep's study as it stands now (posted from the sweep's supervising thread)."""

    def __init__(self, snapshot: SweepSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


def describe_sweep(snapshot: SweepSnapshot) -> str:
    """The view's summary line: the study and its counts by state, paused trials apart from running
    ones (cut with an ellipsis where too long)."""
    counts: dict[str, int] = {}
    for row in snapshot.rows:
        state = "paused" if row.paused else row.state
        counts[state] = counts.get(state, 0) + 1
    if not counts:
        return f"Study {snapshot.study} · {snapshot.status} · no trials yet"
    tally = ", ".join(f"{n} {state}" for state, n in counts.items())
    total = len(snapshot.rows)
    return f"Study {snapshot.study} · {snapshot.status} · {total} trial{'' if total == 1 else 's'}: {tally}"


def describe_best(snapshot: SweepSnapshot) -> str:
    """The trials table's title: the best trial, its accuracy and every parameter.

    On the summary line, after the counts, the parameters ran off the end at 120 columns, the
    closing parenthesis with them; the title has a line of its own (cut with an ellipsis)."""
    best = best_of(snapshot.rows)
    if best is None:
        return "Trials"
    params = " ".join(f"{k}={format_param(v)}" for k, v in best.params.items())
    return f"Trials · best: trial {best.number}, {best.value:.2f} % ({params})"


class FieldPlots(ScrollableContainer):
    """A plot per searched field: side by side while each stands :data:`MIN_WIDTH` cells wide, then in rows, scrolled.

    Six fields in half of an 80-column terminal had left each plot 8 cells: no axis could be read.
    """

    MIN_WIDTH = 26
    DEFAULT_CSS = f"""
    FieldPlots {{ width: 1fr; layout: grid; grid-size: 1; grid-rows: {PLOTS_HEIGHT}; }}
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.count = 0

    def set_height(self, rows: int) -> None:
        """Each row of plots as tall as the pane (the rows past the first are scrolled to)."""
        self.styles.grid_rows = str(rows)

    def show_plots(self, plots: list[FieldPlot]) -> None:
        """Replace the plots with these."""
        self.remove_children()
        self.count = len(plots)
        self.mount_all(plots)
        self.set_columns()

    def on_resize(self) -> None:
        self.set_columns()

    def set_columns(self) -> None:
        self.styles.grid_size_columns = max(1, min(self.count, self.size.width // self.MIN_WIDTH))


class SweepView(View):
    """The trials of the sweep this dashboard was opened for, live."""

    KEY = "5"
    TITLE = "Sweep"
    BINDINGS = [
        Binding("enter", "open('TrainView')", "Open in Train", show=False),
        Binding("i", "open('InspectView')", "Open in Inspect", show=False),
    ]
    DEFAULT_CSS = """
    SweepView { layout: vertical; }
    SweepView #sweep-summary { height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    SweepView #sweep-summary.-hint { height: auto; text-wrap: wrap; }
    SweepView #trials { height: 1fr; border: round $primary 60%; border-title-color: $accent; }
    SweepView #trials:focus { border: round $accent; }
    SweepView #curves { width: 1fr; border: round $primary 60%; border-title-color: $accent; }
    SweepView FieldPlot { border: round $primary 60%; border-title-color: $accent; }
    """

    class TrialOpened(Message):
        """The user asked to see a trial's run in another view."""

        def __init__(self, number: int, run_dir: str | None, view: str, state: str) -> None:
            super().__init__()
            self.number = number
            self.run_dir = run_dir
            self.view = view
            self.state = state

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: SweepSnapshot | None = None
        self._stale = False
        self.draws = 0
        """Times the view drew a snapshot (the tests check hidden views draw none)."""

    def compose(self) -> ComposeResult:
        yield Static(NO_SWEEP, id="sweep-summary", classes="-hint")  # wrapped: the only line worth reading
        yield TrialsTable(id="trials")
        with Horizontal(id="sweep-plots"):
            yield TrialCurves(id="curves")
            yield FieldPlots(id="field-plots")

    def on_resize(self, event: events.Resize) -> None:
        """The plots give up rows (down to :data:`PLOTS_MIN`) for the table to list :data:`TRIALS_MIN` rows."""
        rows = max(PLOTS_MIN, min(PLOTS_HEIGHT, event.size.height - 1 - TRIALS_MIN - TABLE_CHROME))
        self.query_one("#sweep-plots").styles.height = rows
        self.query_one(FieldPlots).set_height(rows)

    def on_mount(self) -> None:
        self.query_one("#trials").border_title = "Trials"
        self.query_one("#curves").border_title = "Accuracy by epoch: [green]best[/] · [gray]others[/]"

    def on_show_view(self) -> None:
        self.query_one(TrialsTable).focus()
        if self._stale:
            self._draw()

    def show_sweep(self, snapshot: SweepSnapshot) -> None:
        """Set the sweep's latest snapshot; drawn now if the view is shown, else when it is."""
        self.snapshot = snapshot
        if self.display:
            self._draw()
        else:
            self._stale = True

    def _draw(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        self._stale = False
        self.draws += 1
        summary = self.query_one("#sweep-summary", Static)
        summary.update(describe_sweep(snapshot))
        summary.remove_class("-hint")
        # The keys act on a trial: shown once there is one to open.
        self.query_one("#trials").border_subtitle = "enter: open in Train · i: in Inspect" if snapshot.rows else ""
        self.query_one("#trials").border_title = Content(describe_best(snapshot))  # no markup: a choice may hold [ ]
        fields = tuple(snapshot.space)
        self.query_one(TrialsTable).show(snapshot.rows, fields)
        self.query_one(TrialCurves).show(snapshot.rows)
        plots = {plot.field: plot for plot in self.query(FieldPlot)}
        if set(plots) != set(fields):
            plots = {field: FieldPlot(field, snapshot.space[field]) for field in fields}
            self.query_one(FieldPlots).show_plots(list(plots.values()))
            for plot in plots.values():
                plot.border_title = plot.title  # the field first: "Accuracy vs" cut every title to the same words
                plot.border_subtitle = UNITS
        for plot in plots.values():
            plot.show(snapshot.rows)

    def action_open(self, view: str) -> None:
        """Show the chosen trial's run in ``view`` (its folder's events, as recorded so far)."""
        table = self.query_one(TrialsTable)
        number = table.chosen_number()
        if number is None or self.snapshot is None:
            return
        row = next(r for r in self.snapshot.rows if r.number == number)
        self.post_message(self.TrialOpened(number, row.run_dir, view, row.state))

    @on(DataTable.RowSelected, "#trials")
    def _row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_open("TrainView")
