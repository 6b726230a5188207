"""Accuracy per epoch, training and evaluation, with the best epoch marked."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import DataTable

from ..engine.events import EpochEnded, Event, RunStarted
from .pane import Pane
from .run_state import RunState

BEST = "★"


class AccuracyTable(Pane, DataTable):
    """One row per epoch; the best evaluation accuracy so far carries a star."""

    EVENTS = (RunStarted, EpochEnded)
    CAPTION = "Accuracy per epoch"

    # Never a horizontal scrollbar: in a 40-column pane (80x24, the panes beside the chart) the
    # columns of a run of 100 epochs or more are a cell or two wider than the pane, and the
    # scrollbar took the one row left for epochs. The star's column, last, is what is cut; the
    # best epoch's accuracy is also bold green, and the progress pane names it.
    DEFAULT_CSS = """
    AccuracyTable { height: 1fr; overflow-x: hidden; }
    """

    # The table's height is fixed (1fr), so a new row changes only what scrolls: it repaints the
    # table and its scrollbar. Textual's virtual_size asks for a layout of the whole screen when
    # it changes, which took the UI thread 40-150 ms at every epoch's end, keys waiting.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def watch_virtual_size(self) -> None:
        # What a layout does for a scrolling widget (a private method: Textual is pinned in
        # pyproject.toml, and test_tui_app checks the table scrolls to its newest row).
        self._scroll_update(self.virtual_size)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", zebra_stripes=True, show_cursor=False)
        self.epochs: list[EpochEnded] = []
        self._starred: str | None = None

    def on_mount(self) -> None:
        self.add_column("epoch", key="epoch")
        self.add_column("train %", key="train_acc")
        self.add_column("eval %", key="eval_acc")
        self.add_column("eval loss", key="eval_loss")
        self.add_column(" ", key="best")

    def show_event(self, event: Event, run: RunState) -> None:
        if isinstance(event, EpochEnded):
            self.add_epoch(event)
        else:
            self.show_run(run)

    def show_run(self, run: RunState) -> None:
        self.reset()
        self.border_title = f"{self.CAPTION} · {run.eval_name}" if run.eval_name else self.CAPTION
        for epoch in run.epochs:
            self.add_epoch(epoch)

    def reset(self) -> None:
        """Forget every epoch (a new run starts)."""
        self.epochs.clear()
        self._starred = None
        self.clear()

    def add_epoch(self, event: EpochEnded) -> None:
        """Append the epoch and move the star to the best one."""
        self.epochs.append(event)
        best = event.best_epoch == event.epoch
        if best and self._starred is not None:
            self.update_cell(self._starred, "best", "")
        style = "bold green" if best else ""
        self.add_row(
            f"{event.epoch}/{event.epochs}",
            f"{event.train_accuracy:.2f}",
            Text(f"{event.eval_accuracy:.2f}", style=style),
            f"{event.eval_loss:.4f}",
            Text(BEST, style="bold yellow") if best else "",
            key=str(event.epoch),
        )
        if best:
            self._starred = str(event.epoch)
        self.scroll_end(animate=False)
