"""The Inspect view: which digits the model confuses, its most confident mistakes, and what its first layer learned.

One pane for the epoch's inspection events: it keeps which epoch is shown (the latest by default)
and which confusion cell is selected, and sets its widgets from the run's state.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll

from ..engine.events import ConfusionCounted, Event, LayersMeasured, MistakesFound, RunStarted, WeightsSampled
from .class_bars import ClassBars
from .confusion_grid import ConfusionGrid
from .mistake_cards import MistakeCards
from .pane import Pane, View
from .run_state import RunState
from .weight_tiles import WeightTiles


NARROW = 118
"""Columns under which the Inspect panes stand one above the other."""


class InspectView(Pane, View):
    """Confusion matrix, per-class accuracy, mistakes of the selected cell, first-layer weights."""

    KEY = "2"
    TITLE = "Inspect"
    EVENTS = (RunStarted, ConfusionCounted, MistakesFound, WeightsSampled, LayersMeasured)
    WAITED = (MistakesFound, WeightsSampled)
    BINDINGS = [
        Binding("left_square_bracket", "epoch(-1)", "Earlier epoch", key_display="["),
        Binding("right_square_bracket", "epoch(1)", "Later epoch", key_display="]"),
    ]
    DEFAULT_CSS = """
    InspectView { layout: vertical; }
    InspectView #inspect-scroll { height: 1fr; scrollbar-size-vertical: 1; }
    InspectView #inspect-top { height: auto; }
    InspectView #confusion-box { width: auto; height: auto; border: round $primary 60%; border-title-color: $accent; }
    InspectView #confusion-box:focus-within { border: round $accent; }
    InspectView #class-bars { width: 1fr; height: auto; min-height: 13; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    InspectView #inspect-bottom { height: auto; }
    InspectView #mistakes { width: 1fr; height: auto; min-height: 17; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    InspectView.-narrow #inspect-top, InspectView.-narrow #inspect-bottom { layout: vertical; }
    InspectView.-narrow #class-bars, InspectView.-narrow #mistakes, InspectView.-narrow #weights { width: 1fr; }
    InspectView #weights { width: 49; height: auto; min-height: 17; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.epoch: int | None = None
        """The epoch shown; None follows the latest."""
        self.run = RunState()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspect-scroll"):
            with Horizontal(id="inspect-top"):
                with Vertical(id="confusion-box"):
                    yield ConfusionGrid(id="confusion")
                yield ClassBars(id="class-bars")
            with Horizontal(id="inspect-bottom"):
                yield MistakeCards(id="mistakes")
                yield WeightTiles(id="weights")

    def on_mount(self) -> None:
        self.query_one("#class-bars").border_title = "Accuracy per class"
        self.query_one("#weights").border_title = "First layer's weights"
        self.show_run(self.run)

    def on_resize(self) -> None:
        # Under this width the panes stack (the heatmap alone takes 73 cells): scrolled, not squeezed.
        self.set_class(self.size.width < NARROW, "-narrow")

    def on_show_view(self) -> None:
        self.query_one(ConfusionGrid).focus()

    # --- the pane ---------------------------------------------------------------------------

    def show_event(self, event: Event, run: RunState) -> None:
        self.show_run(run)

    def show_run(self, run: RunState) -> None:
        self.run = run
        if self.epoch is not None and run.inspection(self.epoch) is None:
            self.epoch = None  # a new run, or the epoch fell out of memory
        self._draw()

    # --- choosing ---------------------------------------------------------------------------

    def action_epoch(self, step: int) -> None:
        """Show an earlier (-1) or later (+1) epoch; past the newest, follow the latest again."""
        kept = list(self.run.inspections)
        if not kept:
            return
        current = kept.index(self.epoch) if self.epoch in kept else len(kept) - 1
        index = max(0, min(len(kept) - 1, current + step))
        self.epoch = None if index == len(kept) - 1 else kept[index]
        self._draw()

    @on(ConfusionGrid.Chosen)
    def _cell_chosen(self, message: ConfusionGrid.Chosen) -> None:
        self._draw_mistakes()
        # On a short terminal the mistakes are below the fold: choosing a cell brings them up.
        self.query_one(MistakeCards).scroll_visible(animate=False)

    def _draw(self) -> None:
        run = self.run
        names = run.class_names
        inspection = run.inspection(self.epoch)
        confusion = inspection.confusion if inspection else None
        grid = self.query_one(ConfusionGrid)
        grid.show(confusion.matrix if confusion else None, names)
        box = self.query_one("#confusion-box")
        if inspection is None:
            box.border_title = "Confusion matrix"
        else:
            kept = list(run.inspections)
            latest = " (latest)" if self.epoch is None else ""
            box.border_title = f"Confusion · epoch {inspection.epoch}{latest} · {kept.index(inspection.epoch) + 1}/{len(kept)}"
        if confusion is not None:
            total = sum(map(sum, confusion.matrix))
            right = sum(confusion.matrix[k][k] for k in range(len(confusion.matrix)))
            box.border_subtitle = f"{right:,}/{total:,} right · [ ] epoch"
        previous = run.previous_inspection(inspection.epoch) if inspection else None
        self.query_one(ClassBars).show(
            confusion.matrix if confusion else None,
            previous.confusion.matrix if previous and previous.confusion else None,
            names,
        )
        self.query_one(WeightTiles).show(
            inspection.weights if inspection else None, inspection.layers if inspection else None
        )
        self._draw_mistakes()

    def _draw_mistakes(self) -> None:
        run = self.run
        inspection = run.inspection(self.epoch)
        grid = self.query_one(ConfusionGrid)
        row, column = grid.cursor
        confusion = inspection.confusion if inspection else None
        count = confusion.matrix[row][column] if confusion else None
        cards = self.query_one(MistakeCards)
        cards.border_title = "Mistakes"
        cards.show(inspection.mistakes if inspection else None, grid.cursor, run.class_names, count)
