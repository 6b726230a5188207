"""``--resume`` of a finished run: nothing to train, said in one line with how to train further, exit 2
(QA: the dashboard showed "epoch 400/400 … 0%", headless re-printed the old end, both said nothing
and exited 0, and the run's log took one more start and end)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from mnist_tui.command import main
from mnist_tui.engine.config import Config
from mnist_tui.engine.events import Event, RunFailed, RunFinished, RunStarted
from mnist_tui.engine.train import resume_training

Train = Callable[..., list[Event]]
KEPT = ("config.toml", "summary.json", "events.jsonl", "last.pt")


def finished_run(train: Train, tiny: Config, tmp_path: Path) -> Path:
    """A run folder whose one epoch is trained and whose end is logged."""
    return Path(train(tiny.replace(epochs=1), runs_dir=tmp_path / "runs")[0].run_dir)


def test_the_engine_refuses_it_and_leaves_the_folder_as_it_was(
    data_dir: Path, tmp_path: Path, train: Train, tiny: Config
) -> None:
    run_dir = finished_run(train, tiny, tmp_path)
    before = {name: (run_dir / name).read_bytes() for name in KEPT}
    (refused,) = list(resume_training(run_dir, data_dir=data_dir))
    assert isinstance(refused, RunFailed) and refused.reason == "config"
    assert refused.error == f"run {run_dir} already finished its 1 epoch; pass --epochs N (more than 1) to train it further"
    assert list(resume_training(run_dir, data_dir=data_dir, epochs=1)) == [refused]  # the same count, named
    assert {name: (run_dir / name).read_bytes() for name in KEPT} == before
    more = list(resume_training(run_dir, data_dir=data_dir, epochs=2))  # the refusals let go of the folder's lock
    assert isinstance(more[-1], RunFinished) and more[-1].epochs_completed == 2


def test_headless_says_it_in_one_line_and_exits_2(
    data_dir: Path, tmp_path: Path, train: Train, tiny: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = finished_run(train, tiny, tmp_path)
    capsys.readouterr()
    assert main(["--no-ui", "--resume", str(run_dir), "--data-dir", str(data_dir)]) == 2
    assert capsys.readouterr() == (
        "", f"mnist-tui: error: run {run_dir} already finished its 1 epoch; pass --epochs N (more than 1) to train it further\n"
    )


def test_a_run_cut_off_before_its_end_was_logged_is_finished_by_its_resume(
    data_dir: Path, tmp_path: Path, train: Train, tiny: Config
) -> None:
    """Killed between its last checkpoint and its end: its summary says running, and a resume writes the end."""
    run_dir = finished_run(train, tiny, tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "summary.json").write_text(json.dumps({**summary, "status": "running"}))
    events = list(resume_training(run_dir, data_dir=data_dir))
    assert [type(e) for e in (events[0], events[-1])] == [RunStarted, RunFinished]
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
