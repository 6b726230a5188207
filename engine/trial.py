"""One sweep trial: an ordinary run through :func:`run_training`, reporting each epoch to Optuna.

The run's folder is named after the study and the trial number (``STUDY-t0007-...``), so the
runs listing shows it like any other run. After every epoch the evaluation accuracy goes to the
trial; when the pruner says so, the run's stop flag is set and the run stops after that epoch,
checkpointed, and the trial is recorded as pruned. The trial's value is the run's final
evaluation accuracy. When the run ends, its ``summary.json`` gains a ``sweep`` entry (study,
trial, state, parameters) through the run folder's atomic write.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import optuna

from .config import Config, ConfigError
from .events import EpochEnded, RunDiverged, RunFailed, RunFinished, RunStarted, RunStopped, Terminal
from .runs import RunFolder
from .space import SearchSpace
from .study import mark_process
from .train import StopFlag, run_training
from .trial_rows import trial_name


class TrialFailed(Exception):
    """The trial's run failed, or was interrupted: Optuna records the trial as failed."""


class _Either:
    """A stop flag set when either of two flags is."""

    def __init__(self, first: StopFlag, second: StopFlag) -> None:
        self.first = first
        self.second = second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


def run_trial(
    trial: optuna.Trial,
    base: Config,
    space: SearchSpace,
    *,
    data_dir: str | Path | None,
    runs_dir: str | Path,
    stop: StopFlag,
    session: str,
    preset: str | None = None,
) -> float:
    """Optuna's objective: train the trial's config and return its final evaluation accuracy.

    Raises ``optuna.TrialPruned`` when pruned (or diverged: a hopeless point, as pruned ones are)
    and :class:`TrialFailed` when the run failed or ``stop`` interrupted it. ``session`` names the
    command that runs it; ``preset``, the preset ``base`` started from, goes in the run's summary.
    """
    mark_process(trial, session)
    study = trial.study.study_name
    space.suggest(trial)
    try:
        config = space.config_for(base, trial.params, name=trial_name(study, trial.number))
    except ConfigError as error:  # a combination of fields too rare for load_space to have built
        trial.set_user_attr("outcome", "failed")
        trial.set_user_attr("error", str(error))
        raise TrialFailed(str(error)) from None
    pruned = threading.Event()
    terminal: Terminal | None = None
    run_dir: str | None = None
    events = run_training(config, data_dir=data_dir, runs_dir=runs_dir, stop=_Either(stop, pruned), preset=preset)
    for event in events:
        if isinstance(event, RunStarted):
            run_dir = event.run_dir
            trial.set_user_attr("run_dir", run_dir)
        elif isinstance(event, EpochEnded):
            trial.report(event.eval_accuracy, event.epoch)
            if event.epoch < event.epochs and trial.should_prune():
                pruned.set()
        elif isinstance(event, Terminal):
            terminal = event
    outcome, error = _outcome(terminal, pruned.is_set())
    trial.set_user_attr("outcome", outcome)
    if error:
        trial.set_user_attr("error", error)
    state = {"complete": "complete", "pruned": "pruned", "diverged": "pruned"}.get(outcome, "failed")
    if run_dir is not None:
        sweep = {"study": study, "trial": trial.number, "state": state, "outcome": outcome, "params": trial.params}
        record_in_summary(run_dir, sweep)
    if outcome == "complete":
        assert isinstance(terminal, RunFinished)
        return terminal.final_accuracy
    if state == "pruned":
        raise optuna.TrialPruned(outcome)
    raise TrialFailed(error or outcome)


def record_in_summary(run_dir: str | Path, sweep: dict[str, Any]) -> None:
    """Add the ``sweep`` entry to a run's ``summary.json``; a run that died as "running" is failed."""
    folder = RunFolder(Path(run_dir))
    try:
        summary = json.loads((folder.path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return  # no epoch ended and no terminal event was written: nothing to add to
    if summary.get("status") == "running":
        summary["status"] = "failed"
        summary["error"] = summary.get("error") or "its sweep worker died mid-run"
    summary["sweep"] = sweep
    folder.write_summary(summary)


def _outcome(terminal: Terminal | None, pruned: bool) -> tuple[str, str | None]:
    if isinstance(terminal, RunFinished):
        return "complete", None
    if isinstance(terminal, RunStopped):
        return ("pruned", None) if pruned else ("interrupted", "the sweep was stopped")
    if isinstance(terminal, RunDiverged):
        return "diverged", f"the loss became {terminal.loss} at step {terminal.step}"
    if isinstance(terminal, RunFailed):
        return "failed", terminal.error
    return "failed", "the run ended without a terminal event"
