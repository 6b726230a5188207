"""The prediction gallery: fixed evaluation digits as pixel art with label, prediction and confidence."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

from ..engine.events import Event, SamplesPredicted, Terminal
from .pane import Pane
from .pixels import downsample, half_block_rows
from .run_state import RunState
from .strips import CachedStyles

IMAGE_WIDTH = 28
IDLE_TEXT = "The model's predictions on real evaluation digits appear here when a run starts."
WAITING_TEXT = "Waiting for the model's first predictions…"


def card_caption(label: str, prediction: str, confidence: float) -> Text:
    """``7 → 7 99%`` in green when right, ``7 → 1 62%`` in red when wrong."""
    right = label == prediction
    text = Text(justify="center", no_wrap=True, overflow="ellipsis")
    text.append(label, style="bold")
    text.append(" → ")
    text.append(prediction, style="bold green" if right else "bold red")
    text.append(f" {confidence:.0%}", style="green" if right else "red")
    return text


def wrong_first(samples: SamplesPredicted) -> list[int]:
    """The samples' indices, the wrong predictions first, each group in the samples' order: a short
    terminal shows one row of cards, and QA found the one mistake of ten below it."""
    return sorted(range(len(samples.labels)), key=lambda index: samples.labels[index] == samples.predictions[index])


class DigitCard(CachedStyles):
    """One digit: 28x28 pixels in 14 rows (14x14 in 7 rows when compact), and its caption.

    Drawn as strips (Textual's line API): the gallery shows the same digits all run, so after an
    epoch only the caption changes, and only its line is repainted. Through ``Static`` every card
    went through Textual's content pipeline again, 30-50 ms of the UI thread an epoch.
    """

    DEFAULT_CSS = """
    DigitCard { width: 28; height: 15; }
    DigitGallery.-compact DigitCard { width: 14; height: 8; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.pixels = b""
        self.pixel_width = IMAGE_WIDTH
        self.caption = Text()
        self._rows: list[Strip] = []
        self._fitted: tuple[int, list[Strip]] | None = None  # the rows cut or padded to the width
        self._caption_strip: tuple[tuple[object, ...], Strip] | None = None

    def show(self, pixels: bytes, width: int, caption: Text) -> None:
        """Draw ``pixels`` (``width`` per row) over ``caption``; repaints only what changed."""
        if (pixels, width) != (self.pixels, self.pixel_width):
            self.pixels, self.pixel_width = pixels, width
            self._rows = [Strip(row, width) for row in half_block_rows(pixels, width)]
            self._fitted = None
            self.caption = caption
            self.refresh()
        elif caption != self.caption:
            self.caption = caption
            self.refresh(Region(0, len(self._rows), self.size.width, 1))

    def forget_strips(self) -> None:
        self._caption_strip = None
        self._fitted = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < len(self._rows):
            if self._fitted is None or self._fitted[0] != width:
                # The same strips every time (Textual caches each strip's terminal codes).
                self._fitted = (width, [row.crop_extend(0, width, self.style_of()) for row in self._rows])
            return self._fitted[1][y]
        if y == len(self._rows):
            return self._caption_line(width)
        return Strip.blank(width, self.style_of())

    def _caption_line(self, width: int) -> Strip:
        key = (width, self.caption)
        if self._caption_strip is None or self._caption_strip[0] != key:
            caption = self.caption.copy()
            caption.truncate(width, overflow="ellipsis")
            caption.align("center", width)
            base = self.style_of()
            segments = Segment.apply_style(caption.render(self.app.console), base)
            self._caption_strip = (key, Strip(segments).crop_extend(0, width, base))
        return self._caption_strip[1]


class DigitGallery(Pane, VerticalScroll):
    """The same evaluation digits all run, redrawn after every epoch."""

    EVENTS = (SamplesPredicted, Terminal)
    WAITED = (SamplesPredicted,)

    DEFAULT_CSS = """
    DigitGallery { layout: grid; grid-size: 4; grid-gutter: 0 1; grid-rows: 15; }
    DigitGallery.-compact { grid-rows: 8; }
    DigitGallery > .empty { column-span: 4; width: 1fr; height: 3; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.samples: SamplesPredicted | None = None
        self.scale = 1
        """1 draws every pixel; 2 draws 2x2 means (for short terminals)."""

    def set_compact(self, compact: bool) -> None:
        """Half-size digits (14x14 means of 2x2 pixels) where the terminal is too short for 28x28."""
        scale = 2 if compact else 1
        if scale == self.scale:
            return
        self.scale = scale
        self.set_class(compact, "-compact")
        self._fit_columns()
        if self.samples is not None:
            self.show(self.samples)

    def compose(self):  # type: ignore[override]
        yield Static(IDLE_TEXT, classes="empty")

    def show_event(self, event: Event, run: RunState) -> None:
        if isinstance(event, SamplesPredicted):
            self.show(event)
        elif run.samples is None:  # it ended before the model's first predictions: none will come
            self.show_run(run)

    def show_run(self, run: RunState) -> None:
        if run.samples is not None:
            self.show(run.samples)
        elif run.terminal is not None:
            # QA: a run that failed for want of data kept "Waiting for …" on screen.
            self._say(f"The run {run.terminal.status} before the model's first predictions.")
        elif self.samples is not None or run.state != "idle":
            self.clear()

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        card = IMAGE_WIDTH // self.scale
        self.styles.grid_size_columns = max(1, (self.scrollable_content_region.width + 1) // (card + 1))

    def show(self, samples: SamplesPredicted) -> None:
        """Draw ``samples``: new cards the first time, new pictures and captions after that."""
        self.samples = samples
        cards = list(self.query(DigitCard))
        if len(cards) != len(samples.images):
            self.remove_children()
            cards = [DigitCard() for _ in samples.images]
            self.mount_all(cards)
        names = samples.class_names
        for card, index in zip(cards, wrong_first(samples)):
            label, prediction = samples.labels[index], samples.predictions[index]
            caption = card_caption(names[label], names[prediction], samples.confidences[index])
            card.show(downsample(samples.images[index], IMAGE_WIDTH, self.scale), IMAGE_WIDTH // self.scale, caption)
            card.set_class(label != prediction, "wrong")
        right = sum(label == prediction for label, prediction in zip(samples.labels, samples.predictions))
        moment = "before training" if samples.epoch == 0 else f"after epoch {samples.epoch}"
        order = ", wrong ones first" if 0 < right < len(samples.labels) else ""
        self._set_title(f"Predictions {moment}: {right}/{len(samples.labels)} right{order}")

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
        self.samples = None
        self.remove_children()
        self.mount(Static(text, classes="empty"))
        self.border_title = "Predictions"
