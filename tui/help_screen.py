"""The help screen: key bindings and what each region of the dashboard shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from rich.markdown import Markdown
from textual.widgets import Static

HELP = """\
# mnist-tui

| key | action |
|---|---|
| `s` | start a run with the form's settings (refused while a field is invalid) |
| `p` | pause or resume the run (the engine pauses after the batch in progress) |
| `n` | while paused: train one report interval, then pause again |
| `x` | stop the run; its last checkpoint is kept (`mnist-tui --resume RUN_FOLDER` continues it) |
| `q`, `ctrl+c` | quit; a running run is stopped and checkpointed first |
| `1`, `2`, `3`, `5` | the Train, Inspect, Draw and Sweep views (or click a tab; F6 cycles); Sweep: `enter`/`i` open a trial |
| `?` | this help; `escape` closes it |
| `tab` | move between the form's fields; `enter` in a field starts the run (during a run: applies `lr`, `momentum` or `weight_decay`) |

**Form** (left): pick a preset or edit any field. Each field is checked as a preset file is; an
error shows under its field. During a run the form shows the running configuration and is locked,
except `lr`, `momentum` and `weight_decay` where the optimizer has them: type a value and press
`enter` to change it in the running engine from the next batch on (checked by the same rules).

**Loss**: the mean training loss of every report (grey), its moving average (cyan) and the
evaluation loss after each epoch (orange), against epochs; a magenta line marks each setting change.

**Progress**: the current epoch and the whole run, samples per second and time left.

**Accuracy**: training and evaluation accuracy per epoch; ★ marks the best evaluation accuracy.

**Predictions**: the same evaluation digits all run, drawn from their pixels, with the true label,
the model's prediction and its confidence: green when right, red when wrong. Scroll for more.

**Inspect** (`2`): after each epoch, the confusion matrix of the whole evaluation set (rows are
the true classes, columns the predictions; green the right ones, red the mistakes, shaded by their
share of the row). Arrows or a click select a cell, `enter` shows its most confident mistakes as
pixel art. Beside it, recall per class with its change since the previous epoch, and precision;
below, the first hidden layer's weights (blue negative, orange positive, dark zero) and each hidden
layer's dead units and weight and gradient norms. `[` and `]` choose an earlier or later epoch.

**Draw** (`3`): draw a digit on the 28x28 canvas with the mouse (left button draws, right button
erases) or the keyboard (arrows move the red cursor, `space` paints, `backspace` erases,
shift+arrows paint as they move); `c` clears. Beside it, the drawing as the model sees it
(scaled to fit 20x20 and centred by its centre of mass, as MNIST's digits were) and the model's
probability for each class, updated as you draw. During a run the model is the one training;
otherwise the shown run's best.pt, a run folder typed below the bars, or the newest run's.

**Status** (bottom): the run's state, its device and its run folder. Below it, the keys: grey
when they do nothing now; a click runs one.
"""


class HelpScreen(ModalScreen[None]):
    """Key bindings and regions; escape, q or ? closes it."""

    # Opaque: over a translucent background, opening and closing it repainted and tinted the whole
    # dashboard beneath (thousands of pixel-art segments), 0.2 s while training ran.
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll { width: 110; max-width: 95%; height: auto; max-height: 95%; border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [("escape", "dismiss", "close"), ("question_mark", "dismiss", "close"), ("q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            # One rich renderable, not Textual's Markdown widget (dozens of child widgets): the
            # screen opens in milliseconds while training runs.
            yield Static(Markdown(HELP))
