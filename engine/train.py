"""``run_training``: the train/evaluate loop as a generator of frozen events.

This is the core every front end runs through (the dashboard's worker thread, the headless
printer, the tests). It knows nothing of any UI: it yields events and records them in the run
folder, and it turns every error into a terminal event instead of raising.
"""

from __future__ import annotations

import os
import time
import traceback
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

import torch

from . import paths
from .commands import CommandFile, Inbox
from .config import Config, ConfigError
from .data import ENV_DATA_DIR, DataError, load_split
from .raw_files import holds_files
from .events import (
    CommandAnswered,
    EpochEnded,
    Event,
    RunFailed,
    RunStarted,
    SettingsChanged,
    event_from_dict,
)
from .events import new_run_id
from .journal import Recovery, WriteFailed
from .lock import RunBusy, RunLock
from .memory import check_memory
from .runs import CheckpointError, RunFolder, earlier_summary, library_versions, open_run, summarize
from .session import Describe, Session
from .steering import Steering
from .trainer import Trainer


class StopFlag(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, a Textual worker's ``cancelled_event``."""

    def is_set(self) -> bool: ...


class _Never:
    def is_set(self) -> bool:
        return False


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} is not available: PyTorch sees no CUDA GPU")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} is not available: {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r} is not available on this machine")
    return device


def run_training(
    config: Config,
    *,
    data_dir: str | Path | None = None,
    runs_dir: str | Path | None = "runs",
    stop: StopFlag | None = None,
    run_id: str | None = None,
    inbox: Inbox | None = None,
    preset: str | None = None,
    headless: bool = False,
) -> Iterator[Event]:
    """Train ``config`` from scratch, yielding events; ``runs_dir=None`` writes no run folder.

    ``run_id`` (default: a new one from the config's name) names the run folder and tags every event.
    ``inbox`` takes commands (pause, resume, step, stop, set, predict) from other threads; the run
    folder's ``commands.jsonl`` takes them from other processes (``commands.py``). ``preset`` names
    the preset the config started from (kept in the summary, to compare the run against).
    ``headless``: trained without the dashboard (``--no-ui``), as its ``run_started`` records for a
    watcher's resume hint.
    """
    run_id = run_id or new_run_id(config.name)
    yield from _run(
        config, run_id=run_id, data_dir=data_dir, runs_dir=runs_dir, stop=stop, resume=None, inbox=inbox,
        preset=preset, headless=headless,
    )


def resume_training(
    run_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    stop: StopFlag | None = None,
    epochs: int | None = None,
    inbox: Inbox | None = None,
    headless: bool = False,
) -> Iterator[Event]:
    """Continue the run in ``run_dir`` from its last checkpoint, appending to its event log.

    ``epochs`` raises the number of epochs to train to; ``inbox`` and ``headless`` as for :func:`run_training`.
    Without ``data_dir`` or ``$MNIST_TUI_DATA``, the data is read from the folder the run recorded
    (its latest ``run_started`` naming one) while it holds the data, else from the default folder.
    Settings changed during the run go on as changed (the checkpoint's optimizer holds them). The
    folder is locked first (another writer: a failed event with reason ``busy``); events logged
    after the last checkpoint are dropped (the run continues from that checkpoint). A missing or
    corrupt run is reported as a failed event with reason ``checkpoint``; a finished one with no
    more epochs to train (``epochs`` raises them), once its data and checkpoint passed their
    checks, with reason ``config``.
    """
    path = Path(run_dir)
    lock: RunLock | None = None
    try:
        if paths.is_dir(path):
            lock = RunLock.acquire(path)
        saved, state, recovery = open_run(path)
        done = state.get("epoch") if state else 0
        wanted = saved.epochs if epochs is None else epochs
        if isinstance(done, int) and wanted < done:  # config.toml and summary.json would say fewer than it trained
            if epochs is not None:
                raise ConfigError(
                    f"--epochs {epochs} is fewer than the {done} epochs the run has done; a resume trains up to N epochs"
                )
            raise ConfigError(
                f"{path / 'config.toml'} says epochs = {wanted}, fewer than the {done} epochs the run has done"
            )
        config = saved if epochs is None else saved.replace(epochs=epochs)
        resume = Resume(path, state, recovery, saved, lock, wanted=config.epochs)
    except (CheckpointError, ConfigError) as error:
        if lock is not None:
            lock.release()
        yield RunFailed(run_id=path.name, error=str(error), reason="busy" if isinstance(error, RunBusy) else "checkpoint")
        return
    if data_dir is None and not os.environ.get(ENV_DATA_DIR) and resume.data_dir is not None:
        # The recorded folder, if it still holds the data (else the default, as before runs recorded
        # one); loading checks its files' sizes and checksums, once.
        if holds_files(resume.data_dir, config.dataset):
            data_dir = resume.data_dir
    yield from _run(
        config, run_id=path.name, data_dir=data_dir, runs_dir=path.parent, stop=stop, resume=resume, inbox=inbox,
        preset=resume.summary.get("preset"), headless=headless,
    )


def _already_finished(run_dir: Path, epochs: int) -> str:
    """Why a resume of a finished run trains nothing, and how to train it further."""
    trained = f"{epochs} epoch{'' if epochs == 1 else 's'}"
    return f"run {run_dir} already finished its {trained}; pass --epochs N (more than {epochs}) to train it further"


def _first_start(logged: list[dict[str, Any]]) -> dict[str, Any]:
    """The preset and start time that the log's first ``run_started`` names (for a lost summary)."""
    first = next((e for e in logged if e.get("event") == RunStarted.kind), {})
    return {key: first[key] for key in ("preset", "started") if isinstance(first.get(key), str)}


def _recorded_data_dir(logged: Sequence[dict[str, Any]], summary: dict[str, Any]) -> str | None:
    """The data folder that the log's latest ``run_started`` naming one records, else the summary's.

    The summary is written with the run folder, so it names the folder of a run killed before its
    first checkpoint (whose log a resume drops); logs and summaries from before either recorded
    one name none. Only an absolute path counts: a relative one would name another folder from
    another working directory.
    """
    started = (e.get("data_dir") for e in reversed(logged) if e.get("event") == RunStarted.kind)
    recorded = next((folder for folder in started if isinstance(folder, str)), summary.get("data_dir"))
    return recorded if isinstance(recorded, str) and Path(recorded).is_absolute() else None


def _iso_time(seconds: float) -> str:
    """Unix seconds as local ISO 8601 time with its offset, to the second (a run's ``started``)."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


class Resume:
    """What a resume continues from: the locked folder, its checkpoint (None: none yet) and recovery plan."""

    def __init__(
        self, path: Path, state: dict[str, Any] | None, recovery: Recovery, saved: Config, lock: RunLock | None,
        *, wanted: int,
    ) -> None:
        """``wanted``: the epochs the resume trains up to."""
        self.path = path
        self.state = state
        self.recovery = recovery
        self.saved = saved
        self.lock = lock
        logged = recovery.events  # up to the checkpoint: what was logged after it does not count
        reached = state.get("epoch") if state else 0
        try:
            epochs = [event_from_dict(e) for e in logged if e.get("event") == EpochEnded.kind]
            self.changes = [event_from_dict(e) for e in logged if e.get("event") == SettingsChanged.kind]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path / 'events.jsonl'} holds a malformed event") from None
        # A checkpoint from before the journal may be older than the log's last epochs.
        self.epochs = [e for e in epochs if isinstance(reached, int) and e.epoch <= reached]
        self.summary = earlier_summary(path) or _first_start(logged)
        """The summary the earlier session left, else its log's first start: the run keeps its preset and start."""
        self.answered = {e.get("command_id") for e in logged if e.get("event") == CommandAnswered.kind}
        self.data_dir = _recorded_data_dir(logged, self.summary)
        """The data folder the run recorded (None: not recorded)."""
        # A run cut off between its last checkpoint and its end is not finished: its resume writes that end.
        self.finished = reached == wanted and self.summary.get("status") == "finished"
        """Whether the run finished the epochs the resume trains up to: nothing is left to train."""

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _run(
    config: Config,
    *,
    run_id: str,
    data_dir: str | Path | None,
    runs_dir: str | Path | None,
    stop: StopFlag | None,
    resume: Resume | None,
    inbox: Inbox | None,
    preset: str | None,
    headless: bool,
) -> Iterator[Event]:
    stop = stop or _Never()
    started = time.time()  # command-file lines written before this are stale
    try:
        device = resolve_device(config.device)
        check_memory(config, device)
        split = load_split(config, data_dir, device)
        trainer = Trainer(config, split, device)
        if resume is not None and resume.state is not None:
            trainer.load_state(resume.state)
        if resume is not None and resume.finished:
            # Refused once its data and checkpoint passed their checks: the session would only log a
            # start and the same end again (QA: the dashboard showed "epoch 400/400 0%" and headless
            # the old end, neither saying why, and both exited 0).
            raise ConfigError(_already_finished(resume.path, config.epochs))
    except (ConfigError, DataError, CheckpointError) as error:
        if resume is not None:
            resume.release()
        reason = "config" if isinstance(error, ConfigError) else "data" if isinstance(error, DataError) else "checkpoint"
        yield RunFailed(run_id=run_id, error=str(error), reason=reason)
        return
    first_start = (resume.summary.get("started") if resume else None) or _iso_time(started)
    # A sweep trial's entry is written by the sweep, not the engine: every later summary keeps it.
    sweep = resume.summary.get("sweep") if resume else None
    describe: Describe = partial(
        summarize, config=config, preset=preset, started=first_start, eval_name=split.eval_name,
        device=str(device), versions=library_versions(), data_dir=str(split.root),
        sweep=sweep if isinstance(sweep, dict) else None,
    )
    # Nothing is written before here: a config or data error leaves no run folder behind.
    folder: RunFolder | None = None
    if resume is not None:
        folder = RunFolder(resume.path, resume.lock)
    elif runs_dir is not None:
        try:
            folder = RunFolder.create(Path(runs_dir), run_id, config, describe([], None))
        except OSError as error:
            yield RunFailed(run_id=run_id, error=f"cannot create a run folder in {runs_dir}: {error}", reason="config")
            return
    command_file = (
        CommandFile(folder.path, since=started, answered=resume.answered if resume else set())
        if folder is not None else None
    )
    steering = Steering(run_id, trainer, config, stop=stop, inbox=inbox, command_file=command_file)
    session = Session(
        config, run_id, trainer, folder, device, resume, steering, preset=preset, started=first_start,
        data_dir=str(split.root), describe=describe, headless=headless,
    )
    fresh = resume is None or resume.state is None
    if not fresh:
        session.checkpoint = (trainer.epoch, trainer.global_step)
    try:
        if resume is not None and folder is not None:
            folder.recover(resume.recovery)
            if config != resume.saved:  # a raised epoch count: a later plain --resume must keep it
                folder.write_config(config)
        yield from session.events(fresh=fresh)
    except WriteFailed as error:
        yield session.fail_to_write(error)
    except Exception as error:  # turned into the run's terminal event, with the traceback kept
        yield session.fail(error, traceback.format_exc())
    finally:
        if folder is not None:
            folder.close()
