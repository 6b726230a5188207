"""The help screen: key bindings and what each region of the dashboard shows."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.segment import Segment
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.strip import Strip

from .strips import CachedStyles

HELP = """\
# mnist-tui

| key | action |
|---|---|
| `s` | start a run with the form's settings (refused while a field is invalid) |
| `p` | pause or resume the run (the engine pauses after its batch in progress) |
| `n` | while paused: train one report interval, then pause again |
| `x` | stop the run; its last checkpoint is kept (`mnist-tui --resume RUN_FOLDER` continues it) |
| `q`, `ctrl+c` | quit; a running run is stopped and checkpointed first |
| `1`-`5` | the Train, Inspect, Draw, Runs and Sweep views (or click a tab; F6 cycles) |
| `enter`, `i` | Sweep: open the chosen trial's run in Train or Inspect (Runs: `o` `/` `space` `enter` `r`) |
| `?` | this help; `escape` closes it |
| `tab` | move between the form's fields; `enter` in a field starts the run |

**Form** (left): pick a preset or edit any field, checked as a preset file is (errors under the
field). During a run it is locked but for `lr`, `momentum`, `weight_decay`: `enter` there sets them live.

**Loss**: the mean training loss of every report (grey), its moving average (cyan) and the
evaluation loss after each epoch (orange); a magenta line marks each setting change. **Progress**:
the epoch and the run, samples per second, time left. **Accuracy**: per epoch; ★ marks the best.

**Inspect** (`2`): after each epoch, the confusion matrix of the whole evaluation set (rows are
the true classes, columns the predictions; green the right ones, red the mistakes, shaded by their
share of the row). Arrows or a click select a cell, `enter` shows its most confident mistakes as
pixel art. Beside it, recall per class with its change since the previous epoch, and precision;
below, the first hidden layer's weights (blue negative, orange positive, dark zero) and each hidden
layer's dead units and weight and gradient norms. `[` and `]` choose an earlier or later epoch.

**Draw** (`3`): the mouse draws (left) and erases (right), or arrows and `space`; `c` clears. Beside
it, the digit as the model sees it and each class's probability (the training model, else a best.pt).

**Predictions**: the same evaluation digits all run, with the true label, the model's prediction and
its confidence (green right, red wrong). **Status** (bottom): the run's state, device and run folder;
below it the keys, grey when they do nothing now (a click runs one).
"""


WIDTH = 110
"""The help's box, borders and padding included (at most 95 % of the terminal's width)."""
_FRAME = 4  # its thick border and padding, both sides
_SCROLLBAR = 2

_rendered: dict[int, list[list[Segment]]] = {}
"""The help's Markdown as Rich renders it, per width: 13-18 ms a render, done once."""


def markdown_lines(console: Console, width: int) -> list[list[Segment]]:
    """The help rendered by ``console`` at ``width`` cells (cached)."""
    lines = _rendered.get(width)
    if lines is None:
        lines = _rendered[width] = console.render_lines(Markdown(HELP), console.options.update_width(width), pad=True)
    return lines


def render_ahead(console: Console, terminal_width: int) -> None:
    """Render the help for the widths it will have on a terminal this wide (with and without a
    scrollbar), so that its first opening only lays it out (it took 50-65 ms while training)."""
    width = max(1, min(WIDTH, terminal_width * 95 // 100) - _FRAME)
    for each in (width, width - _SCROLLBAR):
        if each > 0:
            markdown_lines(console, each)


class HelpScreen(ModalScreen[None]):
    """Key bindings and regions; escape, q or ? closes it."""

    # Opaque: over a translucent background, opening and closing it repainted and tinted the whole
    # dashboard beneath (thousands of pixel-art segments), 0.2 s while training ran.
    DEFAULT_CSS = f"""
    HelpScreen {{ align: center middle; background: $background; }}
    HelpScreen > VerticalScroll {{ width: {WIDTH}; max-width: 95%; height: auto; max-height: 95%; border: thick $primary; background: $surface; padding: 0 1; }}
    """
    BINDINGS = [("escape", "dismiss", "close"), ("question_mark", "dismiss", "close"), ("q", "dismiss", "close")]

    async def action_dismiss(self, result: None = None) -> None:
        repaint = getattr(self.app, "repaint_whole_screen", None)
        if repaint is not None:  # the dashboard beneath comes back whole
            repaint()
        await super().action_dismiss(result)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield HelpText()


class HelpText(CachedStyles):
    """The help's Markdown as Rich renders it once per width (:func:`markdown_lines`), shown as
    those strips in this widget's style.

    Not Textual's Markdown widget (dozens of child widgets), nor a ``Static`` (it renders the
    Markdown again each time the screen is shown, 20-30 ms of the UI thread, doubled while
    training): the help opens and closes within a frame.
    """

    DEFAULT_CSS = """
    HelpText { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._strips: tuple[tuple[object, ...], list[Strip]] | None = None

    def forget_strips(self) -> None:
        self._strips = None

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001 (Textual's signature)
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self._lines(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.style_of())

    def _lines(self, width: int) -> list[Strip]:
        if self._strips is None or self._strips[0] != (width,):
            base = self.style_of()
            rendered = markdown_lines(self.app.console, max(1, width))
            self._strips = ((width,), [Strip(Segment.apply_style(line, base), width) for line in rendered])
        return self._strips[1]
