"""The prediction gallery: fixed evaluation digits as pixel art with label, prediction and confidence."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..engine.events import Event, SamplesPredicted
from .pane import Pane
from .pixels import PixelArt, downsample
from .run_state import RunState

IMAGE_WIDTH = 28
IDLE_TEXT = "The model's predictions on real evaluation digits appear here when a run starts."


def card_caption(label: str, prediction: str, confidence: float) -> Text:
    """``7 → 7 99%`` in green when right, ``7 → 1 62%`` in red when wrong."""
    right = label == prediction
    text = Text(justify="center", no_wrap=True, overflow="ellipsis")
    text.append(label, style="bold")
    text.append(" → ")
    text.append(prediction, style="bold green" if right else "bold red")
    text.append(f" {confidence:.0%}", style="green" if right else "red")
    return text


class DigitCard(Static):
    """One digit: 28x28 pixels in 14 rows (14x14 in 7 rows when compact), and its caption."""

    DEFAULT_CSS = """
    DigitCard { width: 28; height: 15; }
    DigitGallery.-compact DigitCard { width: 14; height: 8; }
    """


class DigitGallery(Pane, VerticalScroll):
    """The same evaluation digits all run, redrawn after every epoch."""

    EVENTS = (SamplesPredicted,)
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
        assert isinstance(event, SamplesPredicted)
        self.show(event)

    def show_run(self, run: RunState) -> None:
        if run.samples is not None:
            self.show(run.samples)
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
        for card, image, label, prediction, confidence in zip(
            cards, samples.images, samples.labels, samples.predictions, samples.confidences
        ):
            caption = card_caption(names[label], names[prediction], confidence)
            pixels = downsample(image, IMAGE_WIDTH, self.scale)
            card.update(Group(PixelArt(pixels, IMAGE_WIDTH // self.scale), caption))
            card.set_class(label != prediction, "wrong")
        right = sum(label == prediction for label, prediction in zip(samples.labels, samples.predictions))
        moment = "before training" if samples.epoch == 0 else f"after epoch {samples.epoch}"
        self.border_title = f"Predictions {moment}: {right}/{len(samples.labels)} right"

    def clear(self) -> None:
        """Back to the empty gallery (a new run starts)."""
        self.samples = None
        self.remove_children()
        self.mount(Static("Waiting for the model's first predictions…", classes="empty"))
        self.border_title = "Predictions"
