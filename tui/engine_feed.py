"""The app's side of the engine: its thread, and the one path every event of the shown run takes.

A mixin of :class:`~.app.MnistApp` (``@on`` handlers stay in the app: Textual registers them on
widget classes only). The engine runs in a thread worker that iterates its events and hands each
one over (``_arrived``, a deque, and ``EventsArrived``); loss reports wait for the frame tick,
everything else is shown at once. A live run, a replayed ``events.jsonl`` and a followed run all
come through :meth:`EngineFeed.show_event`: the reducer (``RunState``) first, then the visible panes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches
from textual.worker import get_current_worker

from ..engine.commands import IN_USE, NO_CHANGE, NOT_REPLAYED, Inbox
from ..engine.config import Config
from ..engine.events import BatchReported, CommandAnswered, Event, RunFailed, Terminal
from ..engine.replay import ReplayError, read_events
from ..exit_codes import ENGINE_THREAD, exit_code
from .config_form import ConfigForm
from .priority import lower_this_thread
from .run_progress import describe_end
from .run_state import ACTIVE, replay
from .source import EventsArrived

if TYPE_CHECKING:
    from .app import MnistApp

    _Base = MnistApp
else:
    _Base = object

PAINT_WAIT = 1.0
"""Longest the engine waits for the screen to show an event a pane waits for (``Pane.WAITED``)."""


class EngineFeed(_Base):
    """The engine's thread and the showing of every event of the shown run."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine")
    def _pump(self, config: Config, run_id: str, inbox: Inbox, preset: str | None, resume: Path | None) -> None:
        """Iterate the engine in this thread and hand every event to the UI (the engine itself waits while paused)."""
        stop = get_current_worker().cancelled_event
        thread = threading.current_thread()
        pool_name, thread.name = thread.name, ENGINE_THREAD  # the command's fast exit waits for this name
        lower_this_thread()  # keys and frames preempt training at once (priority.py)
        try:
            if resume is not None:
                self._show_history(resume, run_id)
            for event in self._source(config, run_id, stop, inbox, preset=preset, resume=resume):
                waited = isinstance(event, self._waited)
                if waited:
                    self._shown.clear()
                self._arrived.append(event)
                if not isinstance(event, BatchReported):
                    # Reports wait for the frame tick; anything else is shown now (with the reports before it).
                    self.post_message(EventsArrived())
                if waited:
                    # Let the UI lay out and paint it before training competes for the cores (it
                    # comes before an epoch's first batch, outside the training clock).
                    self._shown.wait(PAINT_WAIT)
        except Exception as error:  # the engine reports its own errors; this is a source's bug
            self.log.error(f"event source failed: {error!r}")
            failed = RunFailed(run_id=run_id, error=f"{type(error).__name__}: {error}", reason="error")
            self._arrived.append(failed)
            self.post_message(EventsArrived())
        finally:
            thread.name = pool_name

    def _show_history(self, folder: Path, run_id: str) -> None:
        """Before a resumed run's first event, show what its ``events.jsonl`` holds: its chart,
        epochs and changes from the first batch, as ``watch`` shows them, not only those trained
        since the resume. Read in the engine's thread (a long run's log holds megabytes); shown on
        the UI's before the engine starts."""
        try:
            events, _skipped = read_events(folder / "events.jsonl")
        except (OSError, ReplayError):
            return  # the engine says what is wrong with the folder
        if events:
            self.call_from_thread(self._replay_history, events, run_id)

    def _replay_history(self, history: list[Event], run_id: str) -> None:
        if self.run_id != run_id:
            return  # another run started meanwhile
        state = replay(history, folder=self.run_state.folder)
        # The run is starting again: its last session's end is history (the engine's run_started
        # sets the rest, and drops the epochs logged after the checkpoint it resumes from).
        state.run_id, state.terminal, state.state = run_id, None, "starting"
        self.run_state = state
        self._router.show_all(state, self._visible)

    def _show_arrived(self) -> None:
        """Show every event the engine thread handed over, in order."""
        while self._arrived:
            event = self._arrived.popleft()
            if event.run_id != self.run_id:
                continue  # a leftover of an earlier run
            try:
                self.show_event(event)
            except NoMatches:  # the app is closing: its widgets are gone
                self._arrived.clear()
                return

    def _frame(self) -> None:
        """The frame tick: show the reports that arrived, then let the visible panes paint."""
        self._show_arrived()
        try:
            self._router.frame(self._visible)
        except NoMatches:  # a tick that fires while the app closes: its widgets are going
            pass

    def show_event(self, event: Event) -> None:
        """Apply one event of the shown run and route it to the visible panes that take it.

        The live engine, a replayed ``events.jsonl`` and a followed run all come through here.
        """
        before = self.run_state.state
        self.run_state.apply(event)
        # The app's own intents outlast the engine's reports until the engine acts on them.
        if before == "stopping" and not isinstance(event, Terminal):
            self.run_state.state = "stopping"  # the engine stops at its next batch
        waited = self._router.route(event, self.run_state, self._visible)
        if isinstance(event, self._waited):
            # The engine waits until the screen shows this (or for nothing, where no visible pane takes it).
            if waited:
                self.call_after_refresh(self._shown.set)
            else:
                self._shown.set()
        if isinstance(event, CommandAnswered):
            own = event.command_id in self.sent_commands
            self.sent_commands.discard(event.command_id)
            # A refused setting is told, whoever sent it (a script's command file too); a refused
            # pause or step is a key pressed twice, and says nothing. A recorded run's answers are
            # history (QA: opening a run popped up a refusal of long ago, each time).
            news = self.answers_are_news and not self._replaying
            if event.message == NOT_REPLAYED:
                pass  # carried out before a kill: the log shows it, and a resume does not replay it
            elif event.command == "set" and not event.accepted and (own or news):
                self.notify(f"Not changed: {event.message}", severity="error", timeout=8)
            elif event.command == "set" and own and self.watching is None:
                # The form's field says what was typed; this says the engine took it (a watcher
                # says what it sent, and the run answers in its log).
                said = f"Not changed: {IN_USE}" if event.message == NO_CHANGE else f"Changed: {event.message}"
                self.notify(said, timeout=4)  # QA: "Changed: no change: ..."
        if isinstance(event, Terminal):
            self._end(event, before)
        elif self.run_state.state != before:
            self._set_state(self.run_state.state)

    def _end(self, event: Terminal, before: str) -> None:
        if before not in ACTIVE:
            return
        started = self.run_state.started
        outcome, _style = describe_end(event, started.steps_per_epoch if started else None)
        if self.watching is None:  # a watcher never trains: its form stays as the followed run's
            self.query_one(ConfigForm).unlock_after_run()
        self._set_state(event.status)
        self._worker = None
        if self._replaying:
            return
        if self._signal_code is None and self.watching is None:
            # Quitting later exits as headless would have; a watcher trained nothing and exits 0.
            self.exit_code = exit_code(event)
        severity = {"finished": "information", "stopped": "warning"}.get(event.status, "error")
        self.notify(outcome.replace("\n", "; "), severity=severity, timeout=8)
        self.let_trial_go()  # a trial followed to its end: the dashboard is its own again
        if self._quitting:
            self.exit(self.exit_code)
