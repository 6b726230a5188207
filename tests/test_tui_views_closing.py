"""What the terminal says once the dashboard's screen closes: how its last run ended, where it is and
how to continue it, as headless ends (QA: quitting mid-run printed nothing at all).

``main()`` runs in-process with the dashboard stood in by a function that leaves run folders as the
engine leaves them (a summary saying how the run ended), notes them as ``run_dashboard`` notes the
runs its engine starts, and returns the exit code the app would.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from mnist_tui.command import main
from mnist_tui.engine.config import Config
from mnist_tui.engine.presets import config_to_toml
from mnist_tui.exit_codes import FINISHED, HANGUP, INTERRUPTED
from mnist_tui.tui import app, hangup
from tui_script import batch, started

DATA = "/data/mnist"


def leave_run(trained: list[Path], runs: Path, name: str, **summary: Any) -> Path:
    """A run folder as the engine leaves it, noted as one the dashboard trained."""
    folder = runs / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps({"status": "stopped", "epochs": 5, **summary}))
    trained.append(folder)
    return folder


Dashboard = Callable[[list[Path], Path], int]


def run_main(monkeypatch: pytest.MonkeyPatch, runs: Path, dashboard: Dashboard, *flags: str) -> int:
    """``mnist-tui --preset smoke`` (or ``flags``) on a terminal, with ``dashboard(trained, runs_dir)`` as the dashboard."""
    monkeypatch.setattr(hangup, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(
        app, "run_dashboard", lambda config, *, runs_dir, trained, **_: dashboard(trained, Path(runs_dir))
    )
    return main([*(flags or ("--preset", "smoke")), "--runs-dir", str(runs), "--data-dir", DATA])


def test_quitting_mid_run_says_the_last_finished_epoch_the_folder_and_the_resume_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"

    def quit_in_epoch_3(trained: list[Path], runs: Path) -> int:
        leave_run(trained, runs, "smoke-run", epochs_completed=2)
        return INTERRUPTED

    assert run_main(monkeypatch, runs, quit_in_epoch_3) == INTERRUPTED
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"stopped after epoch 2 of 5, its checkpoint saved; continue with: mnist-tui --resume {runs / 'smoke-run'} --data-dir {DATA}",
        f"run folder: {runs / 'smoke-run'}",
    ]


def test_a_run_stopped_in_its_first_epoch_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    assert run_main(monkeypatch, runs, lambda trained, runs: (leave_run(trained, runs, "early", epochs_completed=0), INTERRUPTED)[1]) == INTERRUPTED
    assert capsys.readouterr().out.splitlines()[0].startswith("stopped before its first epoch ended, its checkpoint saved; continue with: ")


def test_a_finished_run_says_its_accuracy_and_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    summary = {
        "status": "finished", "epochs": 3, "epochs_completed": 3, "final_test_accuracy": 97.1,
        "best_test_accuracy": 97.25, "best_epoch": 2, "train_seconds": 12.34,
    }
    assert run_main(monkeypatch, runs, lambda trained, runs: (leave_run(trained, runs, "done", **summary), FINISHED)[1]) == FINISHED
    assert capsys.readouterr().out.splitlines() == [
        "finished: final accuracy 97.10 % (best 97.25 % at epoch 2), 12.3 s of training",
        f"run folder: {runs / 'done'}",
    ]


def test_only_the_last_run_this_dashboard_trained_is_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a run from before it started, nor an earlier one of its own."""
    runs = tmp_path / "runs"
    leave_run([], runs, "earlier", status="finished", epochs_completed=5)

    def two_runs(trained: list[Path], runs: Path) -> int:
        leave_run(trained, runs, "first", epochs_completed=1)
        leave_run(trained, runs, "second", epochs_completed=4)
        trained.append(runs / "first")  # stopped, then resumed from the Runs view
        return INTERRUPTED

    run_main(monkeypatch, runs, two_runs)
    assert capsys.readouterr().out.splitlines()[-1] == f"run folder: {runs / 'first'}"


def test_the_dashboard_notes_each_run_its_engine_starts() -> None:
    """``run_dashboard``'s hook: every RunStarted's folder, in order, and the engine's events unchanged."""
    begun = [dataclasses.replace(started("r", Config()), run_dir=folder) for folder in ("runs/a", "runs/b")]
    other = batch("r", 1)
    trained: list[Path] = []
    source = app.noting_runs(lambda *args, **kwargs: iter([begun[0], other, begun[1]]), trained)
    assert list(source()) == [begun[0], other, begun[1]]
    assert trained == [Path("runs/a"), Path("runs/b")]


def test_a_resumed_folder_outside_the_runs_folder_is_told_with_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "kept-run"
    kept.mkdir()
    (kept / "config.toml").write_text(config_to_toml(Config()))  # a run folder: --resume reads it up front

    def resumed(trained: list[Path], runs: Path) -> int:
        leave_run(trained, tmp_path, kept.name, epochs_completed=3)
        return INTERRUPTED

    run_main(monkeypatch, tmp_path / "runs", resumed, "--resume", str(kept))
    assert f"continue with: mnist-tui --resume {kept} --data-dir {DATA}" in capsys.readouterr().out


@pytest.mark.parametrize(("case", "code"), [("nothing trained", FINISHED), ("the terminal closed", HANGUP)])
def test_nothing_is_said_without_a_run_or_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, code: int
) -> None:
    def dashboard(trained: list[Path], runs: Path) -> int:
        if code == HANGUP:
            leave_run(trained, runs, "cut-off", epochs_completed=1)
        return code

    assert run_main(monkeypatch, tmp_path / "runs", dashboard) == code
    assert capsys.readouterr() == ("", "")
