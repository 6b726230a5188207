"""The dashboard: wiring of the views, the status and key bars and the keys to one engine run.

The engine runs in a thread worker (``engine_feed.py``) that only iterates its events and hands
each one to the app; the worker's ``cancelled_event`` is the engine's stop flag. Widgets are set
from here, on the UI thread; they post messages upward.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static
from textual.worker import Worker

from ..engine.commands import Inbox
from ..engine.config import Config
from ..engine.events import Event, RunFailed, RunStarted, new_run_id
from ..engine.replay import ReplayError, describe_skipped, read_events
from ..exit_codes import FAILED, INTERRUPTED
from ..gil import long_switch_interval_until, short_switch_interval
from ..heap import collector_paused_until
from .config_form import ConfigForm
from .digit_gallery import DigitGallery
from .hangup import watch_terminal
from .draw_view import DrawView
from .engine_feed import EngineFeed
from .help_screen import HelpScreen, render_ahead
from .inspect_view import InspectView
from .key_bar import Key, KeyBar
from .pane import Router, View
from .past_runs import PastRuns
from .run_progress import RunProgress, describe_interrupted
from .run_state import ACTIVE, RunState  # noqa: F401  (ACTIVE: the tests import it from here)
from .runs_view import RunsView
from .source import EngineEvent, EventsArrived, EventSource, engine_source
from .status_bar import StatusBar
from .steer_bar import SteerBar
from .styling import ShownOnce, StyledOnMount
from .sweep_view import SweepUpdated, SweepView
from .train_view import TrainView
from .view_bar import Tab, ViewBar
from .watching import Watching

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
FRAME_SECONDS = 1.0
"""The frame tick: loss reports that arrived are applied, and the chart and progress repainted,
at most this often, in one wake-up of the UI thread (a person sees no difference; each wake-up
takes a core from training for a moment). Other events are shown as they come."""
VIEWS: tuple[type[View], ...] = (TrainView, InspectView, DrawView, RunsView, SweepView)
"""The dashboard's views, in the order of their number keys."""
STEERABLE = ("running", "paused")
"""The states in which a run takes new settings (the form's live fields, or ``e``)."""
SIGNAL_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


class MnistApp(EngineFeed, PastRuns, Watching, StyledOnMount):
    """Train an MLP on MNIST and watch it learn."""

    CSS_PATH = "app.tcss"
    SCREENS = {"help": HelpScreen}
    TITLE = "mnist-tui"
    AUTO_FOCUS = None  # keys go to the app until the user picks a field
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause/Resume"),
        Binding("n", "step", "Step"),
        Binding("x", "stop", "Stop"),
        Binding("e", "settings", "Set lr…"),
        Binding("question_mark", "help", "Help", key_display="?"),
        *(Binding(view.KEY, f"view('{view.__name__}')", view.TITLE, show=False) for view in VIEWS),
        Binding("f6", "next_view", "Views", key_display=f"{VIEWS[0].KEY}-{VIEWS[-1].KEY}"),
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
        view: str | None = None,
        on_ready: Callable[[MnistApp], None] | None = None,
        runs_dir: str | Path | None = None,
        watch: str | Path | None = None,
    ) -> None:
        """``view``: the view to open on; ``on_ready``: called once mounted (``mnist-tui sweep`` starts feeding it then);
        ``watch``: a run folder another process trains, to follow and steer instead of training here."""
        super().__init__()
        self._config = config
        self._focus_before_small: Widget | None = None
        """What had focus when the terminal became too small (given back when it is large enough)."""
        self._preset = preset
        self._source = source
        self._autostart = autostart
        self._resume = Path(resume) if resume else None
        self._initial_view = view
        self._on_ready = on_ready
        self._runs_dir = runs_dir
        self.watching = Path(watch) if watch else None
        """The run folder that ``watch`` follows (another process trains it); None for the dashboard's own runs."""
        self.trial_followed = False
        """Whether ``watching`` is a sweep's running trial, opened from the Sweep view (let go when it ends)."""
        self.run_state = RunState()
        """The shown run as its events describe it (the reducer every pane draws from)."""
        self._replaying = False
        """While a recorded run is shown (show_recorded): its end is no run's outcome here."""
        self.sent_commands: set[str] = set()
        """Ids of the commands this app sent and whose answer it has not come yet."""
        self.answers_are_news = True
        """Whether the answers arriving now are new: False while a watcher reads the log's past,
        whose refusals would pop up all at once (only this app's own commands' do then)."""
        self.exit_code = 0
        """The last run's outcome as headless would exit (0 before any), or the signal's code."""
        self._signal_code: int | None = None
        self._quitting = False
        self._inbox: Inbox | None = None
        """The running engine's commands: pause, resume, step, set, predict."""
        self._shown = threading.Event()
        """Set once the screen shows the last event a visible pane waits for; the engine thread waits for it."""
        self._waited: tuple[type[Event], ...] = ()
        """Every event type some pane waits for (the pump waits only after these)."""
        self._router = Router(())
        self._views: dict[str, View] = {}
        self._arrived: deque[Event] = deque()
        """Events the engine thread handed over, in order, not shown yet (appending is thread-safe)."""
        self._visible: set[Widget] = set()
        self._worker: Worker[None] | None = None
        self._narrow = False
        self._terminal = (0, 0)

    def get_default_screen(self) -> Screen:
        return ShownOnce(id="_default")

    def compose(self) -> ComposeResult:
        yield ViewBar(tuple(Tab(view.KEY, view.__name__, view.TITLE) for view in VIEWS), id="views-bar")
        with ContentSwitcher(initial=TrainView.__name__, id="views"):
            yield TrainView(self._config, preset=self._preset, id=TrainView.__name__)
            yield InspectView(id=InspectView.__name__)
            yield DrawView(runs_dir=self._runs_dir, id=DrawView.__name__)
            yield RunsView(self._runs_dir or "runs", id=RunsView.__name__)
            yield SweepView(id=SweepView.__name__)
        yield SteerBar(id="steer")
        yield StatusBar(id="status")
        shown = (b for b in self.BINDINGS if isinstance(b, Binding) and b.show)
        yield KeyBar(tuple(Key(b.key_display or b.key, b.action, b.description) for b in shown), id="keys")
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        self.query_one(StatusBar).name_shown = self.query_one(ConfigForm).summary
        self._views = {view.id or "": view for view in self.query(View)}
        self._router = Router(self.query("*"))
        self._waited = tuple({kind for pane in self._router.panes for kind in pane.WAITED})  # type: ignore[attr-defined]
        self._visible = self._visible_panes()
        self._set_state("idle")
        self._fit_to_size(*self.size)
        self.set_interval(FRAME_SECONDS, self._frame)
        self.call_after_refresh(lambda: render_ahead(self.console, self.size.width))  # the help's first opening
        if not self.is_headless and threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(number, self._on_signal, SIGNAL_CODES[number])
            watch_terminal(self._stop_for_hangup)  # SIGHUP too: the loop may never run again
        if self._initial_view:
            self.action_view(self._initial_view)
        if self._on_ready is not None:
            self._on_ready(self)
        if self.watching is not None:
            self.call_after_refresh(self.follow_run, self.watching)
        elif self._autostart:
            self.call_after_refresh(self.action_start)

    @property
    def state(self) -> str:
        """The shown run's state: idle, starting, running, paused, stopping or how it ended."""
        return self.run_state.state

    @property
    def signal_code(self) -> int | None:
        """The exit code of the signal that ended the app (130, 143, 129), None if none did."""
        return self._signal_code

    @property
    def run_id(self) -> str | None:
        """The run whose events are shown; events of any other run are dropped."""
        return self.run_state.run_id

    @property
    def current_view(self) -> str:
        return self.query_one("#views", ContentSwitcher).current or TrainView.__name__

    def action_view(self, name: str) -> None:
        """Show the view ``name``; its panes catch up on what they missed while hidden."""
        if name not in self._views or name == self.current_view:
            return
        self.repaint_whole_screen()
        self.query_one("#views", ContentSwitcher).current = name
        self.query_one(ViewBar).current = name
        self._visible = self._visible_panes()
        self._router.catch_up(self.run_state, self._visible)
        self._views[name].on_show_view()
        if name != InspectView.__name__ and isinstance(self.focused, Widget) and self.focused.has_class("-view-focus"):
            self.set_focus(None)

    @on(ViewBar.Chosen)
    def _view_chosen(self, message: ViewBar.Chosen) -> None:
        self.action_view(message.view)

    def _visible_panes(self) -> set[Widget]:
        """The panes outside any view, and those of the current view."""
        current = self.current_view
        visible = set()
        for pane in self._router.panes:
            view = next((a for a in pane.ancestors_with_self if isinstance(a, View)), None)
            if view is None or view.id == current:
                visible.add(pane)
        return visible

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: this handler runs before App._on_resize updates self.size.
        self._fit_to_size(event.size.width, event.size.height)

    def _fit_to_size(self, width: int, height: int) -> None:
        """Too small, narrow and short layouts follow the terminal's size (at start and on resize)."""
        screen = self.main_screen
        too_small, was = width < MIN_WIDTH or height < MIN_HEIGHT, screen.has_class("-too-small")
        if too_small and not was:
            # Hiding the views moves focus off them, and showing them again did not bring it back
            # (QA: the Runs table's keys went deaf, and view keys typed into its filter).
            self._focus_before_small = screen.focused
        elif was and not too_small:
            self.call_after_refresh(self._refocus_after_small)
        # Each class changed restyles every widget (170-300 ms here): the screen's are set, then
        # restyled once, #main's with them (a resize across two sizes restyled it all twice).
        wanted = {"-too-small": too_small, "-narrow": width < SIDEBAR_WIDTH, "-short": height < FULL_GALLERY_HEIGHT}
        changed = [name for name, add in wanted.items() if screen.has_class(name) != add]
        for name in changed:
            screen.set_class(wanted[name], name, update=False)
        self._narrow = width < SIDEBAR_WIDTH
        self._terminal = (width, height)
        self._arrange_panes(restyle=not changed)
        if changed:
            screen.update_node_styles()
        self.query_one("#gallery", DigitGallery).set_compact(height < FULL_GALLERY_HEIGHT)
        self.query_one("#too-small", Static).update(
            f"mnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {width}x{height}.\n"
            "Enlarge it to see the dashboard (meanwhile a run trains on, or stays paused), or press q to quit."
        )

    def _refocus_after_small(self) -> None:
        """Give focus back to the widget that had it before the terminal was too small, if it can take it."""
        widget, self._focus_before_small = self._focus_before_small, None
        # In the focus chain: still shown (not in a view left meanwhile) and able to take focus.
        if widget is not None and widget.is_attached and widget in self.main_screen.focus_chain:
            self.main_screen.set_focus(widget)

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

    def key_s(self) -> None:
        """``s`` while Start is greyed out (:meth:`check_action` leaves the key to this): say why
        nothing starts (QA: during a run it did nothing, without a word)."""
        self.state_is_active("starting another run")

    @on(ConfigForm.Submitted)
    def _start_run(self, message: ConfigForm.Submitted) -> None:
        resume, self._resume = self._resume, None
        config, preset = message.config, message.preset
        if resume is not None:  # --resume: the form shows the run's own settings, not the defaults
            config = self.load_config_of(resume) or config
            preset = self.query_one(ConfigForm).preset
        self.start(config, preset=preset, resume=resume)

    def start(self, config: Config, *, preset: str | None, resume: Path | None) -> None:
        """Start ``config`` afresh, or continue the run folder ``resume``."""
        if self.state in ACTIVE or self.watching is not None:
            return
        run_id = resume.name if resume else new_run_id(config.name)
        self._config = config
        folder = str(resume) if resume else ""
        self.run_state = RunState(run_id=run_id, folder=folder, state="starting", config=config.to_dict())
        self._router.show_all(self.run_state, self._visible)
        self.query_one(ConfigForm).lock_for_run(config)
        self._inbox = Inbox()
        self._set_state("starting")
        self._worker = self._pump(config, run_id, self._inbox, preset, resume)

    def action_pause(self) -> None:
        """Pause after the batch in progress, or resume (the engine answers with paused or resumed).
        While the run starts, the pause waits in the inbox: the engine takes it at its first batch
        (QA: p pressed while the data loaded did nothing, without a word)."""
        command = {"starting": "pause", "running": "pause", "paused": "resume"}.get(self.state)
        if self.watching is not None:
            self.steer(command)
        elif self._inbox is not None and command is not None:
            self.sent_commands.add(self._inbox.put(command))

    def action_step(self) -> None:
        """While paused, train one report interval and pause again."""
        if self.watching is not None and self.state == "paused":
            self.steer("step")
        elif self._inbox is not None and self.state == "paused":
            self.sent_commands.add(self._inbox.put("step"))

    @on(ConfigForm.Changed)
    def _form_changed(self, message: ConfigForm.Changed) -> None:
        # Idle, the status line names what s would start; once a run is shown (running, ended,
        # replayed or followed), that run's own name.
        if self.state == "idle" and self.watching is None:
            self.query_one(StatusBar).name_shown = message.summary

    @on(ConfigForm.SettingSubmitted)
    def _setting_submitted(self, message: ConfigForm.SettingSubmitted) -> None:
        self.send_settings({message.name: message.value})

    def action_settings(self) -> None:
        """Type new settings for the run (lr, momentum, weight_decay) on one line: below
        :data:`SIDEBAR_WIDTH` columns the form hides during a run, and ``watch`` has the same key."""
        if self.state in STEERABLE:
            self.query_one(SteerBar).open()

    def on_steer_bar_settings_typed(self, message: SteerBar.SettingsTyped) -> None:
        self.send_settings(message.values)

    def send_settings(self, values: dict[str, float]) -> None:
        """Send new settings to the run, as the form's live fields and ``e`` do: its engine
        answers, and "Changed: …" or "Not changed: …" says so (:meth:`show_event`)."""
        if self.watching is not None and self.state in ACTIVE:
            self.steer("set", values)
        elif self._inbox is not None and self.state in ACTIVE:
            self.sent_commands.add(self._inbox.put("set", values))
        else:  # the run ended while the settings were typed
            self.notify("Not changed: no run is training now.", severity="warning")

    @on(DrawView.PredictWanted)
    def _predict_wanted(self, message: DrawView.PredictWanted) -> None:
        if self._inbox is not None and self.state in ACTIVE:
            command_id = self._inbox.put("predict", pixels=message.pixels)
            self.query_one(DrawView).expect_answer(command_id, message.request)

    def action_stop(self) -> None:
        """Stop the run between batches; the engine writes its last checkpoint first."""
        if self.watching is not None and self.state in ACTIVE:
            if self.steer("stop"):
                self._set_state("stopping")
            return
        if self.state not in ACTIVE or self._worker is None:
            return
        self._worker.cancel()
        self._set_state("stopping")

    async def action_quit(self) -> None:
        """Quit; a running engine is stopped and checkpointed first (at most a moment's wait)."""
        if self.state in ACTIVE and self._worker is not None:
            self._quitting = True
            if self._signal_code is None:
                self.exit_code = INTERRUPTED  # the run was stopped, as by Ctrl+C headless
            self.action_stop()
            self.set_timer(QUIT_GRACE_SECONDS, lambda: self.exit(self.exit_code))
        else:
            self.exit(self.exit_code)

    def state_is_active(self, doing: str) -> bool:
        """Whether a run is in progress (or followed), said in a notice: ``doing`` what is refused."""
        if self.trial_followed:
            self.notify(
                f"This dashboard follows the trial {self.watching.name}: it lets go when the trial ends "
                f"or another trial is opened, then allows {doing}."
            )
            return True
        if self.watching is not None:
            self.notify(f"watch follows {self.watching.name} only: open the dashboard (mnist-tui) for {doing}.")
            return True
        if self.state in ACTIVE:
            self.notify(f"A run is in progress: stop it (x) before {doing}.", severity="warning")
            return True
        return False

    def show_recorded(self, events: Iterable[Event], *, folder: Path | None = None) -> None:
        """Show a recorded run (a replayed ``events.jsonl``) through the same path as a live one.

        ``folder``: where the log was read, shown as the run's folder (and used by the Draw view)
        rather than the one the log names, which a copied or moved folder no longer is.
        """
        if self.state in ACTIVE:
            self.notify("A run is in progress: stop it (x) before opening another.", severity="warning")
            return
        events = list(events)
        run_id = next((e.run_id for e in events), None)  # the log's first; run_state.takes the rest
        self.run_state = RunState(run_id=run_id, folder=str(folder) if folder else "")
        self._router.show_all(self.run_state, self._visible)
        self._replaying = True  # its end is history: no toast, and the exit code stays this app's
        try:
            for event in events:
                if self.run_state.takes(event):
                    self.show_event(event)
        finally:
            self._replaying = False
        if self.run_state.state in ACTIVE:  # the log ends mid-run and nothing trains it here
            self.run_state.state = "interrupted"
            self.show_interrupted()
        self._set_state(self.run_state.state)

    def show_interrupted(self) -> None:
        """Progress says where the run stopped, in place of a time left: nothing trains it any more."""
        self.query_one(RunProgress).finish(*describe_interrupted(self.run_state))

    @on(SweepUpdated)
    def _sweep_updated(self, message: SweepUpdated) -> None:
        self.query_one(SweepView).show_sweep(message.snapshot)

    @on(SweepView.TrialOpened)
    def _trial_opened(self, message: SweepView.TrialOpened) -> None:
        """Show a sweep trial's run folder in the view asked for: a running one followed live, others as recorded."""
        self.let_trial_go()
        log = Path(message.run_dir) / "events.jsonl" if message.run_dir else None
        if log is None or not log.is_file():
            if message.state in ("running", "waiting"):
                note = f"Trial {message.number} has no run folder on this machine yet."
            else:  # "yet" would promise one
                note = f"Trial {message.number} has no run folder on this machine (it ran on another, or failed before making one)."
            self.notify(note, severity="warning")
            return
        if message.state == "running" and self.state not in ACTIVE:
            self.follow_trial(log.parent)
            self.action_view(message.view)
            return
        try:
            events, skipped = read_events(log)
        except (OSError, ReplayError) as error:
            self.notify(f"Trial {message.number}: {error}", severity="error")
            return
        if skipped:
            self.notify(f"Trial {message.number}: {describe_skipped(skipped)}", severity="warning", timeout=10)
        self.show_recorded(events, folder=log.parent)
        if self.state not in ACTIVE:  # else show_recorded said why it did not open it
            self.load_config_of(Path(message.run_dir), fresh=True, trial=True)  # the trial's settings, not the base's
            self.action_view(message.view)

    def action_next_view(self) -> None:
        """Show the next view (the key bar's "views" entry)."""
        names = [view.__name__ for view in VIEWS]
        self.action_view(names[(names.index(self.current_view) + 1) % len(names)])

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.repaint_whole_screen()
            self.push_screen("help")  # one installed screen (SCREENS): composed once, then reused

    def repaint_whole_screen(self) -> None:
        """The next frame repaints the whole screen: let the UI's Python have the GIL until it is
        painted (``gil.long_switch_interval_until``), and the garbage collector wait until then
        (``heap.collector_paused_until``), so the key that asked shows without delay."""
        long_switch_interval_until(self.call_after_refresh)
        collector_paused_until(self.call_after_refresh)

    def action_leave_field(self) -> None:
        self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out the keys that do nothing in the current state; leave them off the bar where
        nothing can bring them back (a watched run that has ended)."""
        if self.watching is not None and self.state not in ACTIVE and action in ("start", "pause", "step", "settings", "stop"):
            return False  # QA: a finished run's watcher offered p, x and e, which did nothing
        if action == "start":
            return (self.watching is None and self.state not in ACTIVE) or None
        if action == "pause":
            return self.state in ("starting", "running", "paused") or None
        if action == "step":
            return self.state == "paused" or None
        if action == "settings":
            return self.state in STEERABLE or None
        if action == "stop":
            return self.state in ("starting", "running", "paused") or None
        return True

    def _on_signal(self, code: int) -> None:
        self._signal_code = self.exit_code = code
        self.call_later(self.action_quit)

    def _stop_for_hangup(self) -> None:
        """Stop the engine from the terminal watch's thread: its stop flag is thread-safe."""
        worker = self._worker
        if worker is not None:
            worker.cancelled_event.set()

    # --- the engine's events ------------------------------------------------------------------

    @on(EventsArrived)
    def _events_arrived(self, message: EventsArrived) -> None:
        self._show_arrived()

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        event: Event = message.event
        if event.run_id != self.run_id:
            return  # a leftover of an earlier run
        try:
            self.show_event(event)
        except NoMatches:  # the app is closing: its widgets are gone
            pass

    def _set_state(self, state: str) -> None:
        self.run_state.state = state
        if state not in STEERABLE:
            self.query_one(SteerBar).close()  # nothing left to steer
        self.query_one(StatusBar).state = state
        self._arrange_panes()
        self.query_one(KeyBar).update_keys()

    def _arrange_panes(self, *, restyle: bool = True) -> None:
        """The form beside the panes or hidden, and the panes beside the chart or under it, by size and state.

        ``restyle=False``: #main's classes are set for a restyle of the whole screen to follow."""
        # Set on the one container: a screen-wide class would restyle every widget at each start.
        sidebar = self.query_one("#sidebar")
        sidebar.display = not (self._narrow and self.state in ACTIVE)
        width, height = self._terminal
        if sidebar.display:
            width -= SIDEBAR_COLUMNS[self._narrow]
        main = self.query_one("#main")
        beside = height < BESIDE_HEIGHT and width >= BESIDE_WIDTH
        wanted = {"-beside": beside, "-cramped": width < CRAMPED_WIDTH}
        changed = [name for name, add in wanted.items() if main.has_class(name) != add]
        for name in changed:
            main.set_class(wanted[name], name, update=False)
        if changed and restyle:
            main.update_node_styles()
        # Short, with the panes under the chart (the form beside them at 80-109 columns), the
        # gallery's rows go to the chart, which would keep none to plot on; it still takes its
        # events while hidden, so it shows the latest predictions when it comes back.
        self.query_one("#gallery").display = beside or height >= BESIDE_HEIGHT


def run_dashboard(
    config: Config,
    *,
    preset: str | None,
    autostart: bool,
    data_dir: str | None,
    runs_dir: str,
    resume: str | None = None,
    resume_epochs: int | None = None,
    trained: list[Path | RunFailed] | None = None,
) -> int:
    """Run the dashboard until the user quits; returns the process exit code. Each run folder the
    engine starts (or resumes) training in is appended to ``trained``, where given, and the
    failure of a run that ended before it had one (:func:`noting_runs`)."""
    source = engine_source(data_dir=data_dir, runs_dir=runs_dir, resume=resume, resume_epochs=resume_epochs)
    if trained is not None:
        source = noting_runs(source, trained)
    app = MnistApp(config, source=source, preset=preset, autostart=autostart, resume=resume, runs_dir=runs_dir)
    with short_switch_interval():  # the engine thread gets the GIL back within 0.1 ms of the UI's Python
        code = app.run()
    if code is None:  # ended without a result: Textual has printed why (return_code 1 after a crash)
        return app.return_code or FAILED
    return code


def noting_runs(source: EventSource, trained: list[Path | RunFailed]) -> EventSource:
    """``source``, appending to ``trained`` the folder of each run it starts training in, and the
    failure of a run that ended before it had a folder (no data, a refused resume): once the screen
    closes, the terminal says how the last one ended (QA: such a failure left it empty)."""

    def noting(*args, **kwargs) -> Iterator[Event]:
        events = iter(source(*args, **kwargs))
        folder: Path | None = None
        try:
            for event in events:
                if isinstance(event, RunStarted) and event.run_dir:
                    folder = Path(event.run_dir)
                    trained.append(folder)
                elif isinstance(event, RunFailed) and folder is None:
                    trained.append(event)
                yield event
        finally:  # closed early (the run stopped): the engine's generator closes its run folder now
            close = getattr(events, "close", None)
            if close is not None:
                close()

    return noting
