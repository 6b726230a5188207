"""The run folder as a journal, in-process: recovery, the lock, write failures and checkpoint checks."""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
import torch

from mnist_tui.engine.config import Config
from mnist_tui.engine.events import CheckpointSaved, EpochEnded, Event, RunFailed, RunFinished, RunStarted, RunStopped
from mnist_tui.engine.journal import WriteFailed
from mnist_tui.engine.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint
from mnist_tui.engine.runs import open_run
from mnist_tui.engine.train import resume_training, run_training


def logged(run_dir: Path) -> list[dict]:
    text = (run_dir / "events.jsonl").read_text()
    assert text == "" or text.endswith("\n"), "whole lines only"
    return [json.loads(line) for line in text.splitlines()]


def stopped_after_epoch_1(data_dir: Path, tmp_path: Path, config: Config) -> Path:
    """A run of ``config`` stopped right after its first epoch's checkpoint; its folder."""
    stop = threading.Event()
    events = []
    for event in run_training(config, data_dir=data_dir, runs_dir=tmp_path / "runs", stop=stop):
        events.append(event)
        if isinstance(event, EpochEnded):
            stop.set()
    assert isinstance(events[-1], RunStopped)
    return Path(events[0].run_dir)


def test_a_torn_line_and_the_events_after_the_checkpoint_are_dropped_on_resume(
    data_dir: Path, tmp_path: Path, tiny: Config
) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    kept = logged(run_dir)[:-1]  # everything up to epoch 1's checkpoint; the stop came after it
    assert kept[-1]["event"] == "checkpoint" and kept[-1]["which"] == "last"
    with open(run_dir / "events.jsonl", "a") as log:
        log.write(json.dumps({"event": "epoch", "run_id": run_dir.name, "epoch": 2}) + "\n")  # never checkpointed
        log.write('{"event": "batch", "run_id": "cut mid-li')  # a torn last line
    events = list(resume_training(run_dir, data_dir=data_dir))
    assert isinstance(events[-1], RunFinished)
    assert logged(run_dir) == kept + [e.to_dict() for e in events]
    assert [e["epoch"] for e in logged(run_dir) if e["event"] == "epoch"] == [1, 2]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("finished", 2)


def test_a_log_shorter_than_its_checkpoint_says_is_an_error(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    text = (run_dir / "events.jsonl").read_bytes()
    (run_dir / "events.jsonl").write_bytes(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match="fewer than the .* logged before .*last.pt .the log was cut"):
        open_run(run_dir)


def test_a_log_left_out_of_a_copy_is_said_to_be_missing_not_cut(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    (run_dir / "events.jsonl").unlink()
    with pytest.raises(CheckpointError, match=r"events.jsonl does not exist, although .*last.pt records [\d,]+ bytes of it"):
        open_run(run_dir)
    (run_dir / "events.jsonl").mkdir()
    with pytest.raises(CheckpointError, match=r"events.jsonl is not a file, although .*last.pt records"):
        open_run(run_dir)


def test_a_best_pt_that_disagrees_with_the_log_is_an_error(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    (run_dir / "best.pt").unlink()
    with pytest.raises(CheckpointError, match="best.pt does not exist, but the run's best epoch is 1; put that best.pt back to "
                       f"resume, or train the run's config anew: mnist-tui --config {run_dir / 'config.toml'}"):
        open_run(run_dir)
    (run_dir / "best.pt").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CheckpointError, match=r"best.pt is corrupt \(truncated .*, but the run's best epoch is 1"):
        open_run(run_dir)


def test_a_second_writer_is_refused_with_the_holders_pid(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    first = resume_training(run_dir, data_dir=data_dir)
    assert isinstance(next(first), RunStarted)  # holds the folder now
    (refused,) = resume_training(run_dir, data_dir=data_dir)
    assert isinstance(refused, RunFailed) and refused.reason == "busy"
    assert refused.error == f"run folder {run_dir} is being written by process {os.getpid()}; wait for it to end, or stop it first"
    assert isinstance(list(first)[-1], RunFinished)
    again = list(resume_training(run_dir, data_dir=data_dir, epochs=3))  # released at the end
    assert isinstance(again[-1], RunFinished)


@pytest.mark.parametrize("failing_write", [1, 5, 12])
def test_a_full_disk_fails_the_run_with_one_line_and_no_half_written_line(
    data_dir: Path, tmp_path: Path, tiny: Config, monkeypatch: pytest.MonkeyPatch, failing_write: int
) -> None:
    """The log's ``failing_write``-th write puts half its line on disk, then the disk is full."""
    real_write, writes = os.write, {"count": 0, "full": False}

    def write(fd: int, data: bytes) -> int:  # only the event log writes with os.write
        if writes["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        writes["count"] += 1
        if writes["count"] == failing_write:
            writes["full"] = True
            return real_write(fd, bytes(data)[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    events = list(run_training(tiny, data_dir=data_dir, runs_dir=tmp_path / "runs"))
    monkeypatch.undo()
    failed = events[-1]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert isinstance(failed, RunFailed) and failed.reason == "write"
    assert "\n" not in failed.error
    assert failed.error.startswith(f"cannot write {run_dir / 'events.jsonl'}: No space left on device; ")
    assert failed.error.endswith(f"once that is fixed: mnist-tui --resume {run_dir}")
    logged(run_dir)  # whole lines only: the half line was cut back off
    assert not (run_dir / ".reserve").exists()
    resumed = list(resume_training(run_dir, data_dir=data_dir))
    assert isinstance(resumed[-1], RunFinished) and resumed[-1].epochs_completed == 2


def test_a_folder_that_vanishes_mid_run_fails_the_run_naming_the_path(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    events: list[Event] = []
    for event in run_training(tiny, data_dir=data_dir, runs_dir=tmp_path / "runs"):
        events.append(event)
        if isinstance(event, EpochEnded):
            shutil.rmtree(events[0].run_dir)
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.reason == "write"
    assert failed.error.startswith(f"cannot write {events[0].run_dir}/") and "No such file or directory" in failed.error
    # Not "its last checkpoint resumes the run once that is fixed": the checkpoint went with the folder.
    assert failed.error.endswith(f"; the run folder {events[0].run_dir} is gone (deleted or moved): nothing is left to resume")
    assert not Path(events[0].run_dir).exists()


def test_write_failed_names_the_path_and_the_reason(tmp_path: Path) -> None:
    error = WriteFailed(tmp_path / "summary.json", OSError(errno.EROFS, "Read-only file system"))
    assert str(error) == f"cannot write {tmp_path / 'summary.json'}: Read-only file system"
    assert isinstance(error, OSError) and error.errno == errno.EROFS


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epoch", -5, "last.pt: epoch = -5 is not a count of epochs"),
        ("epoch_step", 99, "last.pt: epoch_step = 99 is past the 32 steps of an epoch"),
        ("global_step", 3, "last.pt: global_step = 3 does not match epoch 1, step 0 of 32"),
        ("epoch", True, "last.pt: epoch = True is not a count of epochs"),
    ],
)
def test_checkpoint_fields_are_checked(
    data_dir: Path, tmp_path: Path, tiny: Config, field: str, value: object, message: str
) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    state = torch.load(run_dir / "last.pt", weights_only=True)
    state[field] = value
    torch.save(state, run_dir / "last.pt")
    (failed,) = resume_training(run_dir, data_dir=data_dir)
    assert isinstance(failed, RunFailed) and failed.reason == "checkpoint"
    assert failed.error == message


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "{p} is empty (its writer was stopped before writing it)"),
        (lambda p: p.mkdir(), "{p} is a folder, not a checkpoint file"),
        (lambda p: p.write_bytes(b"garbage" * 50), "{p} is corrupt or not an mnist-tui checkpoint (not a whole PyTorch file)"),
        (
            lambda p: torch.save({"format": 1, "x": Path("x")}, p),
            "{p} is corrupt or not an mnist-tui checkpoint (it holds Python objects, which are never loaded)",
        ),
    ],
    ids=["empty", "folder", "garbage", "pickled"],
)
def test_checkpoint_errors_are_one_short_line(tmp_path: Path, make, message: str, recwarn: pytest.WarningsRecorder) -> None:
    path = tmp_path / "last.pt"
    make(path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == message.format(p=path)
    assert "weights_only" not in str(caught.value) and not recwarn.list


def test_flipped_bits_in_a_checkpoints_weights_are_caught_by_its_checksums(tmp_path: Path) -> None:
    """torch.load never checks the zip's CRC-32s: a resume went on from other weights, exit 0."""
    path = tmp_path / "last.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "model": {"w": torch.arange(50_000, dtype=torch.float32)}}, path)
    assert load_checkpoint(path)["format"] == CHECKPOINT_FORMAT
    data = bytearray(path.read_bytes())
    middle = len(data) // 2  # inside the tensor's bytes
    data[middle : middle + 100] = bytes(b ^ 0xFF for b in data[middle : middle + 100])
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(f"{path} is corrupt: its ")
    assert str(caught.value).endswith("does not match its checksum (changed on disk since it was written)")


def test_a_run_killed_before_its_first_checkpoint_starts_again(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    events = list(run_training(tiny, data_dir=data_dir, runs_dir=tmp_path / "runs"))
    run_dir = Path(events[0].run_dir)
    for name in ("last.pt", "best.pt", "summary.json"):
        (run_dir / name).unlink()
    lines = (run_dir / "events.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "events.jsonl").write_text("".join(lines[:2]))  # run_started and the first gallery
    again = list(resume_training(run_dir, data_dir=data_dir))
    assert isinstance(again[0], RunStarted) and (again[0].start_epoch, again[0].start_step) == (0, 0)
    assert isinstance(again[-1], RunFinished) and again[-1].final_accuracy == events[-1].final_accuracy
    assert logged(run_dir) == [e.to_dict() for e in again]


def test_a_missing_last_pt_after_checkpoints_is_an_error(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    run_dir = stopped_after_epoch_1(data_dir, tmp_path, tiny)
    (run_dir / "last.pt").unlink()
    with pytest.raises(CheckpointError, match="last.pt does not exist, although .*events.jsonl records checkpoints"):
        open_run(run_dir)


def test_the_checkpoint_saved_events_are_logged_with_their_checkpoint(train, tiny: Config) -> None:
    events = train(tiny)
    run_dir = Path(events[0].run_dir)
    state = load_checkpoint(run_dir / "last.pt")
    journal = state["journal"]
    text = (run_dir / "events.jsonl").read_bytes()
    after = text[journal["log_bytes"] :].decode().splitlines()
    assert after[: len(journal["lines"])] == journal["lines"]
    assert [json.loads(line)["event"] for line in journal["lines"]] == ["checkpoint"] * len(journal["lines"])
    assert isinstance(events[-2], CheckpointSaved) and json.loads(journal["lines"][-1]) == events[-2].to_dict()
