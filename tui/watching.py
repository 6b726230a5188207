"""The app's side of ``mnist-tui watch``: follow a run another process trains, and steer it.

A mixin of :class:`~.app.MnistApp`. The followed run's new events come from a worker thread
tailing its ``events.jsonl`` and are shown through the app's one ``show_event`` path; pause,
resume, step, stop and new settings are written to the run folder's command file, and the engine's
answers (paused, resumed, changed, stopped) arrive in the log like every other event.
"""

from __future__ import annotations

import dataclasses
import shlex
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from textual import work
from textual.css.query import NoMatches
from textual.worker import Worker, get_current_worker

from ..engine.catalog import summary_data_dir
from ..engine.epoch_log import unresumable_damage
from ..engine.commands import send_command
from ..engine.raw_files import holds_files
from ..engine.events import Event, RunStarted
from ..engine.journal import LOG
from ..engine.lock import writer_alive
from .config_form import ConfigForm
from .follow import follow_log
from .past_runs import as_own_run
from .run_progress import RunProgress
from .run_state import ACTIVE, RunState
from .status_bar import StatusBar

if TYPE_CHECKING:
    from .app import MnistApp

    _Base = MnistApp
else:
    _Base = object


class Watching(_Base):
    """Following and steering the run in ``self.watching``."""

    def follow_run(self, run_dir: Path) -> None:
        """Show the run in ``run_dir``, whole, and follow its log as another process appends to it."""
        self._show_from_start()
        config = self.load_config_of(run_dir)
        if config is not None:  # its live settings (lr, ...) stay editable: enter sends them to the run
            self.query_one(ConfigForm).lock_for_run(config)
            # The run's name, as its log's first event will show it: a log yet to come (or lost)
            # left the name of the app's blank form, "custom".
            self.query_one(StatusBar).name_shown = config.name
        if not (run_dir / LOG).exists() and writer_alive(run_dir) is not False:
            # A run that has not written its first event, or no run at all (its writer dead, it
            # is damaged: said once the watcher sees no writer, see _writer_gone).
            self.notify(
                f"{run_dir.name} has no {LOG} yet: waiting for its run to write it.",
                severity="warning",
                timeout=15,
            )
        self._follow(run_dir)

    def follow_trial(self, run_dir: Path) -> None:
        """Follow a sweep's running trial as ``watch`` does, steering included, until it ends or
        another trial is opened (:meth:`let_trial_go`)."""
        self.watching = run_dir
        self.trial_followed = True
        self.follow_run(run_dir)

    def let_trial_go(self) -> None:
        """Stop following the trial: the dashboard is its own again (its form unlocked)."""
        if not self.trial_followed:
            return
        self.workers.cancel_group(self, "follow")
        self.watching = None
        self.trial_followed = False
        form = self.query_one(ConfigForm)
        running = form.running
        form.unlock_after_run()
        if running is not None:  # what s starts next is a run of this dashboard's, not one more trial
            form.load(*as_own_run(running, form.preset))
        if self.state in ACTIVE:  # it still trains elsewhere: this is no run of this dashboard's
            self.run_state = RunState()
        self._set_state(self.run_state.state)  # and the keys follow: start is this dashboard's again

    def _show_from_start(self) -> None:
        """An empty state for the followed run, its events to come from the log's first line (its
        run id too: a copied or renamed folder keeps the id of the run it holds).

        Until its first event the run is starting, as far as the watcher can tell: "idle" would
        offer to start a run, which a watcher never does."""
        folder = str(self.watching)
        self.run_state = RunState(folder=folder, state="starting", run_dir=folder)
        self.answers_are_news = False  # until the log's past is read
        self._router.show_all(self.run_state, self._visible)
        self._set_state(self.run_state.state)

    @work(thread=True, exclusive=True, group="follow")
    def _follow(self, run_dir: Path) -> None:
        worker = get_current_worker()

        def on_ui(callback: Callable[..., object], *args: object, **kwargs: object) -> None:
            """Run ``callback`` on the UI thread, unless the app is closing (its widgets are going)."""
            if worker.is_cancelled:
                return
            try:
                self.call_from_thread(partial(self._while_open, worker, callback), *args, **kwargs)
            except RuntimeError:  # the app stopped running between the check and the call
                pass

        follow_log(
            run_dir / "events.jsonl",
            show=lambda events: on_ui(self._followed, events),
            restart=lambda: on_ui(self._show_from_start),
            problem=lambda text: on_ui(self.notify, text, severity="error", timeout=10),
            cancelled=lambda: worker.is_cancelled,
            # A deleted folder takes its lock file along, so its writer's death cannot be told by it.
            writer_gone=lambda: not run_dir.is_dir() or writer_alive(run_dir) is False,
            gone=lambda: on_ui(self._writer_gone, self._damage(run_dir)),
        )

    def _damage(self, run_dir: Path) -> str | None:
        """(On the follow thread, which may read the whole log.) Why the followed run, whose writer
        is gone, cannot be resumed; None where nothing says so, or where it is not shown as
        going on (an ended run is offered no resume)."""
        # The state is read from this thread: every event shown before went through call_from_thread,
        # which waits for the UI, so it is the state those events left.
        if self.state not in ACTIVE or not run_dir.is_dir():
            return None
        return unresumable_damage(run_dir)

    @staticmethod
    def _while_open(worker: Worker[None], callback: Callable[..., object], *args: object, **kwargs: object) -> None:
        if worker.is_cancelled:  # let go (a trial) while this call was on its way: it is no longer news
            return
        try:
            callback(*args, **kwargs)
        except NoMatches:  # the app is closing: its widgets are gone
            pass

    def _followed(self, events: list[Event]) -> None:
        assert self.watching is not None
        for event in events:
            if not self.run_state.takes(event):
                continue  # another run's line in this log
            if isinstance(event, RunStarted):  # the folder followed here, wherever the run was started
                event = dataclasses.replace(event, run_dir=str(self.watching))
                self._name_preset(event.preset)
            self.show_event(event)
        self.answers_are_news = True  # the first batch is the whole log so far; the next ones are news

    def _name_preset(self, preset: str | None) -> None:
        """The form names the preset the log says the run started from: its summary, where the
        form took it from, may be missing or older than the log."""
        form = self.query_one(ConfigForm)
        if preset is not None and preset != form.preset and form.running is not None:
            form.load(form.running, preset)  # the settings it shows, changes included, stay

    def _writer_gone(self, damage: str | None) -> None:
        """The process training the followed run died without ending it (killed, or its machine
        went down); ``damage``: why its folder cannot be resumed (its log cut short or gone, say),
        where it cannot."""
        assert self.watching is not None
        if not self.watching.is_dir():
            self._folder_gone()
            return
        if self.state not in ACTIVE:
            return
        if damage is not None:
            self._damaged(damage)
            return
        self._set_state("interrupted")
        self.show_interrupted()
        self.notify(
            f"The process training {self.watching.name} is gone: the run is interrupted. {self.watched_resume_hint()}",
            severity="error",
            timeout=15,
        )
        self.let_trial_go()  # it has ended here: the dashboard is its own again, and may resume it (QA)

    def watched_resume_hint(self) -> str:
        """How to continue the followed run (:func:`resume_hint`), as its log and summary record it."""
        assert self.watching is not None
        started = self.run_state.started
        dataset = started.config.get("dataset", "mnist") if started else "mnist"
        # A run killed before its first event names its data folder in its summary alone.
        recorded = (started.data_dir if started else None) or summary_data_dir(self.watching)
        return resume_hint(self.watching, recorded, str(dataset), headless=bool(started and started.headless))

    def _damaged(self, damage: str) -> None:
        """The followed run's writer is gone and its folder is damaged, as ``runs`` and ``compare``
        tell it: a resume would be refused, so none is offered."""
        assert self.watching is not None
        self._set_state("damaged")
        self.query_one(RunProgress).finish(f"Damaged: nothing can resume it\n{damage}", "bold red")
        self.notify(
            f"The process training {self.watching.name} is gone, and its run folder is damaged ({damage}): "
            "it cannot be resumed.",
            severity="error",
            timeout=15,
        )
        self.let_trial_go()

    def _folder_gone(self) -> None:
        """The followed run's folder was deleted or moved: its run cannot go on, nor be resumed from it."""
        assert self.watching is not None
        if self.state in ACTIVE:  # its trainer fails at its next write, and can log that nowhere
            self._set_state("failed")
            self.query_one(RunProgress).finish("Failed: its run folder is gone\nnothing is left to resume", "bold red")
        self.notify(
            f"Run folder {self.watching} is gone (deleted or moved): nothing is left to follow or resume.",
            severity="error",
            timeout=15,
        )
        self.let_trial_go()

    def steer(self, command: str | None, values: dict[str, float] | None = None) -> bool:
        """Write a command to the followed run's command file; the engine answers in its log."""
        if command is None or self.watching is None:
            return False
        try:
            self.sent_commands.add(send_command(self.watching, command, values))
        except (OSError, ValueError) as error:
            self.notify(f"Cannot steer the run: {error}", severity="error")
            return False
        shown = " ".join(f"{key} {value:g}" for key, value in (values or {}).items())
        self.notify(f"Sent {command} {shown}".rstrip() + "; the run acts on it at its next report.", timeout=3)
        return True


def resume_hint(
    run_dir: Path, data_dir: str | None = None, dataset: str = "mnist", *, headless: bool = False
) -> str:
    """How to continue a followed run, quoted for a shell so that it can be pasted as shown; a run
    that trained headless (its log says so) goes on headless, as its own stop line says.

    ``data_dir`` is the data folder its log's ``run_started`` records: while that folder holds the
    data, a plain ``--resume`` reads from it (the engine takes it by the same look, ``holds_files``).
    A log written before runs recorded it cannot say, nor can a folder whose files are gone: then
    the hint asks for ``--data-dir``."""
    command = f"mnist-tui --resume {shlex.quote(str(run_dir))}" + (" --no-ui" if headless else "")
    if data_dir is not None and Path(data_dir).is_absolute() and holds_files(data_dir, dataset):
        return f"Resume it with: {command}"
    return (
        f"Resume it with: {command} (add --data-dir DIR if it trained "
        "on data outside the default folder: its log names no data folder that still holds it)"
    )
