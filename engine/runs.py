"""The run folder: resolved config, event log, summary and checkpoints, written atomically.

Layout of ``RUNS_DIR/RUN_ID/``: ``config.toml``, ``events.jsonl`` (every event, appended),
``summary.json``, ``best.pt`` and ``last.pt``, the writer's ``.lock`` (``lock.py``) and, while it
writes, its ``.reserve``. A new folder is made as ``RUNS_DIR/.RUN_ID.new`` and renamed into place
with its summary (naming the data folder), log and config (a kill before that leaves only the
hidden folder, which listings skip and a later run's making removes). Checkpoints are the journal's commits (``journal.py``); they
hold only tensors and plain values and are read back with ``torch.load(weights_only=True)`` (``checkpoint.py``):
loading never unpickles objects.
"""

from __future__ import annotations

import errno
import io
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from .catalog import not_a_run_folder, sound_fields
from .checkpoint import CHECKPOINT_FORMAT, best_epoch_of, load_checkpoint, resume_problem
from .config import Config, ConfigError
from .events import EpochEnded, Event, SettingsChanged, Terminal
from .journal import (
    LOG,
    NEXT_BEST,
    CheckpointError,
    EventLog,
    Recovery,
    WriteFailed,
    atomic_write,
    fsync_dir,
    journal_record,
    plan_recovery,
)
from .lock import RunLock
from .presets import config_to_toml, load_config_file

RESERVE = ".reserve"
RESERVE_BYTES = 32 * 1024
"""Disk space a run holds while it writes, so that one the disk fills up can still record its failure."""

__all__ = ["CheckpointError", "RunFolder", "WriteFailed", "atomic_write", "open_run", "summarize"]


def library_versions() -> dict[str, str]:
    """Versions that decide a run's numbers, saved in its summary (read without importing torchvision)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    return {
        "mnist_tui": installed("mnist-tui"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": installed("torchvision"),
    }


STAGING_SUFFIX = ".new"
"""A run folder being made is ``.RUN_ID.new`` until it is renamed into place."""
STAGING_ABANDONED_SECONDS = 600.0
"""A staging folder unchanged this long, and unlocked, was left by a process killed while making
it (which takes milliseconds); younger ones may belong to a run starting beside this one."""


def remove_abandoned_staging(runs_dir: Path, *, keep: Path) -> None:
    """Remove the staging folders that runs killed while making their folder left in ``runs_dir``
    (hidden, so never listed): each one unlocked and unchanged for ``STAGING_ABANDONED_SECONDS``.
    Best effort: what cannot be looked at or removed stays."""
    now = time.time()
    try:
        entries = [entry for entry in os.scandir(runs_dir) if entry.name.startswith(".") and entry.name.endswith(STAGING_SUFFIX)]
    except OSError:
        return
    for entry in entries:
        folder = Path(entry.path)
        try:
            if folder == keep or not entry.is_dir(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < STAGING_ABANDONED_SECONDS:
                continue
            lock = RunLock.acquire(folder)
        except (OSError, CheckpointError):  # held, vanished or unreadable: not ours to remove
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            lock.release()


@dataclass
class RunFolder:
    """One run's folder, locked for its one writer; :meth:`record` is fed every event the engine yields."""

    path: Path
    lock: RunLock | None = None
    """Held while the run writes (None: a reader that only amends the summary of an ended run)."""
    log: EventLog = field(init=False)

    def __post_init__(self) -> None:
        self.log = EventLog(self.path / LOG)

    @classmethod
    def create(cls, runs_dir: Path | str, run_id: str, config: Config, summary: dict[str, Any]) -> RunFolder:
        """A new run folder holding ``summary``, an empty event log and ``config``; an OSError says why it cannot be made.

        The folder is made whole under a hidden name (listings skip it) and renamed into place:
        however early its run is killed, a run folder lists as a run, resumes from its config and
        names its data folder in its summary. The OSError's text is the reason alone (``Read-only
        file system``): the hidden name is no folder the user knows, and nothing is left behind.
        """
        path = Path(runs_dir) / run_id
        if path.exists():  # the rename would replace an empty folder of that name
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
        staging = path.with_name(f".{run_id}{STAGING_SUFFIX}")
        try:
            staging.mkdir(parents=True, exist_ok=False)
        except OSError as error:
            raise OSError(error.strerror or str(error)) from None
        remove_abandoned_staging(path.parent, keep=staging)
        try:
            lock = RunLock.acquire(staging)
            try:
                made = cls(staging)
                made.write_summary(summary)
                atomic_write(staging / LOG, b"")
                made.write_config(config)
                os.replace(staging, path)
            except (OSError, CheckpointError):
                lock.release()
                raise
        except (OSError, CheckpointError) as error:
            shutil.rmtree(staging, ignore_errors=True)  # only what this call made: nothing was trained
            raise OSError(getattr(error, "strerror", None) or str(error)) from None
        fsync_dir(path.parent)
        lock.folder = path  # the same open lock file, under the folder's name now
        folder = cls(path, lock)
        folder.keep_reserve()
        return folder

    def keep_reserve(self) -> None:
        """Hold :data:`RESERVE_BYTES` of disk in ``.reserve`` until the run ends or fails to write."""
        try:
            with open(self.path / RESERVE, "wb") as handle:
                handle.write(bytes(RESERVE_BYTES))
        except OSError:  # no room even for that: the run's next write fails and says so
            self.free_reserve()

    def free_reserve(self) -> None:
        """Give the reserve back (on a full disk: room to record the failure)."""
        try:
            (self.path / RESERVE).unlink(missing_ok=True)
        except OSError:  # a read-only or vanished folder: there was no room to make anyway
            pass

    def write_config(self, config: Config) -> None:
        """Save the resolved config as ``config.toml`` (it loads back with ``--config``)."""
        atomic_write(self.path / "config.toml", config_to_toml(config).encode())

    def record(self, event: Event) -> None:
        """Append the event to ``events.jsonl`` (unless it is an ephemeral answer such as a prediction)."""
        if not event.recorded:
            return
        self.log.append([event.to_json()])
        if isinstance(event, Terminal):
            self.log.sync()

    def commit(self, last: dict[str, Any], best: dict[str, Any] | None, lines: list[str], best_epoch: int | None) -> None:
        """Write a checkpoint as the journal's commit (see ``journal.py``), then log ``lines``."""
        self.log.sync()
        if best is not None:
            atomic_write(self.path / NEXT_BEST, _serialize(best))
        record = journal_record(self.log.size(), lines, best_epoch)
        atomic_write(self.path / "last.pt", _serialize({**last, "journal": record}))
        if best is not None:
            try:
                os.replace(self.path / NEXT_BEST, self.path / "best.pt")
            except OSError as error:
                raise WriteFailed(self.path / "best.pt", error) from None
            fsync_dir(self.path)
        self.log.append(lines)

    def recover(self, recovery: Recovery) -> None:
        """Bring the folder back to its last checkpoint before a resume writes on."""
        recovery.apply(self.log)
        self.keep_reserve()

    def close(self) -> None:
        self.log.close()
        self.free_reserve()
        if self.lock is not None:
            self.lock.release()

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write(self.path / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())

    def write_traceback(self, text: str) -> None:
        atomic_write(self.path / "traceback.txt", text.encode("utf-8"))


def _serialize(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **state}, buffer)
    return buffer.getvalue()


def summarize(
    epochs: list[EpochEnded],
    terminal: Terminal | None,
    *,
    config: Config,
    preset: str | None,
    started: str,
    eval_name: str,
    device: str,
    versions: dict[str, str],
    changes: Sequence[SettingsChanged] = (),
    data_dir: str | None = None,
    sweep: dict[str, Any] | None = None,
    partial_seconds: float = 0.0,
) -> dict[str, Any]:
    """``summary.json`` of a run from all its epochs and setting changes (across resumes) and how it ended.

    It holds all a runs listing shows (name, preset, configured epochs, start time), so listing
    never reads ``events.jsonl``, and the data folder the latest session loaded, for a resume.
    ``sweep`` is the entry a sweep trial's run carries (``engine/trial.py``): a resume keeps it.
    ``partial_seconds``: the training time of an epoch a stop cut short, which ``last.pt`` keeps.
    """
    best = max(epochs, key=lambda e: e.eval_accuracy, default=None)
    summary = {
        "name": config.name,
        "preset": preset,
        "started": started,
        "status": terminal.status if terminal else "running",
        "epochs": config.epochs,
        "final_test_accuracy": epochs[-1].eval_accuracy if epochs else None,
        "best_test_accuracy": best.eval_accuracy if best else None,
        "best_epoch": best.epoch if best else None,
        "epochs_completed": epochs[-1].epoch if epochs else 0,
        "train_seconds": round(sum(e.seconds for e in epochs) + partial_seconds, 3),
        "eval_seconds": round(sum(e.eval_seconds for e in epochs), 3),
        "evaluated_on": eval_name,
        "device": device,
        "error": getattr(terminal, "error", None),
        "versions": versions,
        "data_dir": data_dir,
        "changes": [
            {"epoch": c.epoch, "step": c.step, "changes": c.changes, "source": c.source} for c in changes
        ],
    }
    if sweep is not None:
        summary["sweep"] = sweep
    return summary


def earlier_summary(run_dir: Path) -> dict[str, Any]:
    """The run folder's ``summary.json`` as it stands, less fields that break the listing's rules
    (empty if missing or unreadable): a resume keeps its preset and start."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # not text or JSON, a number too long to read, nested too deep
        return {}
    return sound_fields(summary) if isinstance(summary, dict) else {}


def open_run(run_dir: Path | str) -> tuple[Config, dict[str, Any] | None, Recovery]:
    """Config, last checkpoint (None if none was ever written) and recovery plan of a run folder, for ``--resume``.

    Reads only: :meth:`RunFolder.recover` applies the plan once the resume is sure to go ahead.
    """
    path = Path(run_dir)
    problem = not_a_run_folder(path)
    if problem is not None:
        raise CheckpointError(problem)
    try:
        config = load_config_file(path / "config.toml")
    except ConfigError as error:
        raise CheckpointError(f"run folder {path} has no usable config.toml: {error}") from None
    last = path / "last.pt"
    state = load_checkpoint(last) if os.path.lexists(last) else None  # a broken link is reported, not taken for none
    problem = None if state is None else resume_problem(state)
    if problem is not None:
        raise CheckpointError(f"{last} is not an mnist-tui checkpoint to resume from ({problem})")
    return config, state, plan_recovery(path, state, best_epoch_of)

