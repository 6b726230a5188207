"""The run folder: config, event log, summary and checkpoints, written atomically and read back safely."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import torch

from mnist_tui.engine.config import Config
from mnist_tui.engine.data import load_split
from mnist_tui.engine.events import EpochEnded, Event, RunFinished, RunStarted
from mnist_tui.engine.model import build_model
from mnist_tui.engine.presets import load_config_file
from mnist_tui.engine.checkpoint import CheckpointError, load_checkpoint
from mnist_tui.engine.runs import atomic_write, earlier_summary, open_run, summarize

RUN_FILES = {"config.toml", "events.jsonl", "summary.json", "best.pt", "last.pt", ".lock"}


@pytest.fixture
def finished_run(train, tiny: Config) -> tuple[Path, Config, list[Event]]:
    """A finished two-epoch smoke run: its folder, config and events."""
    events = train(tiny)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    return Path(events[0].run_dir), tiny, events


def test_the_folder_holds_exactly_the_run_files(finished_run) -> None:
    run_dir, _, _ = finished_run
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES, "no temporary or extra files are left"


def test_config_toml_loads_back_to_the_same_config(finished_run) -> None:
    run_dir, config, _ = finished_run
    assert load_config_file(run_dir / "config.toml") == config


def test_events_jsonl_is_every_event_one_object_per_line(finished_run) -> None:
    run_dir, _, events = finished_run
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [event.to_dict() for event in events]
    assert all(line.startswith("{") and line.endswith("}") for line in lines)


def test_summary_json_describes_the_run(finished_run) -> None:
    run_dir, _, events = finished_run
    summary = json.loads((run_dir / "summary.json").read_text())
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    best = max(epochs, key=lambda e: e.eval_accuracy)
    assert summary["status"] == "finished"
    assert (summary["name"], summary["preset"], summary["epochs"]) == ("smoke", None, 2)
    started = datetime.fromisoformat(summary["started"])
    assert started.tzinfo is not None and abs(datetime.now(timezone.utc) - started) < timedelta(minutes=10)
    assert summary["final_test_accuracy"] == epochs[-1].eval_accuracy
    assert (summary["best_test_accuracy"], summary["best_epoch"]) == (best.eval_accuracy, best.epoch)
    assert summary["epochs_completed"] == 2
    assert summary["train_seconds"] == round(sum(e.seconds for e in epochs), 3) >= 0
    assert summary["eval_seconds"] == round(sum(e.eval_seconds for e in epochs), 3) >= 0
    assert summary["device"] == "cpu" and summary["evaluated_on"] == "test set" and summary["error"] is None
    assert summary["versions"]["torch"] == torch.__version__
    assert set(summary["versions"]) >= {"mnist_tui", "python", "torch", "torchvision"}


def test_checkpoints_load_weights_only(finished_run) -> None:
    run_dir, config, _ = finished_run
    for name in ("best.pt", "last.pt"):
        state = torch.load(run_dir / name, map_location="cpu", weights_only=True)
        assert state["format"] == 1 and state["config"] == config.to_dict()
    last = torch.load(run_dir / "last.pt", weights_only=True)
    assert (last["epoch"], last["epoch_step"], last["global_step"]) == (2, 0, 64)
    assert {"model", "optimizer", "schedule", "shuffle_state", "cpu_rng_state", "partial"} <= set(last)


def test_best_pt_holds_the_weights_of_the_best_epoch(finished_run, data_dir: Path) -> None:
    """Loading best.pt into a fresh model reproduces the best accuracy in the summary exactly."""
    run_dir, config, _ = finished_run
    best = load_checkpoint(run_dir / "best.pt")
    model = build_model(config)
    model.load_state_dict(best["model"])
    model.eval()
    split = load_split(config, data_dir, torch.device("cpu"))
    with torch.no_grad():
        correct = (model(split.eval_x).argmax(dim=1) == split.eval_y).sum().item()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 100.0 * correct / len(split.eval_y) == summary["best_test_accuracy"] == best["eval_accuracy"]


def test_open_run_reads_what_a_resume_needs(finished_run) -> None:
    run_dir, config, events = finished_run
    loaded, state, recovery = open_run(run_dir)
    assert loaded == config
    assert state["global_step"] == 64
    # Up to the last checkpoint and its lines; the finish, logged after it, a resume drops.
    assert isinstance(events[-1], RunFinished)
    assert list(recovery.events) == [e.to_dict() for e in events[:-1]]


def test_a_corrupt_event_log_is_named_with_its_line(finished_run) -> None:
    run_dir, _, _ = finished_run
    log = run_dir / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[3] = "#" + lines[3][1:]  # a line before the last checkpoint, its length kept
    log.write_text("".join(lines))
    with pytest.raises(CheckpointError, match="events.jsonl line 4 is not JSON"):
        open_run(run_dir)


def test_a_run_folder_without_config_is_a_checkpoint_error(finished_run) -> None:
    run_dir, _, _ = finished_run
    (run_dir / "config.toml").unlink()
    with pytest.raises(CheckpointError, match="has no usable config.toml"):
        open_run(run_dir)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"garbage bytes, not a zip", "is corrupt or not an mnist-tui checkpoint"),
        (None, "is not an mnist-tui checkpoint"),
    ],
)
def test_a_corrupt_checkpoint_is_reported_not_skipped(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "last.pt"
    if content is None:
        torch.save({"model": {}}, path)  # a real torch file, but no mnist-tui format marker
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


class Payload:
    """A pickled object of any class (unpickling one can run arbitrary code)."""


def test_a_checkpoint_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    torch.save({"format": 1, "model": Payload()}, path)
    with pytest.raises(CheckpointError, match="is corrupt or not an mnist-tui checkpoint"):
        load_checkpoint(path)


def test_a_missing_checkpoint_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'last.pt'} does not exist"):
        load_checkpoint(tmp_path / "last.pt")


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")

    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, b"new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_summary_before_any_epoch_has_no_accuracies() -> None:
    summary = summarize(
        [], None, config=Config(name="mine", epochs=7), preset="smoke", started="2026-01-02T03:04:05+00:00",
        eval_name="test set", device="cpu", versions={},
    )
    assert summary["status"] == "running"
    assert (summary["name"], summary["preset"], summary["epochs"]) == ("mine", "smoke", 7)
    assert summary["started"] == "2026-01-02T03:04:05+00:00"
    assert summary["final_test_accuracy"] is None and summary["best_test_accuracy"] is None
    assert summary["epochs_completed"] == 0 and summary["train_seconds"] == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"status": "running", "epochs": 1' + "0" * 5000 + "}", id="a number too long to read"),
        pytest.param("[" * 100_000, id="nested too deep"),
        pytest.param('{"status": "runn', id="not JSON"),
        pytest.param("[1]", id="no object"),
    ],
)
def test_a_resume_reads_a_summary_it_cannot_use_as_none(tmp_path: Path, text: str) -> None:
    """A 5,000-digit number in summary.json ended ``--resume`` with a ValueError's traceback."""
    (tmp_path / "summary.json").write_text(text)
    assert earlier_summary(tmp_path) == {}


def test_a_new_run_folder_removes_only_abandoned_staging_folders(tmp_path: Path) -> None:
    """A run killed while its folder was made leaves ``.RUN_ID.new``; the next folder made there
    removes it once it is old and unlocked, and leaves a young one (a run starting beside this
    one), a locked one and anything else hidden alone."""
    from mnist_tui.engine.lock import RunLock
    from mnist_tui.engine.runs import STAGING_ABANDONED_SECONDS, RunFolder

    old = time.time() - STAGING_ABANDONED_SECONDS - 60

    def staging(name: str, *, age: float | None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.toml").write_text("epochs = 1\n", encoding="utf-8")
        if age is not None:
            os.utime(folder, (age, age))
        return folder

    abandoned = staging(".smoke-20260101-000000-aaaa.new", age=old)
    young = staging(".smoke-20260101-000000-bbbb.new", age=None)
    locked = staging(".smoke-20260101-000000-cccc.new", age=old)
    other = staging(".notes.new.d", age=old)  # hidden, but not a staging folder's name
    holder = RunLock.acquire(locked)
    os.utime(locked, (old, old))  # taking the lock made its file, which touched the folder
    try:
        made = RunFolder.create(tmp_path, "smoke-20260101-000001-dddd", Config(), {"status": "running"})
        made.lock.release()
    finally:
        holder.release()
    assert not abandoned.exists()
    assert young.exists() and locked.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["smoke-20260101-000001-dddd"]
