"""The prediction gallery: fixed evaluation digits as pixel art with label, prediction and confidence."""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region

from ..engine.events import Event, SamplesPredicted, Terminal
from .laid_lines import LaidLines, rich_lines
from .pane import Pane
from .pixels import caption, downsample, half_block_rows, tile_grid
from .run_state import RunState

IMAGE_WIDTH = 28
IDLE_TEXT = "The model's predictions on real evaluation digits appear here when a run starts."
WAITING_TEXT = "Waiting for the model's first predictions…"
GALLERY_OFF = "The gallery is off for this run (gallery_size = 0): it predicts no test digits to show."


def caption_pieces(label: str, prediction: str, confidence: float) -> list[tuple[str, str]]:
    """``7 → 7 99%`` in green when right, ``7 → 1 62%`` in red when wrong, as (text, style) pieces."""
    right = label == prediction
    return [
        (label, "bold"),
        (" → ", ""),
        (prediction, "bold green" if right else "bold red"),
        (f" {confidence:.0%}", "green" if right else "red"),
    ]


def wrong_first(samples: SamplesPredicted) -> list[int]:
    """The samples' indices, the wrong predictions first, each group in the samples' order: a short
    terminal shows one row of cards, and QA found the one mistake of ten below it."""
    return sorted(range(len(samples.labels)), key=lambda index: samples.labels[index] == samples.predictions[index])


class Card(NamedTuple):
    """One digit as the gallery draws it: its pixels (``width`` to a row), caption and whether the
    model got it wrong."""

    pixels: bytes
    width: int
    pieces: tuple[tuple[str, str], ...]
    wrong: bool

    @property
    def caption(self) -> Text:
        return Text.assemble(*self.pieces, justify="center", no_wrap=True, overflow="ellipsis")


class DigitGallery(Pane, VerticalScroll):
    """The same evaluation digits all run, redrawn after every epoch.

    The cards are laid out straight into lines (:func:`~.pixels.tile_grid`) of one line-API widget
    (:class:`~.laid_lines.LaidLines`), which repaints only the lines that changed: after an epoch,
    the captions. As one widget per card, the cards scrolled out of view made Textual arrange the
    whole screen again at every epoch (a repaint of a widget out of view does), 5 ms each time.
    """

    EVENTS = (SamplesPredicted, Terminal)
    WAITED = (SamplesPredicted,)
    COMPONENT_CLASSES = {"digit-gallery--note"}

    DEFAULT_CSS = """
    DigitGallery > .digit-gallery--note { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines = LaidLines()
        self.samples: SamplesPredicted | None = None
        self.cards: tuple[Card, ...] = ()
        """The cards shown, in their order on screen (the wrong ones first)."""
        self.note = IDLE_TEXT
        """What the gallery says in place of cards ("" while it shows cards)."""
        self.scale = 1
        """1 draws every pixel; 2 draws 2x2 means (for short terminals)."""
        self._rows: dict[tuple[bytes, int], list[list[Segment]]] = {}
        """Each drawn digit's rows of pixel art: the gallery shows the same digits all run."""

    def compose(self) -> ComposeResult:
        yield self._lines

    def on_mount(self) -> None:
        self._draw()

    def set_compact(self, compact: bool) -> None:
        """Half-size digits (14x14 means of 2x2 pixels) where the terminal is too short for 28x28."""
        scale = 2 if compact else 1
        if scale == self.scale:
            return
        self.scale = scale
        self.set_class(compact, "-compact")
        if self.samples is not None:
            self.show(self.samples)

    def show_event(self, event: Event, run: RunState) -> None:
        if run.config.get("gallery_size") == 0:
            if self.note != GALLERY_OFF:
                self._say(GALLERY_OFF)
        elif isinstance(event, SamplesPredicted):
            self.show(event)
        elif run.samples is None:  # it ended before the model's first predictions: none will come
            self.show_run(run)

    def show_run(self, run: RunState) -> None:
        if run.config.get("gallery_size") == 0:
            self._say(GALLERY_OFF)
        elif run.samples is not None:
            self.show(run.samples)
        elif run.terminal is not None:
            # QA: a run that failed for want of data kept "Waiting for …" on screen.
            self._say(f"The run {run.terminal.status} before the model's first predictions.")
        elif self.samples is not None or run.state != "idle":
            self.clear()

    def show(self, samples: SamplesPredicted) -> None:
        """Draw ``samples``: the wrong predictions first, each digit under its caption."""
        if not samples.labels:  # QA: "0/0 right" over an empty pane
            self._say(GALLERY_OFF)
            return
        self.samples = samples
        names = samples.class_names
        width = IMAGE_WIDTH // self.scale
        cards = []
        for index in wrong_first(samples):
            label, prediction = samples.labels[index], samples.predictions[index]
            pieces = caption_pieces(names[label], names[prediction], samples.confidences[index])
            cards.append(Card(downsample(samples.images[index], IMAGE_WIDTH, self.scale), width, tuple(pieces), label != prediction))
        self.cards, self.note = tuple(cards), ""
        right = sum(label == prediction for label, prediction in zip(samples.labels, samples.predictions))
        moment = "before training" if samples.epoch == 0 else f"after epoch {samples.epoch}"
        order = ", wrong ones first" if 0 < right < len(samples.labels) else ""
        self._set_title(f"Predictions {moment}: {right}/{len(samples.labels)} right{order}")
        self._draw()

    def _set_title(self, title: str) -> None:
        """The border title, repainting the top border only: Textual repaints a widget whole when
        its title changes, here every card's pixels (10-20 ms of the UI thread an epoch)."""
        if title == str(self.border_title):
            return
        self._title_only = True
        try:
            self.border_title = title
        finally:
            self._title_only = False

    def refresh(self, *regions: Region, **options: bool) -> DigitGallery:
        if getattr(self, "_title_only", False) and not regions and not any(options.values()):
            top = self.content_offset  # regions are relative to the content; the title is on the border
            return super().refresh(Region(-top.x, -top.y, self.outer_size.width, 1))
        return super().refresh(*regions, **options)

    def clear(self) -> None:
        """Back to the empty gallery (a new run starts)."""
        self._say(WAITING_TEXT)

    def _say(self, text: str) -> None:
        """No cards, ``text`` in their place."""
        self.samples, self.cards, self.note = None, (), text
        self.border_title = "Predictions"
        self._draw()

    def _draw(self) -> None:
        cards, note = self.cards, self.note
        self._lines.show_lines(lambda width: self._lay_out(width, cards, note))

    def _lay_out(self, width: int, cards: tuple[Card, ...], note: str) -> list[list[Segment]]:
        if not cards:
            return rich_lines(self.app, Text(note, style=self.get_component_rich_style("digit-gallery--note")), width)
        card_width = cards[0].width
        if len(self._rows) > 4 * len(cards):  # other digits (a new run's): forget the old ones
            self._rows.clear()
        tiles = []
        for card in cards:
            key = (card.pixels, card.width)
            rows = self._rows.get(key)
            if rows is None:
                rows = self._rows[key] = half_block_rows(card.pixels, card.width)
            tiles.append((rows, caption(card.pieces, card_width)))
        return tile_grid(tiles, card_width, max(1, (width + 1) // (card_width + 1))).lines
