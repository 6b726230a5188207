"""A sweep trial stopped by a stop command (``watch``'s x, or the run's ``commands.jsonl``) says so; the
sweep's own stop (Ctrl+C) is still "the sweep was stopped"."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")


class _StopsAfterTheFirstEpoch(optuna.pruners.BasePruner):
    """Prunes nothing; after the first epoch's report it stops the run as ``how`` says: a stop command in
    the run's commands.jsonl (as ``watch`` writes it), or the sweep's stop flag (Ctrl+C)."""

    def __init__(self, how: str, sweep_stop: threading.Event) -> None:
        self.how = how
        self.sweep_stop = sweep_stop

    def prune(self, study: Any, trial: Any) -> bool:
        from mnist_tui.engine.commands import send_command

        if self.how == "command":
            send_command(trial.user_attrs["run_dir"], "stop")
        else:
            self.sweep_stop.set()
        return False


@pytest.mark.parametrize(
    "how, outcome, error",
    [
        ("command", "stopped", "stopped by a stop command from watch or the run's commands.jsonl"),
        ("sweep", "interrupted", "the sweep was stopped"),
    ],
)
def test_a_trial_stopped_by_a_stop_command_is_not_called_a_stopped_sweep(
    how: str, outcome: str, error: str, data_dir: Path, tmp_path: Path
) -> None:
    """QA: a trial stopped from ``watch`` printed "(the sweep was stopped)" while the sweep went on."""
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.study import trial_row
    from mnist_tui.engine.trial import run_trial
    from mnist_tui.sweep_print import describe_trial

    base = load_preset("smoke").replace(train_limit=300, eval_limit=200, device="cpu", epochs=4)
    space = space_from_mapping({"lr": {"low": 1e-3, "high": 1e-2, "log": True}}, base, source="S.toml")
    sweep_stop = threading.Event()
    study = optuna.create_study(study_name="p", direction="maximize", pruner=_StopsAfterTheFirstEpoch(how, sweep_stop))
    study.optimize(
        lambda trial: run_trial(trial, base, space, data_dir=data_dir, runs_dir=tmp_path, stop=sweep_stop, session="x"),
        n_trials=1, catch=(Exception,),
    )
    trial = study.trials[0]
    assert trial.state.name == "FAIL"
    assert (trial.user_attrs["outcome"], trial.user_attrs["error"]) == (outcome, error)
    summary = json.loads((Path(trial.user_attrs["run_dir"]) / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_completed"] < 4
    assert summary["sweep"]["outcome"] == outcome
    line = describe_trial(trial_row(trial), None)
    assert line.startswith(f"trial   0 {outcome} ") and line.endswith(f"({error})")


class _PausesAfterTheFirstEpoch(optuna.pruners.BasePruner):
    """Prunes nothing; after the first epoch's report it pauses the run from its commands.jsonl (as
    ``watch``'s p does), and a second later resumes it."""

    def __init__(self) -> None:
        self.paused = False

    def prune(self, study: Any, trial: Any) -> bool:
        from mnist_tui.engine.commands import send_command

        if not self.paused:
            self.paused = True
            run_dir = trial.user_attrs["run_dir"]
            send_command(run_dir, "pause")
            threading.Timer(PAUSE_SECONDS, send_command, (run_dir, "resume")).start()
        return False


PAUSE_SECONDS = 1.5


def test_a_trials_pauses_are_recorded_in_the_study_and_left_out_of_its_time(data_dir: Path, tmp_path: Path) -> None:
    """QA: a trial paused from ``watch`` counted the pause as its time in every later command's table
    (only the dashboard that saw the pause took it out)."""
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.study import trial_row
    from mnist_tui.engine.trial import run_trial

    base = load_preset("smoke").replace(train_limit=300, eval_limit=200, device="cpu", epochs=3)
    space = space_from_mapping({"lr": {"low": 1e-3, "high": 1e-2, "log": True}}, base, source="S.toml")
    study = optuna.create_study(study_name="p", direction="maximize", pruner=_PausesAfterTheFirstEpoch())
    study.optimize(
        lambda trial: run_trial(trial, base, space, data_dir=data_dir, runs_dir=tmp_path, stop=threading.Event(), session="x"),
        n_trials=1,
    )
    trial = study.trials[0]
    assert trial.state.name == "COMPLETE"
    events = [json.loads(line)["event"] for line in (Path(trial.user_attrs["run_dir"]) / "events.jsonl").open()]
    assert "paused" in events and "resumed" in events
    paused = trial.user_attrs["paused_seconds"]
    assert PAUSE_SECONDS - 0.5 <= paused <= PAUSE_SECONDS + 5, paused  # the pause began after the epoch's batch
    wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
    assert trial_row(trial).seconds == pytest.approx(wall - paused)
