"""The Draw view: draw a digit and see what a model makes of it.

Beside the canvas: the drawing as the model sees it (prepared as MNIST's digits were: bounding box
fitted to 20x20, centre of mass at the centre of 28x28) and ten probability bars. The prediction
follows the drawing, 150 ms after the last change. During a run the model is the one training
now: the view asks the app to put a ``predict`` command into the engine's inbox, and the answer
comes back as a DigitPredicted event; while the view is shown, the drawing is classified again
once a second as the model trains on, and at once when the view is shown again. Otherwise it is a
run folder's best.pt (else last.pt): one typed into the view, else the shown run's or the newest
under the runs folder that has finished an epoch (an untrained model's guesses are noise);
preparing and classifying run in a worker thread, never on the UI thread.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from ..engine import paths
from ..engine.events import DigitPredicted, Event, RunStarted, Terminal
from ..engine.steering import describe_step
from .draw_canvas import SIDE, DrawCanvas
from .field_input import FieldInput
from .pane import FitsRoom, Pane, View
from .pixels import PixelArt
from .probability_bars import ProbabilityBars
from .run_state import ACTIVE, RunState
from .saved_model import ModelCache, ModelError, checkpoint_stamps, has_checkpoint, newest_trained_run, trained

DEBOUNCE_SECONDS = 0.15
"""The prediction waits this long after the last change of the drawing."""
FULL_SIZE = (100, 31)
"""Below this width or height of the view the canvas draws 28x14 cells instead of 56x28."""
BOTH_ROWS = 36
"""Below this height of the view the prediction comes first beside the canvas and the prepared
digit under it (a scroll away): the verdict and the bars are what a drawing is for. The run folder
box then stands above them, so that the prepared digit is cut by the screen's edge, as scrolled
panes are, not by a box under it (QA: at 80x24 it read as two panes overlapping), and the prepared
digit's box is as wide as the prediction's, so that the scrollbar stands beside the panes (its
thumb floated alone in the empty space right of the narrower box)."""
EMPTY = "Draw a digit: hold the left button and drag (the right button erases), or move with the arrows and press space."
LIVE = "the model training now"
NO_MODEL = "No trained model yet: no run has finished an epoch. Train one, or type a run folder below."
NO_LABEL = "none yet (no run has finished an epoch)"
"""The model line while there is no model to classify with."""
ASKING = "Asking the model training now: it answers once the run is training."
"""The bars' note while the training model's first answer to a drawing is on its way."""


def live_step(step: int, run: RunState) -> str:
    """Where the training model was when it answered, as the progress pane counts it (``epoch 2,
    step 41``): a prediction carries the run-wide ``step`` only, and the run's start its steps per epoch."""
    steps = run.started.steps_per_epoch if run.started is not None else None
    if not steps:
        return describe_step(run.latest.epoch if run.latest is not None else 1, step, None)
    return describe_step(max(1, -(-step // steps)), step, steps)  # the epoch the step ends in


class DrawView(Pane, FitsRoom, View):
    """The canvas, the prepared digit, the probability bars and which model gave them."""

    KEY = "3"
    TITLE = "Draw"
    EVENTS = (RunStarted, DigitPredicted, Terminal)
    BINDINGS = [
        Binding("c", "clear", "Clear"),
        # Ahead of the app's escape, which leaves focus nowhere: the canvas's keys went deaf (QA).
        Binding("escape", "focus_canvas", "Back to the canvas", show=False),
    ]
    DEFAULT_CSS = """
    DrawView { layout: vertical; }
    DrawView #draw-body { height: 1fr; }
    DrawView #canvas-box { width: auto; height: auto; border: round $primary 60%; border-title-color: $accent; border-subtitle-color: $text-muted; padding: 0 1; }
    DrawView #canvas-box:focus-within { border: round $accent; }
    DrawView #draw-side { width: 1fr; height: 1fr; }
    DrawView #draw-panes { height: 1fr; scrollbar-size-vertical: 1; }
    DrawView #prepared { width: auto; height: auto; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    DrawView.-short #prepared { width: 1fr; content-align-horizontal: center; }
    DrawView #prediction { height: auto; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    DrawView #model { height: auto; color: $text-muted; margin-bottom: 1; }
    DrawView #folder-box { height: auto; border: round $primary 60%; border-title-color: $accent; padding: 0 1; }
    DrawView #folder-box:focus-within { border: round $accent; }
    DrawView #run-folder { width: 1fr; }
    DrawView #folder-error { height: auto; color: $error; display: none; }
    DrawView #folder-error.-note { color: $text-muted; }
    """

    class PredictWanted(Message):
        """Classify ``pixels`` (784 prepared bytes) with the model training now: the app sends a predict command."""

        def __init__(self, pixels: bytes, request: int) -> None:
            super().__init__()
            self.pixels = pixels
            self.request = request

    class _Worked(Message):
        """A worker prepared the drawing and, with a saved model, classified it."""

        def __init__(
            self, request: int, prepared: bytes | None, probabilities: tuple[float, ...] | None,
            names: tuple[str, ...], note: str,
        ) -> None:
            super().__init__()
            self.request, self.prepared, self.probabilities, self.names, self.note = (
                request, prepared, probabilities, names, note
            )

    def __init__(self, *, runs_dir: str | Path | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.run = RunState()
        self.chosen: Path | None = None
        """A run folder typed into the view; its model is used when no run trains."""
        self.awaiting: str | None = None
        """The id of the predict command whose answer the view shows (the app sets it)."""
        self.model_label = ""
        """Which model the shown prediction came from."""
        self.prepared: bytes | None = None
        """The drawing as the model sees it (None while the canvas is empty)."""
        self.predictions = 0
        """Predictions shown so far (the tests count them)."""
        self._request = 0
        self._answered = 0
        """The latest request whose outcome is on screen (a prediction, or why there is none)."""
        self._source: tuple[str, str] | None = None
        """The model of the latest prediction: ("live", run id) or ("saved", folder)."""
        self._live_step = 0
        """The training step the training model's shown answer came from."""
        self._stamps: tuple[tuple[str, int, int], ...] = ()
        """The checkpoints of the saved model's folder as its latest prediction found them."""
        self._timer: Timer | None = None
        self._queued = False
        """A prediction is to start as soon as the app is free (``call_later``)."""
        self._cache = ModelCache()
        self._model_failed = False
        """The shown model could not classify (its folder's error is in the bars)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="draw-body"):
            with Vertical(id="canvas-box"):
                yield DrawCanvas(id="canvas")
            with Vertical(id="draw-side"):
                with VerticalScroll(id="draw-panes"):
                    yield Static(PixelArt(bytes(SIDE * SIDE)), id="prepared")
                    with Vertical(id="prediction"):
                        yield Static("", id="model")
                        yield ProbabilityBars(id="probabilities")
                # Under the panes, not after them: the bars grew and pushed it off screen (QA typed
                # a path where it had been, and its letters ran the dashboard's keys).
                with Vertical(id="folder-box"):
                    yield Static("", id="folder-error")  # above the field, which stays where it was clicked
                    yield FieldInput(placeholder="the shown run's, else the newest trained", id="run-folder", compact=True)

    def on_mount(self) -> None:
        box = self.query_one("#canvas-box")
        box.border_title = "Canvas"
        box.border_subtitle = "left draws · right erases · arrows space · c clears"
        self.query_one("#prepared").border_title = "What the model sees"
        self.query_one("#prediction").border_title = "Prediction"
        self.query_one("#folder-box").border_title = "Run folder (enter)"
        self._show_empty()
        self.follow_room()

    def on_show_view(self) -> None:
        self._fit()
        self.query_one(DrawCanvas).focus()
        if self.awaiting is not None:  # its answer came while the view was hidden, and went unseen
            self._schedule(None)
        self.frame()  # the training model moved on while the view was hidden

    def _fit(self) -> None:
        """The canvas's size, and which side pane comes first, for the room the view has."""
        width, height = self._fitted = self._room()
        self.query_one(DrawCanvas).set_compact(width < FULL_SIZE[0] or height < FULL_SIZE[1])
        short = height < BOTH_ROWS
        self.set_class(short, "-short")
        panes = self.query_one("#draw-panes")
        first = self.query_one("#prediction" if short else "#prepared")
        if panes.children[0] is not first:
            panes.move_child(first, before=0)
        side, folder = self.query_one("#draw-side"), self.query_one("#folder-box")
        if short and side.children[0] is not folder:
            side.move_child(folder, before=0)
        elif not short and side.children[-1] is not folder:
            side.move_child(folder, after=panes)

    # --- the pane ---------------------------------------------------------------------------

    def show_run(self, run: RunState) -> None:
        self.run = run
        source = self._model_source()
        if source != self._source and not self.query_one(DrawCanvas).empty:
            self._schedule(None)  # another model: the drawing is classified again
        elif self.query_one(DrawCanvas).empty:
            self._show_model(source)

    def frame(self) -> None:
        """Once a second while shown: a drawing the training model classified is classified again
        once the model has trained on (QA: it showed epoch 581's answer at epoch 1264), and one a
        saved model classified, once its folder's checkpoints were rewritten (a run trained by
        another process, followed here, saves them each epoch)."""
        if self._source is None or self._source != self._model_source() or not self.settled:
            return
        if self.query_one(DrawCanvas).empty:
            return
        latest = self.run.latest
        if self._source[0] == "live":
            if latest is not None and latest.step > self._live_step:
                self._schedule(None)
        elif self.run.state in ACTIVE and checkpoint_stamps(Path(self._source[1])) != self._stamps:
            self._schedule(None)

    def expect_answer(self, command_id: str, request: int) -> None:
        """The app sent request ``request`` as the predict command ``command_id``: show its answer when it comes."""
        if request == self._request:
            self.awaiting = command_id

    def show_event(self, event: Event, run: RunState) -> None:
        if isinstance(event, DigitPredicted):
            if event.command_id == self.awaiting:
                self.awaiting = None
                self._answered = self._request
                self._live_step = event.step
                self._show_prediction(event.probabilities, run.class_names, f"{LIVE}, {live_step(event.step, run)}")
            return
        self.show_run(run)

    # --- drawing ----------------------------------------------------------------------------

    def action_focus_canvas(self) -> None:
        """Escape: leave the run folder's field for the canvas, whose keys act again."""
        self.query_one(DrawCanvas).focus()

    @on(events.MouseDown, "#canvas-box")
    def _pressed_beside_the_canvas(self, event: events.MouseDown) -> None:
        """A press on the canvas's margin or border starts a stroke that paints once it enters the
        canvas (the canvas takes presses on itself); a drag from anywhere else paints nothing."""
        self.query_one(DrawCanvas).press_outside(event.button)

    def action_clear(self) -> None:
        """Clear the canvas."""
        self.query_one(DrawCanvas).clear()

    @on(DrawCanvas.Changed)
    def _drawn(self) -> None:
        if self.query_one(DrawCanvas).empty:
            self._show_empty()
        else:
            self._schedule(DEBOUNCE_SECONDS)

    def _schedule(self, delay: float | None) -> None:
        """Predict after ``delay`` seconds without another change (None: as soon as the app is free)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if delay is None:
            self._queued = True
            self.call_later(self._predict)
        else:
            self._timer = self.set_timer(delay, self._predict)

    def _show_empty(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._request += 1  # an answer on its way is for a drawing that is gone
        self._answered = self._request
        self.awaiting = None
        self.prepared = None
        self.query_one("#prepared", Static).update(PixelArt(bytes(SIDE * SIDE)))
        self.query_one(ProbabilityBars).show(None, (), EMPTY)
        self._show_model(self._model_source())

    # --- predicting -------------------------------------------------------------------------

    def _live(self) -> bool:
        """Whether the model training now answers: a run this dashboard's engine trains. A run
        followed from its log (``watch``, or one opened from the Runs view while another process
        trains it) takes no commands from here: its folder's checkpoints stand in for it (QA: the
        view said for the whole run that the model would answer "once the run is training")."""
        return self.run.state in ACTIVE and bool(self.run.run_id) and getattr(self.app, "watching", None) is None

    def _model_source(self) -> tuple[str, str] | None:
        """The model a prediction uses now: the training one during a run, else a run folder's."""
        if self._live():
            return ("live", self.run.run_id)
        shown = Path(self.run.run_dir) if self.run.run_dir else None
        folder = self.chosen or (shown if shown is not None and trained(shown) else None) or newest_trained_run(self.runs_dir)
        return ("saved", str(folder)) if folder is not None else None

    def _show_model(self, source: tuple[str, str] | None) -> None:
        if source is None:
            label = NO_LABEL
        elif source[0] == "live":
            label = LIVE
        else:
            label = f"{Path(source[1]).name}: best.pt (else last.pt){self._passed_over(source)}"
        self.model_label = label
        self.query_one("#model", Static).update(Text(f"Model: {label}"))

    @property
    def settled(self) -> bool:
        """Whether the screen shows the outcome for the drawing as it is (no prediction waiting or running)."""
        return self._timer is None and not self._queued and self._answered == self._request

    def _predict(self) -> None:
        self._timer, self._queued = None, False
        canvas = self.query_one(DrawCanvas)
        if canvas.empty:
            self._show_empty()
            return
        self._request += 1
        self.awaiting = None  # an earlier question's answer is for an earlier drawing or model
        source = self._model_source()
        self._source = source
        grid = [canvas.ink[row * SIDE : (row + 1) * SIDE] for row in range(SIDE)]
        folder = Path(source[1]) if source is not None and source[0] == "saved" else None
        self._stamps = checkpoint_stamps(folder) if folder is not None else ()
        self._work(grid, self._request, source, folder)

    @work(thread=True, exclusive=True, group="draw", exit_on_error=False)
    def _work(self, grid: list[list[float]], request: int, source: tuple[str, str] | None, folder: Path | None) -> None:
        """Prepare the drawing (numpy and Pillow), and classify it with a saved model; off the UI thread."""
        from ..engine.prepare import NoDigit, prepare_digit

        names = tuple(str(digit) for digit in range(10))
        try:
            prepared = prepare_digit(grid)
        except NoDigit as error:
            self.post_message(self._Worked(request, None, None, names, str(error)))
            return
        if source is None:
            self.post_message(self._Worked(request, prepared, None, names, NO_MODEL))
        elif source[0] == "live":
            self.post_message(self._Worked(request, prepared, None, names, ""))
            self.post_message(self.PredictWanted(prepared, request))
        else:
            assert folder is not None
            try:
                model = self._cache.get(folder)
            except ModelError as error:
                self.post_message(self._Worked(request, prepared, None, names, str(error)))
                return
            if get_current_worker().is_cancelled:
                return  # a newer drawing is being classified
            self.post_message(self._Worked(request, prepared, model.predict(prepared), model.class_names, model.label))

    @on(_Worked)
    def _worked(self, message: _Worked) -> None:
        if message.request != self._request:
            return  # the drawing changed since
        if message.probabilities is not None or message.note:
            self._answered = message.request  # else the training model's answer is still to come
        self.prepared = message.prepared
        if message.prepared is not None:
            self.query_one("#prepared", Static).update(PixelArt(message.prepared))
        if message.probabilities is not None:
            self._show_prediction(message.probabilities, message.names, message.note)
        elif message.note:  # no model, or it failed to load: say so instead of stale bars
            self._model_failed = self._source is not None and self._source[0] == "saved"
            self.query_one(ProbabilityBars).show(None, (), message.note)
            self._show_model(self._source)
        elif not self.model_label.startswith(f"{LIVE},"):  # else it keeps saying when its last answer was made
            self._show_model(self._source)  # the training model's answer is on its way
            bars = self.query_one(ProbabilityBars)
            if bars.probabilities is None:  # an earlier note ("no trained model yet") would contradict the line above
                bars.show(None, (), ASKING)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "draw" and event.state == WorkerState.ERROR:
            # An error of ours, not the model's (those come back as messages): shown, not swallowed.
            self.query_one(ProbabilityBars).show(None, (), f"Could not classify: {event.worker.error!r}")
            self._answered = self._request

    def _passed_over(self, source: tuple[str, str] | None) -> str:
        """Why the shown run is not the model, where another run's stands in for it (QA: it did so without a word)."""
        shown = self.run.run_dir
        if source is None or source[0] != "saved" or self.chosen or not shown or Path(source[1]) == Path(shown):
            return ""
        return f" · the shown run {Path(shown).name} has no trained checkpoint"

    def _show_prediction(self, probabilities: tuple[float, ...], names: tuple[str, ...], label: str) -> None:
        self.predictions += 1
        self._model_failed = False
        label += self._passed_over(self._source)
        self.model_label = label
        self.query_one("#model", Static).update(Text(f"Model: {label}"))
        self.query_one(ProbabilityBars).show(probabilities, names)

    # --- choosing a run folder ----------------------------------------------------------------

    def _typed_folder(self, text: str) -> Path:
        """The folder ``text`` names: as a path, else (a run's name, as ``runs`` lists it) in the runs folder."""
        folder = Path(text).expanduser()
        if paths.is_dir(folder) or folder.is_absolute() or self.runs_dir is None:
            return folder
        listed = self.runs_dir / folder
        return listed if paths.is_dir(listed) else folder

    @on(Input.Submitted, "#run-folder")
    def _folder_typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        error = note = ""
        if not text:
            self.chosen = None
        else:
            folder = self._typed_folder(text)
            if paths.unreachable(folder) is not None:
                error = f"{text} {paths.unreachable(folder)}"
            elif not paths.is_dir(folder):
                where = f" (here or in {self.runs_dir})" if self.runs_dir is not None and not folder.is_absolute() else ""
                error = f"{text} is not a run folder{where}"
            elif not has_checkpoint(folder):
                error = f"{folder} has no best.pt or last.pt"
            else:
                self.chosen = folder
            if error and self.model_label not in ("", NO_LABEL) and not self._model_failed:
                error += f"; predicting with {self.model_label} still"
        if not error and self.chosen is not None and self._live():
            note = f"{self.chosen.name} predicts once this run ends; until then the model training now does"
        shown = self.query_one("#folder-error", Static)
        shown.update(error or note)
        shown.display = bool(error or note)
        shown.set_class(bool(note), "-note")
        if not error:
            self.query_one(DrawCanvas).focus()
            self.show_run(self.run)
