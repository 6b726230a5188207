"""Accuracy per epoch, training and evaluation, with the best epoch marked."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.widgets import DataTable

from ..engine.events import EpochEnded, Event, RunStarted, few_eval_digits
from .pane import Pane, fit_border_title
from .run_state import RunState

BEST = "★"
COLUMNS = {"epoch": "epoch", "train_acc": "train", "eval_acc": "eval", "eval_loss": "eval loss"}
"""Each column's key and header (the pane's title says the accuracies are per cent)."""
WIDTHS = {"train_acc": len("100.00"), "eval_acc": len(f"100.00 {BEST}"), "eval_loss": len("eval loss")}
"""The widest each column's cells and header get (the epoch's follows the run's epoch count)."""
LEFT_OUT = ("eval_loss", "train_acc")
"""What a pane too narrow for every column leaves out, first to last: the epoch and its accuracy stay."""
_PADDING = 2  # a DataTable cell's padding, both sides
_DRAWN_ROWS = 256
"""Rows whose strips the table keeps (a pane shows a few dozen at most; a long run's rows scroll by)."""


class AccuracyTable(Pane, DataTable):
    """One row per epoch; the best evaluation accuracy so far carries a star."""

    EVENTS = (RunStarted, EpochEnded)
    CAPTION = "Accuracy per epoch"
    SHORT_CAPTION = "Accuracy"

    # Never a horizontal scrollbar: in the 38 cells beside the chart at 80x24, it took the one row
    # left for epochs. The columns are fitted to the width instead (see fit_columns).
    DEFAULT_CSS = """
    AccuracyTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
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
        self.epoch_width = len("epoch")
        """The epoch column's width: the run's last epoch number, or its header."""
        self.shown: tuple[str, ...] = ()
        """The keys of the columns shown (what the width leaves, see :meth:`fit_columns`)."""
        self._starred: EpochEnded | None = None
        self._eval_name = ""
        self._few: tuple[str, str] | None = None  # few_eval_digits of the run's evaluation set, long and short
        self._drawn: LRUCache[tuple[object, ...], Strip] = LRUCache(_DRAWN_ROWS)
        self._base_style: Style | None = None

    def on_mount(self) -> None:
        self.fit_columns()

    def on_resize(self) -> None:
        self.fit_columns()
        self.fit_title()
        # A lower table keeps its scroll offset: three epochs fitted unscrolled at 120x40, and at
        # 80x24 its one row showed epoch 1 until the next epoch's end. The newest stays in view.
        self.scroll_end(animate=False)

    def show_event(self, event: Event, run: RunState) -> None:
        if isinstance(event, EpochEnded):
            self.add_epoch(event)
        else:
            self.show_run(run)

    def show_run(self, run: RunState) -> None:
        self._eval_name = run.eval_name
        few = None if run.eval_size is None else few_eval_digits(run.eval_size)
        self._few = None if few is None else (few, few_eval_digits(run.eval_size, short=True) or few)
        self.fit_title()
        self.epochs = list(run.epochs)
        stars = [epoch for epoch in self.epochs if epoch.best_epoch == epoch.epoch]
        self._starred = stars[-1] if stars else None
        last = max([int(run.config.get("epochs", 0)), *(epoch.epoch for epoch in self.epochs)])
        self.epoch_width = max(len("epoch"), len(str(last)))
        self.fit_columns(refill=True)

    def add_epoch(self, event: EpochEnded) -> None:
        """Append the epoch and move the star to the best one."""
        self.epochs.append(event)
        if event.best_epoch == event.epoch:
            if self._starred is not None:
                self.update_cell(str(self._starred.epoch), "eval_acc", self._accuracy(self._starred, starred=False))
            self._starred = event
        self._add_row(event)
        self.scroll_end(animate=False)

    def fit_columns(self, *, refill: bool = False) -> None:
        """Show the columns the width holds, the vertical scrollbar's cells kept for it, so none
        is cut: in 38 cells (beside the chart at 80x24) all of them up to 100,000 epochs; in
        22 (under the chart beside the form) the epoch and its evaluation accuracy."""
        width = self.size.width - self.styles.scrollbar_size_vertical
        widths = {**WIDTHS, "epoch": self.epoch_width}
        shown = list(COLUMNS)
        for key in LEFT_OUT:
            if sum(widths[k] + _PADDING for k in shown) <= width:
                break
            shown.remove(key)
        if tuple(shown) == self.shown and not refill:
            return
        self.shown = tuple(shown)
        self._drawn.clear()
        self.clear(columns=True)
        for key in self.shown:
            # The last column sizes itself: an eval loss past 9,999 grows it rather than being cut.
            self.add_column(COLUMNS[key], key=key, width=None if key == "eval_loss" else widths[key])
        for event in self.epochs:
            self._add_row(event)
        self.scroll_end(animate=False)

    def render_line(self, y: int) -> Strip:
        """The header (the first line) or a row, drawn once for as long as it stays the same.

        DataTable draws every row in view again after any change (its caches are keyed by a count
        of changes): at an epoch's end, twice (the new row, then the scroll to it), about 1 ms a
        row here. An epoch changes at most three rows: the new one, and the star's old and new.
        """
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y - 1 if y else -1  # the header stays on the first line
        if row >= self.row_count:  # under the last row: blank, until a row comes
            return super().render_line(y)
        starred = row >= 0 and self.epochs[row] is self._starred
        if self._base_style is None:
            self._base_style = self.rich_style
        widths = tuple(column.content_width for column in self.columns.values())  # the eval loss's grows
        key = (row, starred, widths, self.size.width, scroll_x, self._pseudo_class_state, self._base_style)
        strip = self._drawn.get(key)
        if strip is None:
            strip = self._drawn[key] = super().render_line(y)
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
        self._drawn.clear()

    def fit_title(self) -> None:
        """The longest title the top border holds whole (Textual cut it: "· official tes…")."""
        titles = [f"{self.CAPTION} · {self._eval_name}", f"{self.SHORT_CAPTION} · {self._eval_name}"] if self._eval_name else []
        if self._few:  # before the name is left out: "only 1 evaluation digit" is why a 100 % means little
            few, short = self._few
            titles = [f"{title} · {few}" for title in titles] + [f"{self.SHORT_CAPTION} · {few}", few, short]
        fit_border_title(self, [*titles, self.CAPTION, self.SHORT_CAPTION])

    def _add_row(self, event: EpochEnded) -> None:
        cells = {
            "epoch": str(event.epoch),
            "train_acc": f"{event.train_accuracy:.2f}",
            "eval_acc": self._accuracy(event, starred=event is self._starred),
            "eval_loss": f"{event.eval_loss:.4f}",
        }
        self.add_row(*(cells[key] for key in self.shown), key=str(event.epoch))

    @staticmethod
    def _accuracy(event: EpochEnded, *, starred: bool) -> Text:
        """The evaluation accuracy, bold green if it was the best when it came, and the star if it still is."""
        text = Text(f"{event.eval_accuracy:.2f}", style="bold green" if event.best_epoch == event.epoch else "")
        if starred:
            text.append(f" {BEST}", style="bold yellow")
        return text
