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
