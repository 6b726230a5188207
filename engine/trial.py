"""One sweep trial: an ordinary run through :func:`run_training`, reporting each epoch to Optuna.

The run's folder is named after the study and the trial number (``STUDY-t0007-...``), so the
runs listing shows it like any other run. After every epoch the evaluation accuracy goes to the
trial; when the pruner says so, the run's stop flag is set and the run stops after that epoch,
checkpointed, and the trial is recorded as pruned. The trial's value is the run's final
evaluation accuracy. When the run ends, its ``summary.json`` gains a ``sweep`` entry (study,
trial, state, parameters) through the run folder's atomic write. A storage that stops answering
mid-run stops the run the same way, checkpointed and resumable, and its summary says so.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

import optuna

from .config import Config, ConfigError
from .events import (
    CommandAnswered, EpochEnded, RunDiverged, RunFailed, RunFinished, RunPaused, RunResumed, RunStarted, RunStopped, Terminal,
)
from .runs import RunFolder
from .space import SearchSpace
from .study import first_line, lost_storage, mark_process
from .train import StopFlag, run_training
from .trial_rows import trial_name


class TrialFailed(Exception):
    """The trial's run failed, or was stopped before its end: Optuna records the trial as failed."""


class _Any:
    """A stop flag set when any of its flags is."""

    def __init__(self, *flags: StopFlag) -> None:
        self.flags = flags

    def is_set(self) -> bool:
        return any(flag.is_set() for flag in self.flags)


class _StudyCalls:
    """The trial's calls to the study's storage while its run trains. Once one fails because the
    storage stopped answering, the run is stopped (after its batch, checkpointed) rather than
    abandoned mid-epoch with its summary still "running", and no further call is made."""

    def __init__(self) -> None:
        self.lost: Exception | None = None
        """The error of the call that found the storage gone (raised once the run has stopped)."""
        self.why = ""
        """What the storage's own error said (its first line)."""
        self.stop = threading.Event()

    def __call__(self, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)``, or None once the storage is lost."""
        if self.lost is not None:
            return None
        try:
            return method(*args)
        except Exception as error:
            found = lost_storage(error)
            if found is None:
                raise
            self.lost, self.why = error, first_line(found)
            self.stop.set()
            return None


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
    storage: str = "the study's storage",
) -> float:
    """Optuna's objective: train the trial's config and return its final evaluation accuracy.

    Raises ``optuna.TrialPruned`` when pruned (or diverged: a hopeless point, as pruned ones are)
    and :class:`TrialFailed` when the run failed, ``stop`` interrupted it or a stop command (``watch``)
    stopped it. ``session`` names the command that runs it; ``preset``, the preset ``base`` started
    from, goes in the run's summary.
    When the storage (``storage``: as people read it, password hidden) stops answering mid-run, the
    run stops checkpointed, its summary says so, and the storage's error is raised.
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
    call = _StudyCalls()
    terminal: Terminal | None = None
    run_dir: str | None = None
    commanded = False  # a stop command (watch's x, or the run's commands.jsonl) stopped it, not the sweep
    paused_seconds, paused_at = 0.0, None  # its pauses: no training time (a later command's table counts them out)
    events = run_training(config, data_dir=data_dir, runs_dir=runs_dir, stop=_Any(stop, pruned, call.stop), preset=preset)
    for event in events:
        if isinstance(event, RunStarted):
            run_dir = event.run_dir
            call(trial.set_user_attr, "run_dir", run_dir)
        elif isinstance(event, EpochEnded):
            call(trial.report, event.eval_accuracy, event.epoch)
            if event.epoch < event.epochs and call(trial.should_prune):
                pruned.set()
        elif isinstance(event, CommandAnswered):
            commanded = commanded or (event.command == "stop" and event.accepted)
        elif isinstance(event, RunPaused):
            paused_at = time.monotonic() if paused_at is None else paused_at
        elif isinstance(event, (RunResumed, Terminal)) and paused_at is not None:
            paused_seconds, paused_at = paused_seconds + time.monotonic() - paused_at, None
            call(trial.set_user_attr, "paused_seconds", round(paused_seconds, 3))
        if isinstance(event, Terminal):
            terminal = event
    outcome, error = _outcome(terminal, pruned=pruned.is_set(), commanded=commanded)
    call(trial.set_user_attr, "outcome", outcome)
    if error:
        call(trial.set_user_attr, "error", error)
    if call.lost is not None:
        outcome, error = "storage lost", f"the sweep lost its storage {storage}: {call.why}"
    state = {"complete": "complete", "pruned": "pruned", "diverged": "pruned"}.get(outcome, "failed")
    if run_dir is not None:
        sweep = {"study": study, "trial": trial.number, "state": state, "outcome": outcome, "params": trial.params}
        record_in_summary(run_dir, sweep, error=error if call.lost is not None else None)
    if call.lost is not None:
        raise call.lost  # the worker stops: no trial can be recorded
    if outcome == "complete":
        assert isinstance(terminal, RunFinished)
        return terminal.final_accuracy
    if state == "pruned":
        raise optuna.TrialPruned(outcome)
    raise TrialFailed(error or outcome)


def record_in_summary(run_dir: str | Path, sweep: dict[str, Any], *, error: str | None = None) -> None:
    """Add the ``sweep`` entry to a run's ``summary.json``; a run that died as "running" is failed.
    ``error`` says why the sweep ended the run (kept where the run's own end said none)."""
    folder = RunFolder(Path(run_dir))
    try:
        summary = json.loads((folder.path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return  # no epoch ended and no terminal event was written: nothing to add to
    if summary.get("status") == "running":
        summary["status"] = "failed"
        summary["error"] = summary.get("error") or "its sweep worker died mid-run"
    summary["error"] = summary.get("error") or error
    summary["sweep"] = sweep
    folder.write_summary(summary)


def _outcome(terminal: Terminal | None, *, pruned: bool, commanded: bool) -> tuple[str, str | None]:
    if isinstance(terminal, RunFinished):
        return "complete", None
    if isinstance(terminal, RunStopped):
        if pruned:
            return "pruned", None
        if commanded:  # the sweep goes on with its other trials
            return "stopped", "stopped by a stop command from watch or the run's commands.jsonl"
        return "interrupted", "the sweep was stopped"
    if isinstance(terminal, RunDiverged):
        return "diverged", f"the loss became {terminal.loss} at step {terminal.step}"
    if isinstance(terminal, RunFailed):
        return "failed", terminal.error
    return "failed", "the run ended without a terminal event"
