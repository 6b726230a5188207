"""The app's side of the Runs view: open a past run (replayed into Train and Inspect) or resume a stopped one.

A mixin of :class:`~.app.MnistApp` (its handlers are named ``on_…``: Textual finds those on any
base class, while ``@on`` registers only on widget classes).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from ..engine.catalog import DamagedRun, read_config, read_summary
from ..engine.config import Config
from ..engine.events import Event
from ..engine.replay import ReplayError, describe_skipped, read_events
from .config_form import ConfigForm, preset_config
from ..engine.lock import writer_alive
from .runs_view import RunsView
from .train_view import TrainView

if TYPE_CHECKING:
    from .app import MnistApp

    _Base = MnistApp
else:
    _Base = object


class PastRuns(_Base):
    """Opening and resuming the runs the Runs view lists."""

    def on_runs_view_opened(self, message: RunsView.Opened) -> None:
        self.let_trial_go()  # a run followed here, opened before: opening another lets it go
        if self.state_is_active("opening another run"):
            return
        if writer_alive(message.path):  # training in another process now: followed live, as watch does
            self.follow_trial(message.path)
            self.action_view(TrainView.__name__)
            return
        self._read_log(message.path)

    @work(thread=True, exclusive=True, group="open")
    def _read_log(self, path: Path) -> None:
        """Read a run's log off the UI thread (a long run's log holds megabytes)."""
        try:
            (events, skipped), problem = read_events(path / "events.jsonl"), None
        except ReplayError as error:
            events, skipped, problem = [], [], str(error)
        self.call_from_thread(self._show_opened, path, events, problem, skipped)

    def _show_opened(self, path: Path, events: list[Event], problem: str | None, skipped: list[str]) -> None:
        if problem or not events:
            self.notify(f"Cannot open {path.name}: {problem or 'its log holds no events'}", severity="error")
            return
        if skipped:
            self.notify(describe_skipped(skipped), severity="warning", timeout=10)
        self.show_recorded(events, folder=path)
        self.load_config_of(path, fresh=True)
        self.action_view(TrainView.__name__)

    def on_runs_view_resume_requested(self, message: RunsView.ResumeRequested) -> None:
        if self.watching is not None and not self.trial_followed and same_folder(message.path, self.watching):
            # watch trains nothing: its own run is resumed by a command (QA: "for resuming another run").
            self.notify(f"watch follows {self.watching.name} and trains nothing. {self.watched_resume_hint()}", timeout=15)
            return
        if self.state_is_active("resuming another run"):
            return
        config = self.load_config_of(message.path)
        if config is not None:
            self.action_view(TrainView.__name__)
            self.start(config, preset=self.query_one(ConfigForm).preset, resume=message.path)

    def load_config_of(self, path: Path, *, fresh: bool = False, trial: bool = False) -> Config | None:
        """Fill the form with a run folder's saved config and preset; None (and a notice) when it is damaged.

        ``fresh``: the run is only shown, and what ``s`` starts from its settings is a new run. A
        sweep trial's settings (``trial``, or a summary with its ``sweep`` entry) then fill the
        form as a run of its preset with the trial's fields edited (``smoke, edited: lr``), named
        as such a run is: started under the trial's name, the run was one more trial of its study, in
        the Runs view and the status bar. A followed or resumed trial keeps its name.
        """
        try:
            config = read_config(path)
        except DamagedRun as error:
            self.notify(f"{path.name}: {error}", severity="error")
            return None
        try:
            summary = read_summary(path)
        except DamagedRun:
            summary = {}
        if fresh and (trial or "sweep" in summary):
            self.query_one(ConfigForm).load(*as_own_run(config, summary.get("preset")))
        else:
            self.query_one(ConfigForm).load(config, summary.get("preset"))
        return config


def same_folder(one: Path, other: Path) -> bool:
    """Whether two paths name the same folder (one may be relative, or through a link)."""
    try:
        return one.samefile(other)
    except OSError:
        return False


def as_own_run(config: Config, preset: str | None) -> tuple[Config, str | None]:
    """A sweep trial's settings as a run of the form's own, and the preset to show: named as a run of
    its preset is (a shipped preset's name, else the form's default), not as the trial. QA: the form
    said ``custom`` of a trial its study had made from smoke; it now says ``smoke, edited: lr``."""
    base = preset_config(preset) if preset else None
    return config.replace(source="form", name=base.name if base is not None else Config().name), preset if base else None
