"""The dashboard: wiring of the form, chart, progress, accuracy, gallery and status to one engine run.

The engine runs in a thread worker that only iterates its events and posts each one to the app
(``post_message`` is thread-safe and never blocks); the worker's ``cancelled_event`` is the
engine's stop flag. Widgets are set from here, on the UI thread; they post messages upward.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from ..engine.config import Config
from ..engine.events import (
    BatchReported,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesPredicted,
    Terminal,
    new_run_id,
)
from .accuracy_table import AccuracyTable
from .config_form import ConfigForm
from .digit_gallery import DigitGallery
from .help_screen import HelpScreen
from .key_bar import Key, KeyBar
from .loss_chart import LossChart
from .run_progress import RunProgress
from ..exit_codes import ENGINE_THREAD, FAILED
from ..gil import short_switch_interval
from .source import EngineEvent, EventSource, engine_source
from .status_bar import StatusBar

MIN_WIDTH, MIN_HEIGHT = 80, 24
FULL_GALLERY_HEIGHT = 38
"""Below this many rows the gallery draws half-size digits, so every pane keeps its place."""
BESIDE_HEIGHT, BESIDE_WIDTH = 30, 76
"""Below this many rows, progress and accuracy stand beside the loss chart instead of under it,
where the chart's column (the sidebar's, when shown, taken off) has at least this many cells."""
CRAMPED_WIDTH = 82
"""Below this many cells in the chart's column, progress and accuracy share it half and half
(the accuracy table's 42 cells would leave the progress pane none)."""
SIDEBAR_WIDTH = 110
"""Below this many columns the form hides during a run (it is locked then anyway)."""
SIDEBAR_COLUMNS = {False: 38, True: 32}
"""The sidebar's width (app.tcss), on wide and on narrow terminals."""
QUIT_GRACE_SECONDS = 1.5
"""How long quitting waits for a running engine to stop and checkpoint before the app exits."""
PROGRESS_SECONDS = 0.5
"""How often the progress pane shows the latest report."""
PAINT_WAIT = 1.0
"""Longest the engine waits for the screen to show a run's start or a new gallery before training on."""
HEAVY_EVENTS = (RunStarted, SamplesPredicted)
"""Events whose display takes a relayout or the pixel art (tens of ms): training waits for them."""
ACTIVE = ("starting", "running", "paused", "stopping")
SIGNAL_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def describe_end(event: Terminal) -> tuple[str, str]:
    """How a run ended, as a headline and a detail line, and its style."""
    if isinstance(event, RunFinished):
        return (
            f"Finished: final accuracy {event.final_accuracy:.2f} %\n"
            f"best {event.best_accuracy:.2f} % at epoch {event.best_epoch}",
            "bold green",
        )
    if isinstance(event, RunStopped):
        return f"Stopped at epoch {event.epoch}, step {event.step:,}\nthe last checkpoint resumes it", "bold yellow"
    if isinstance(event, RunDiverged):
        return f"Diverged at step {event.step:,} (loss {event.loss})\ntry a smaller learning rate", "bold red"
    if isinstance(event, RunFailed):
        return f"Failed: {event.error}", "bold red"
    return event.status, "bold"


class MnistApp(App[int]):
    """Train an MLP on MNIST and watch it learn."""

    CSS_PATH = "app.tcss"
    SCREENS = {"help": HelpScreen}
    TITLE = "mnist-tui"
    AUTO_FOCUS = None  # keys go to the app until the user picks a field
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause/Resume"),
        Binding("x", "stop", "Stop"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("escape", "leave_field", "Leave field", show=False),
    ]

    def __init__(
        self,
        config: Config,
        *,
        source: EventSource,
        preset: str | None = None,
        autostart: bool = False,
        resume: str | Path | None = None,
    ) -> None:
        super().__init__()
        self._config = config
        self._preset = preset
        self._source = source
        self._autostart = autostart
        self._resume = Path(resume) if resume else None
        self.state = "idle"
        self.run_id: str | None = None
        """The run whose events are shown; events of any other run are dropped."""
        self.exit_code = 0
        self._quitting = False
        self._unpaused = threading.Event()
        self._shown = threading.Event()
        """Set once the screen shows the last of the HEAVY_EVENTS; the engine thread waits for it."""
        self._unpaused.set()
        self._worker: Worker[None] | None = None
        self._narrow = False
        self._terminal = (0, 0)

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with VerticalScroll(id="sidebar"):
                yield ConfigForm(self._config, preset=self._preset, id="form")
            with Vertical(id="main"):
                yield LossChart(id="loss")
                with Horizontal(id="run-panes"):
                    yield RunProgress(id="progress")
                    yield AccuracyTable(id="accuracy")
        yield DigitGallery(id="gallery")
        yield StatusBar(id="status")
        shown = (b for b in self.BINDINGS if isinstance(b, Binding) and b.show)
        yield KeyBar(tuple(Key(b.key_display or b.key, b.action, b.description) for b in shown), id="keys")
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        self.query_one("#sidebar").border_title = "Hyperparameters"
        self.query_one("#progress").border_title = "Progress"
        self.query_one("#accuracy").border_title = "Accuracy per epoch"
        self.query_one("#gallery").border_title = "Predictions"
        self.query_one(StatusBar).name_shown = self._config.name
        self._set_state("idle")
        self._fit_to_size(*self.size)
        self.set_interval(PROGRESS_SECONDS, self._paint_progress)
        if not self.is_headless and threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for number, code in SIGNAL_CODES.items():
                loop.add_signal_handler(number, self._on_signal, code)
        if self._autostart:
            self.call_after_refresh(self.action_start)

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: this handler runs before App._on_resize updates self.size.
        self._fit_to_size(event.size.width, event.size.height)

    def _fit_to_size(self, width: int, height: int) -> None:
        """Too small, narrow and short layouts follow the terminal's size (at start and on resize)."""
        screen = self.main_screen
        screen.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        screen.set_class(width < SIDEBAR_WIDTH, "-narrow")
        self._narrow = width < SIDEBAR_WIDTH
        self._terminal = (width, height)
        self._arrange_panes()
        screen.set_class(height < FULL_GALLERY_HEIGHT, "-short")
        self.query_one(DigitGallery).set_compact(height < FULL_GALLERY_HEIGHT)
        self.query_one("#too-small", Static).update(
            f"mnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {width}x{height}.\n"
            "Enlarge it to see the dashboard (a run goes on training meanwhile), or press q to quit."
        )

    @property
    def main_screen(self) -> Screen:
        """The dashboard's screen, also while the help screen is on top of it."""
        return self.screen_stack[0]

    # --- actions --------------------------------------------------------------------------

    def action_start(self) -> None:
        """Start a run with the form's settings (the form refuses while a field is invalid)."""
        if self.state in ACTIVE:
            self.notify("A run is in progress: stop it (x) before starting another.", severity="warning")
            return
        if not self.query_one(ConfigForm).submit():
            self.notify("Fix the fields marked in red to start.", severity="error")

    @on(ConfigForm.Submitted)
    def _start_run(self, message: ConfigForm.Submitted) -> None:
        if self.state in ACTIVE:
            return
        config = message.config
        resume, self._resume = self._resume, None
        self.run_id = resume.name if resume else new_run_id(config.name)
        self._config = config
        self.query_one(StatusBar).name_shown = config.name
        self.query_one(LossChart).reset()
        self.query_one(AccuracyTable).reset()
        self.query_one(DigitGallery).clear()
        status = self.query_one(StatusBar)
        status.device, status.run_dir = config.device, ""
        self.query_one("#form").disabled = True
        self._unpaused.set()
        self._set_state("starting")
        self._worker = self._pump(config, self.run_id)

    def action_pause(self) -> None:
        """Pause between two reports, or resume."""
        if self.state == "running":
            self._unpaused.clear()
            self._set_state("paused")
            self.query_one(RunProgress).paint()
        elif self.state == "paused":
            self._unpaused.set()
            self._set_state("running")

    def action_stop(self) -> None:
        """Stop the run between batches; the engine writes its last checkpoint first."""
        if self.state not in ACTIVE or self._worker is None:
            return
        self._worker.cancel()
        self._unpaused.set()
        self._set_state("stopping")

    async def action_quit(self) -> None:
        """Quit; a running engine is stopped and checkpointed first (at most a moment's wait)."""
        if self.state in ACTIVE and self._worker is not None:
            self._quitting = True
            self.action_stop()
            self.set_timer(QUIT_GRACE_SECONDS, lambda: self.exit(self.exit_code))
        else:
            self.exit(self.exit_code)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen("help")  # one installed screen (SCREENS): composed once, then reused

    def action_leave_field(self) -> None:
        self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out the keys that do nothing in the current state."""
        if action == "start":
            return self.state not in ACTIVE or None
        if action == "pause":
            return self.state in ("running", "paused") or None
        if action == "stop":
            return self.state in ("starting", "running", "paused") or None
        return True

    def _on_signal(self, code: int) -> None:
        self.exit_code = code
        if code == SIGNAL_CODES[signal.SIGHUP]:
            # The terminal is gone: nothing can be drawn or restored. Stop the engine, let it
            # write its checkpoint, then leave without touching the terminal.
            if self._worker is not None:
                self._worker.cancel()
            self._unpaused.set()
            threading.Thread(target=_exit_when_engine_ends, args=(code,), daemon=True).start()
            return
        self.call_later(self.action_quit)

    # --- the engine thread ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine")
    def _pump(self, config: Config, run_id: str) -> None:
        """Iterate the engine in this thread and post every event; wait here while paused."""
        stop = get_current_worker().cancelled_event
        thread = threading.current_thread()
        pool_name, thread.name = thread.name, ENGINE_THREAD  # the command's fast exit waits for this name
        try:
            for event in self._source(config, run_id, stop):
                heavy = isinstance(event, HEAVY_EVENTS)
                if heavy:
                    self._shown.clear()
                self.post_message(EngineEvent(event))
                if heavy:
                    # Let the UI lay out and paint it before training competes for the cores (it
                    # comes before an epoch's first batch, outside the training clock).
                    self._shown.wait(PAINT_WAIT)
                while not self._unpaused.wait(0.05):
                    if stop.is_set():
                        break
        except Exception as error:  # the engine reports its own errors; this is a source's bug
            self.log.error(f"event source failed: {error!r}")
            failed = RunFailed(run_id=run_id, error=f"{type(error).__name__}: {error}", reason="error")
            self.post_message(EngineEvent(failed))
        finally:
            thread.name = pool_name

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        event: Event = message.event
        if event.run_id != self.run_id:
            return  # a leftover of an earlier run
        try:
            self._show_event(event)
        except NoMatches:  # the app is closing: its widgets are gone
            pass

    def _show_event(self, event: Event) -> None:
        if isinstance(event, BatchReported):
            self.query_one(LossChart).add_batch(event.step / event.steps_per_epoch, event.loss)
            progress = self.query_one(RunProgress)
            progress.advance(event)
            if self.state != "running":
                progress.paint()  # a report that arrives as the run pauses or stops is shown at once
        elif isinstance(event, EpochEnded):
            self.query_one(AccuracyTable).add_epoch(event)
            self.query_one(LossChart).add_evaluation(event.epoch, event.eval_loss)
        elif isinstance(event, SamplesPredicted):
            self.query_one(DigitGallery).show(event)
            self.call_after_refresh(self._shown.set)
        elif isinstance(event, RunStarted):
            status = self.query_one(StatusBar)
            status.device, status.run_dir = event.device, event.run_dir or ""
            self.query_one(RunProgress).start(event)
            self.query_one("#accuracy").border_title = f"Accuracy per epoch · {event.eval_name}"
            if self.state == "starting":
                self._set_state("running")
            self.call_after_refresh(self._shown.set)
        elif isinstance(event, Terminal):
            self._end(event)

    def _paint_progress(self) -> None:
        """Show the latest report's progress (reports can come many times a second; each repaint
        takes the UI thread's time from training). The chart redraws on a timer of its own: in
        one screen refresh, the two would repaint everything between them."""
        try:
            self.query_one(RunProgress).paint()
        except NoMatches:  # a tick that fires while the app closes: its widgets are going
            pass

    def _end(self, event: Terminal) -> None:
        if self.state not in ACTIVE:
            return
        outcome, style = describe_end(event)
        self.query_one(RunProgress).finish(outcome, style)
        self.query_one("#form").disabled = False
        self._set_state(event.status)
        self._worker = None
        severity = {"finished": "information", "stopped": "warning"}.get(event.status, "error")
        self.notify(outcome.replace("\n", "; "), severity=severity, timeout=8)
        if self._quitting:
            self.exit(self.exit_code)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.query_one(StatusBar).state = state
        self._arrange_panes()
        self.query_one(KeyBar).update_keys()

    def _arrange_panes(self) -> None:
        """The form beside the panes or hidden, and the panes beside the chart or under it, by size and state."""
        # Set on the one container: a screen-wide class would restyle every widget at each start.
        sidebar = self.query_one("#sidebar")
        sidebar.display = not (self._narrow and self.state in ACTIVE)
        width, height = self._terminal
        if sidebar.display:
            width -= SIDEBAR_COLUMNS[self._narrow]
        main = self.query_one("#main")
        main.set_class(height < BESIDE_HEIGHT and width >= BESIDE_WIDTH, "-beside")
        main.set_class(width < CRAMPED_WIDTH, "-cramped")


def _exit_when_engine_ends(code: int, timeout: float = 60.0) -> None:
    """Exit with ``code`` once no engine thread runs (it saves the run first), or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while any(thread.name == ENGINE_THREAD for thread in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(code)


def run_dashboard(
    config: Config,
    *,
    preset: str | None,
    autostart: bool,
    data_dir: str | None,
    runs_dir: str,
    resume: str | None = None,
    resume_epochs: int | None = None,
) -> int:
    """Run the dashboard until the user quits; returns the process exit code."""
    source = engine_source(data_dir=data_dir, runs_dir=runs_dir, resume=resume, resume_epochs=resume_epochs)
    app = MnistApp(config, source=source, preset=preset, autostart=autostart, resume=resume)
    with short_switch_interval():  # the engine thread gets the GIL back within 0.1 ms of the UI's Python
        code = app.run()
    if code is None:  # ended without a result: Textual has printed why (return_code 1 after a crash)
        return app.return_code or FAILED
    return code
