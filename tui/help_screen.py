"""The help screen: key bindings and what each region of the dashboard shows."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.strip import Strip

from .strips import CachedStyles

KEYS: dict[str, str] = {
    # The dashboard's own keys (MnistApp.BINDINGS), by action.
    "start": "start a run with the form's settings (refused while a field is invalid)",
    "pause": "pause or resume the run (the engine pauses after its batch in progress)",
    "step": "while paused: train one report interval, then pause again",
    "stop": "stop the run; its last checkpoint is kept (`mnist-tui --resume RUN_FOLDER` continues it)",
    "settings": "during a run: type new settings (`lr=0.0001 momentum=0.9`), `enter` sends them to the run, as the form's live fields do",
    "help": "this help; `escape` closes it",
    "next_view": "the next view (or click a tab on the top line)",
    "quit": "quit; a running run is stopped and checkpointed first",
    "leave_field": "leave a form field, so that the keys act again",
    # Inspect, its confusion grid.
    "epoch(-1)": "an earlier epoch",
    "epoch(1)": "a later epoch",
    "Inspect move": "select a confusion cell (a click selects and shows)",
    "choose": "show the selected cell's most confident mistakes",
    # Draw, its canvas.
    "clear": "clear the canvas",
    "Draw move": "move the cursor (the mouse draws with the left button, erases with the right)",
    "Draw move, painting": "paint as the cursor moves",
    "paint": "paint under the cursor",
    "paint(True)": "erase under the cursor",
    "focus_canvas": "back to the canvas from the run folder's field",
    # Runs.
    "select_cursor": "open the run: replay it into Train and Inspect, its settings into the form",
    "mark": "mark or unmark the run: marked runs' curves overlay below (up to 8)",
    "resume": "resume a stopped or interrupted run from its last checkpoint",
    "sort": "sort by the next column (a click on a header sorts by it)",
    "filter": "filter: type words the run, preset, state or device contain",
    "reload": "list the runs folder again now",
    "focus_table": "back to the table from the filter (its words kept)",
    # Sweep.
    "open('TrainView')": "open the chosen trial's run in Train (a running one is followed live)",
    "open('InspectView')": "open the chosen trial's run in Inspect",
}
"""What each bound action does. The keys themselves come from the bindings (:func:`help_text`),
so the help lists every key each view has; a binding missing here is a test failure."""


def action_row(view: str, action: str) -> str:
    """The key of ``action``'s row in :data:`KEYS`: the four arrows share one row, which says what
    they do in ``view`` (the confusion grid's select a cell, the canvas's move its cursor)."""
    if action.startswith("move("):
        return f"{view} move, painting" if "True" in action else f"{view} move"
    return action


REGIONS = """\
**Form** (left): pick a preset or edit any field, checked as a preset file is (errors under the
field). During a run it is locked but for `lr`, `momentum`, `weight_decay`: `enter` there sets them live.
On a narrow terminal it hides during a run: `e` sets them there.

**Loss**: the mean training loss of every report (grey), its moving average (cyan) and the
evaluation loss after each epoch (orange); a magenta line marks each setting change. **Progress**:
the epoch and the run, samples per second, time left. **Accuracy**: per epoch; ★ marks the best.

**Inspect** (`2`): after each epoch, the confusion matrix of the whole evaluation set (rows are
the true classes, columns the predictions; green the right ones, red the mistakes, shaded by their
share of the row). Beside it, recall per class with its change since the previous epoch, and
precision; below, the first hidden layer's weights (blue negative, orange positive, dark zero) and
each hidden layer's dead units and weight and gradient norms.

**Draw** (`3`): beside the canvas, the digit as the model sees it and each class's probability
(the training model, else a best.pt).

**Runs** (`4`): every run folder under the runs folder, newest first, listed again every 2 s while
shown; the selected run's configuration and where it differs from the first marked run (or its
preset); the marked runs' training loss and accuracy overlaid.

**Sweep** (`5`): the trials of the sweep this dashboard runs, from every worker sharing the study;
the best trial (★, green) and its parameters above the table, every trial's accuracy by epoch, and
accuracy against each searched field.

**Predictions**: the same evaluation digits all run, with the true label, the model's prediction and
its confidence (green right, red wrong). **Status** (bottom): the run's state, device and run folder;
below it the keys, grey when they do nothing now (a click runs one).
"""


def view_bindings() -> list[tuple[str, list[Binding]]]:
    """Each part of the help's key table and its bindings: the dashboard's own, then each view's
    (with those of the widgets that take its keys)."""
    from textual.widgets import DataTable

    from .app import MnistApp  # the app imports this module
    from .confusion_grid import ConfusionGrid
    from .draw_canvas import DrawCanvas
    from .draw_view import DrawView
    from .inspect_view import InspectView
    from .runs_view import RunsView
    from .sweep_view import SweepView

    select = [b for b in _bindings(DataTable) if b.action == "select_cursor"]  # enter on a run
    return [
        ("", _bindings(MnistApp)),
        (InspectView.TITLE, [*_bindings(InspectView), *_bindings(ConfusionGrid)]),
        (DrawView.TITLE, [*_bindings(DrawView), *_bindings(DrawCanvas)]),
        (RunsView.TITLE, [*select, *_bindings(RunsView)]),
        (SweepView.TITLE, _bindings(SweepView)),
    ]


def _bindings(owner: type) -> list[Binding]:
    """The bindings ``owner`` declares itself (not those it inherits)."""
    return list(Binding.make_bindings(owner.__dict__.get("BINDINGS", [])))


KEY_NAMES = {"question_mark": "?", "slash": "/", "left_square_bracket": "[", "right_square_bracket": "]"}


def key_name(binding: Binding) -> str:
    """A key as the help shows it: ``/``, ``[``, ``space``, ``shift+up``, ``f6`` (not the key bar's ``1-5``)."""
    return KEY_NAMES.get(binding.key, binding.key)


ARROWS = {
    tuple(f"`{prefix}{arrow}`" for arrow in ("up", "down", "left", "right")): [f"`{prefix}arrows`"]
    for prefix in ("", "shift+")
}
"""The four arrows bound alike, as one key in the table (its key column took half the width)."""


def help_text() -> str:
    """The help's Markdown: a key table made from the bindings, then what each region shows."""
    lines = ["# mnist-tui", "", "| key | action |", "|---|---|"]
    for view, bindings in view_bindings():
        rows: dict[str, list[str]] = {}
        views: list[str] = []
        for binding in bindings:
            if binding.action.startswith("view("):
                views.append(binding.description)
                rows.setdefault("views", []).append(key_name(binding))
                continue
            rows.setdefault(action_row(view, binding.action), []).append(f"`{key_name(binding)}`")
        for row, keys in rows.items():
            if row == "views":
                keys, what = [f"`{keys[0]}`-`{keys[-1]}`"], f"the {', '.join(views[:-1])} and {views[-1]} views"
            else:
                what = KEYS[row]
                keys = ARROWS.get(tuple(keys), keys)
            lines.append(f"| {', '.join(keys)} | {f'**{view}**: ' if view else ''}{what} |")
    lines.append("| `tab` | move between the form's fields; `enter` in a field starts the run |")
    return "\n".join(lines) + "\n\n" + REGIONS


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
        lines = _rendered[width] = console.render_lines(Markdown(help_text()), console.options.update_width(width), pad=True)
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
    # The app focuses nothing on its own (MnistApp.AUTO_FOCUS): without this the help's scroll
    # took no key until tab focused it.
    AUTO_FOCUS = "HelpScroll"

    async def action_dismiss(self, result: None = None) -> None:
        repaint = getattr(self.app, "repaint_whole_screen", None)
        if repaint is not None:  # the dashboard beneath comes back whole
            repaint()
        await super().action_dismiss(result)

    def compose(self) -> ComposeResult:
        with HelpScroll():
            yield HelpText()


class HelpScroll(VerticalScroll):
    """The help's one scroll region: the arrows, page up and down, home and end, and space as a pager's."""

    BINDINGS = [Binding("space", "page_down", "Page Down", show=False)]


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
