"""The Inspect view: which digits the model confuses, its most confident mistakes, and what its first layer learned.

One pane for the epoch's inspection events: it keeps which epoch is shown (the latest by default)
and which confusion cell is selected, and sets its widgets from the run's state. An epoch chosen
with [ and ] is held (:meth:`RunState.hold`): it stays shown while the run goes on, until another
is chosen. Following the run, each pane keeps the newest product it has until the latest epoch's
own arrives: an epoch's confusion, mistakes, weights and layers come one event at a time.

Its panes grow with the terminal: wider and taller confusion cells (the class bars level with
their rows), longer bars, and on a wide terminal the mistakes as wide as the grid above them, so
that the weights beside them get the rest and more tiles to a row.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll

from ..engine.events import (
    ConfusionCounted,
    Event,
    LayersMeasured,
    MistakesFound,
    RunStarted,
    Terminal,
    WeightsSampled,
)
from .class_bars import BAR, NUMBERS, ClassBars
from .confusion_grid import CELL, LABEL, WIDEST_CELL, ConfusionGrid
from .mistake_cards import CARD, MistakeCards
from .pane import FitsRoom, Pane, View, set_border_subtitle, set_border_title
from .run_state import INSPECTED_EPOCHS, Inspection, RunState
from .weight_tiles import WeightTiles


NARROW = 118
"""Columns under which the Inspect panes stand one above the other."""
BORDER = 2
"""Columns (or lines) of a pane's border."""
BOXED = BORDER + 2
"""Columns of a pane's border and padding."""
BARS_ROOM = BOXED + len("class") + BAR + NUMBERS
"""Columns the class bars keep beside the grid before its cells widen."""
WEIGHTS_ROOM = 49
"""The weights pane's width unless the mistakes leave it more: three tiles to a row."""
MISTAKES_ROWS = 17
"""Lines of the mistakes pane: a caption line and a row of cards, in a border."""
CARDS = 3
"""Cards the mistakes pane holds in a row before it takes the grid's width (the default mistakes_per_cell)."""
ENDED = {"diverged": "diverged", "failed": "failed", "stopped": "was stopped", "interrupted": "was interrupted"}
"""How a run that ended before its first epoch did, in the panes' words."""


class InspectView(Pane, FitsRoom, View):
    """Confusion matrix, per-class accuracy, mistakes of the selected cell, first-layer weights."""

    KEY = "2"
    TITLE = "Inspect"
    EVENTS = (RunStarted, ConfusionCounted, MistakesFound, WeightsSampled, LayersMeasured, Terminal)
    WAITED = (MistakesFound, WeightsSampled)
    BINDINGS = [
        Binding("left_square_bracket", "epoch(-1)", "Earlier epoch", key_display="["),
        Binding("right_square_bracket", "epoch(1)", "Later epoch", key_display="]"),
    ]
    DEFAULT_CSS = """
    InspectView { layout: vertical; }
    InspectView #inspect-scroll { height: 1fr; scrollbar-size-vertical: 1; scrollbar-gutter: stable; }
    InspectView #inspect-top { height: auto; }
    InspectView #confusion-box { width: auto; height: auto; border: round $primary 60%; border-title-color: $accent; }
    InspectView #confusion-box:focus-within { border: round $accent; }
    InspectView #class-bars { width: 1fr; height: auto; min-height: 13; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    InspectView #inspect-bottom { height: auto; }
    InspectView #mistakes { width: 1fr; height: auto; min-height: 17; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    InspectView.-narrow #inspect-top, InspectView.-narrow #inspect-bottom { layout: vertical; }
    /* Stacked, the grid's box too reaches the scrollbar (QA: its thumb floated alone right of the grid). */
    InspectView.-narrow #confusion-box, InspectView.-narrow #class-bars,
    InspectView.-narrow #mistakes, InspectView.-narrow #weights { width: 1fr; }
    InspectView #weights { width: 49; height: auto; min-height: 17; overflow-y: auto; scrollbar-size-vertical: 1; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.epoch: int | None = None
        """The epoch shown; None follows the latest."""
        self.run = RunState()
        self._told_kept: str | None = None  # the run told that its older epochs are not kept

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
        self.query_one("#mistakes").border_title = "Mistakes"
        self.query_one("#weights").border_title = "First layer's weights"
        self.show_run(self.run)
        self.follow_room()

    def on_show_view(self) -> None:
        self._fit()
        self.query_one(ConfusionGrid).focus()

    def _fit(self) -> None:
        """Size the panes for the room the view has."""
        width, height = self._fitted = self._room()
        # Under this width the panes stack (the heatmap alone takes 73 cells): scrolled, not squeezed.
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        # Beside the scroll bar, whose column stays when there is nothing to scroll: at 120x40 it came
        # and went with the mistakes' rows, and every pane moved sideways by a column (QA).
        room = width - 1
        classes = len(self.run.class_names)
        cell = CELL if narrow else max(CELL, min(WIDEST_CELL, (room - BARS_ROOM - BORDER - LABEL) // classes))
        # Two lines a row where the taller grid and the mistakes under it still fit on the screen.
        lines = 2 if not narrow and height >= BORDER + 1 + 2 * classes + MISTAKES_ROWS else 1
        self.query_one(ConfusionGrid).set_cells(cell, lines)
        self.query_one(ClassBars).set_lines(lines)
        # Wide enough, the mistakes line up under the grid and the weights take the rest.
        boxed = BORDER + LABEL + cell * classes
        aligned = not narrow and boxed >= BOXED + CARDS * (CARD + 1) - 1 and room - boxed >= WEIGHTS_ROOM
        self.query_one(MistakeCards).styles.width = boxed if aligned else None
        self.query_one("#weights").styles.width = "1fr" if aligned else None
        # With the taller grid the whole view fits the screen: the bottom panes take the rows left,
        # and the weights scroll within theirs (QA: at 160x50 their tiles ran off the screen).
        left = height - (BORDER + 1 + lines * classes)
        bottom = left if lines == 2 and left >= MISTAKES_ROWS else None
        self.query_one(MistakeCards).styles.height = bottom
        self.query_one("#weights").styles.height = bottom

    # --- the pane ---------------------------------------------------------------------------

    def show_event(self, event: Event, run: RunState) -> None:
        self.show_run(run)

    def show_run(self, run: RunState) -> None:
        if run.run_id != self.run.run_id:  # a new run's grid opens on its largest mistake again
            self.query_one(ConfusionGrid).chosen = False
        self.run = run
        if self.epoch is not None and run.inspection(self.epoch) is None:
            self.epoch = None  # a new run
        if run.held != self.epoch:  # a resume's state, read again from its log
            run.hold(self.epoch)
        self._draw()

    # --- choosing ---------------------------------------------------------------------------

    def action_epoch(self, step: int) -> None:
        """Show and hold an earlier (-1) or later (+1) epoch; past the newest, follow the latest again."""
        kept = list(self.run.inspections)
        if not kept:
            return
        current = kept.index(self.epoch) if self.epoch in kept else len(kept) - 1
        if current + step < 0 and kept[0] > 1 and self._told_kept != self.run.run_id:
            self._told_kept = self.run.run_id  # once a run: each [ at the oldest would say it again
            self.notify(f"Epochs before {kept[0]} are not kept: Inspect keeps the latest {INSPECTED_EPOCHS} epochs.")
        index = max(0, min(len(kept) - 1, current + step))
        self.epoch = None if index == len(kept) - 1 else kept[index]
        # Held, it stays while newer epochs roll on (QA: it was dropped 20 epochs later and the view
        # jumped back to the latest by itself).
        self.run.hold(self.epoch)
        self._draw()

    @on(ConfusionGrid.Chosen)
    def _cell_chosen(self, message: ConfusionGrid.Chosen) -> None:
        self._draw_mistakes()
        # On a short terminal the mistakes are below the fold: choosing a cell brings them up.
        self.query_one(MistakeCards).scroll_visible(animate=False)

    def _shown(self, *products: str) -> Inspection | None:
        """The inspection whose ``products`` are shown: the chosen epoch's, or following the run, the
        newest that has them all (QA: the weights blinked to their empty text while an epoch's arrived)."""
        return self.run.inspection(self.epoch) if self.epoch is not None else self.run.newest(*products)

    def _note(self) -> str | None:
        """Why the panes stay empty where no epoch's inspection will come; None while one may."""
        run = self.run
        if run.config.get("inspect") is False:
            return "Inspection is off for this run (inspect = false)."
        if run.active or run.state == "idle" or run.epochs:
            return None
        # QA: a run that diverged at its second step kept saying its panes came after the first epoch.
        return f"No epoch completed: the run {ENDED.get(run.state, 'ended')} before its first epoch ended."

    def _draw(self) -> None:
        run = self.run
        names = run.class_names
        note = self._note()
        inspection = self._shown("confusion")
        confusion = inspection.confusion if inspection else None
        grid = self.query_one(ConfusionGrid)
        grid.show(confusion.matrix if confusion else None, names, note=note)
        box = self.query_one("#confusion-box")
        if inspection is None:
            set_border_title(box, "Confusion matrix")
        else:
            kept = list(run.inspections)
            shown = f"epoch {inspection.epoch}"
            if self.epoch is None:
                shown += " (latest)"
            elif run.active:
                shown += f", held (latest {kept[-1]})"
            set_border_title(box, f"Confusion · {shown} · kept epoch {kept.index(inspection.epoch) + 1} of {len(kept)}")
        if confusion is not None:
            total = sum(map(sum, confusion.matrix))
            right = sum(confusion.matrix[k][k] for k in range(len(confusion.matrix)))
            set_border_subtitle(box, f"{right:,}/{total:,} right · [ ] epoch")
        previous = run.previous_inspection(inspection.epoch) if inspection else None
        self.query_one(ClassBars).show(
            confusion.matrix if confusion else None,
            previous.confusion.matrix if previous and previous.confusion else None,
            names,
            note=note,
        )
        # Together, the epoch's weights and the layers' table that comes right after them: the
        # tiles are drawn once an epoch (32 tiles of pixel art, 20 ms of the UI thread).
        weights = layers = self._shown("weights", "layers")
        if weights is None:  # the first epoch's weights, before its layers
            weights, layers = self._shown("weights"), self._shown("layers")
        self.query_one(WeightTiles).show(
            weights.weights if weights else None, layers.layers if layers else None, note=note
        )
        self._draw_mistakes()

    def _draw_mistakes(self) -> None:
        run = self.run
        inspection = self._shown("mistakes")
        grid = self.query_one(ConfusionGrid)
        row, column = grid.cursor
        confusion = inspection.confusion if inspection else None  # the count of the mistakes' own epoch
        count = confusion.matrix[row][column] if confusion else None
        cards = self.query_one(MistakeCards)
        cards.show(inspection.mistakes if inspection else None, grid.cursor, run.class_names, count, note=self._note())
