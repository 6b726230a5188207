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
from typing import Any, Callable, Generator, Iterator, Protocol, Sequence

import torch

from .commands import CommandFile, Inbox
from .config import Config, ConfigError
from .data import ENV_DATA_DIR, DataError, load_split
from .raw_files import holds_files
from .events import (
    BatchReported,
    CheckpointSaved,
    CommandAnswered,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesPredicted,
    SettingsChanged,
    Terminal,
    event_from_dict,
)
from .events import new_run_id
from .journal import Recovery, WriteFailed
from .lock import RunBusy, RunLock
from .memory import check_memory
from .runs import CheckpointError, RunFolder, earlier_summary, library_versions, open_run, summarize
from .settings import current_settings
from .steering import Steering, describe_step
from .trainer import Trainer


class StopFlag(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, a Textual worker's ``cancelled_event``."""

    def is_set(self) -> bool: ...


_Describe = Callable[..., dict[str, Any]]
"""``summarize`` with all but a run's epochs, its terminal event and its setting changes bound."""


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
        if path.is_dir():
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
        resume = _Resume(path, state, recovery, saved, lock, wanted=config.epochs)
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


class _Resume:
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
    resume: _Resume | None,
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
    describe: _Describe = partial(
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
    session = _Session(
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


class _Session:
    """One run's bookkeeping around a :class:`Trainer`: events, checkpoints and the summary."""

    def __init__(
        self,
        config: Config,
        run_id: str,
        trainer: Trainer,
        folder: RunFolder | None,
        device: torch.device,
        resume: _Resume | None,
        steering: Steering,
        *,
        preset: str | None,
        started: str,
        data_dir: str,
        describe: _Describe,
        headless: bool,
    ) -> None:
        self.config = config
        self.run_id = run_id
        self.trainer = trainer
        self.folder = folder
        self.device = device
        self.steering = steering
        self.epochs: list[EpochEnded] = list(resume.epochs if resume else [])
        self.committed: list[EpochEnded] = list(self.epochs)
        """The epochs whose checkpoint is written: only they count (in the summary, after a failure)."""
        self.checkpoint: tuple[int, int] | None = None
        """(epochs completed, the run's step) of the last checkpoint written or resumed from."""
        self.changes: list[SettingsChanged] = list(resume.changes if resume else [])
        self.preset = preset
        self.started = started
        """When the run first started, ISO 8601 with its offset (a resume keeps it)."""
        self.data_dir = data_dir
        """The data folder loaded, absolute: the run records it for a resume."""
        self.describe = describe
        """The run's summary from its committed epochs and how it ended (the rest is bound)."""
        self.headless = headless

    def emit(self, event: Event) -> Event:
        """Record ``event`` in the run folder (and the summary, at changes and the end)."""
        if isinstance(event, SettingsChanged):
            self.changes.append(event)
        if self.folder is not None:
            self.folder.record(event)
            # Written at the start too, so a runs listing sees a run before its first epoch ends.
            if isinstance(event, (RunStarted, SettingsChanged, Terminal)):
                self._write_summary(event if isinstance(event, Terminal) else None)
        return event

    def _write_summary(self, terminal: Terminal | None) -> None:
        assert self.folder is not None
        # A stop checkpoints mid-epoch: its partial epoch's training time is the run's too (QA: a run
        # stopped in its first epoch recorded 0 s).
        partial = self.trainer.partial_seconds if isinstance(terminal, RunStopped) else 0.0
        self.folder.write_summary(self.describe(self.committed, terminal, changes=self.changes, partial_seconds=partial))

    def fail_to_write(self, error: WriteFailed) -> RunFailed:
        """The run's end when its folder cannot be written: one line naming the path, the reason and the way back."""
        folder = self.folder.path if self.folder else error.path.parent
        if not folder.is_dir():  # deleted or moved, its checkpoint along: a resume command would only fail
            way_back = f"the run folder {folder} is gone (deleted or moved): nothing is left to resume"
        elif self.checkpoint is None:
            way_back = f"the run starts again from its config once that is fixed: mnist-tui --resume {folder}"
        else:
            completed, step = self.checkpoint
            where = describe_step(completed + 1, step, self.trainer.steps_per_epoch)  # at its end, the epoch completed
            way_back = f"its last checkpoint ({where}) resumes the run once that is fixed: mnist-tui --resume {folder}"
        failed = RunFailed(
            run_id=self.run_id,
            error=f"{error}; {way_back}",
            reason="write",
        )
        if self.folder is not None:
            self.folder.free_reserve()
        self._try_to_keep(failed)
        return failed

    def fail(self, error: Exception, trace: str) -> RunFailed:
        """The run's end after an unexpected error, with its traceback kept in the run folder."""
        failed = RunFailed(run_id=self.run_id, error=f"{type(error).__name__}: {error}", reason="error")
        if self.folder is not None:
            self._try(lambda: self.folder.write_traceback(trace))  # type: ignore[union-attr]
        self._try_to_keep(failed)
        return failed

    def _try_to_keep(self, failed: RunFailed) -> None:
        if self.folder is not None:
            self._try(lambda: self.folder.record(failed))  # type: ignore[union-attr]
            self._try(lambda: self._write_summary(failed))

    @staticmethod
    def _try(write: Any) -> None:
        try:
            write()
        except WriteFailed:  # the folder still cannot be written; the failure event says why already
            pass

    def events(self, *, fresh: bool) -> Iterator[Event]:
        config, trainer, steering = self.config, self.trainer, self.steering
        split = trainer.split
        yield self.emit(
            RunStarted(
                run_id=self.run_id,
                # The settings it trains with: a resumed run goes on with the ones changed before.
                config={**config.to_dict(), **current_settings(trainer)},
                device=str(self.device),
                train_size=len(split.train_y),
                eval_size=len(split.eval_y),
                eval_name=split.eval_name,
                steps_per_epoch=trainer.steps_per_epoch,
                start_epoch=trainer.epoch,
                start_step=trainer.epoch_step,
                run_dir=str(self.folder.path) if self.folder else None,
                parameters=trainer.parameters,
                preset=self.preset,
                headless=self.headless,
                started=self.started,
                data_dir=self.data_dir,
            )
        )
        if self.folder is not None and not fresh:
            self._write_summary(None)  # it agrees with the log cut back to the checkpoint
        if trainer.epoch == 0 and trainer.epoch_step == 0:
            yield self.emit(self._samples(epoch=0))
        if fresh:
            yield from self._commit(best=None)  # resumable from its first batch
        while trainer.epoch < config.epochs:
            epoch = trainer.epoch + 1
            diverged = yield from self._train(epoch)
            if diverged is not None:
                yield from self._finish("diverged")
                yield self.emit(diverged)
                return
            if trainer.epoch_step < trainer.steps_per_epoch:  # stopped mid-epoch
                yield from self._commit(best=None)
                yield from self._finish("stopped")
                yield self.emit(
                    RunStopped(
                        run_id=self.run_id, epoch=epoch, step=trainer.global_step,
                        epochs_completed=trainer.epoch,
                    )
                )
                return
            yield from self._end_epoch(epoch)
            if steering.stopping and trainer.epoch < config.epochs:
                yield from self._finish("stopped")
                yield self.emit(
                    RunStopped(
                        run_id=self.run_id, epoch=trainer.epoch, step=trainer.global_step,
                        epochs_completed=trainer.epoch,
                    )
                )
                return
        yield from self._finish("finished")
        best = max(self.epochs, key=lambda e: e.eval_accuracy)
        yield self.emit(
            RunFinished(
                run_id=self.run_id,
                final_accuracy=self.epochs[-1].eval_accuracy,
                best_accuracy=best.eval_accuracy,
                best_epoch=best.epoch,
                epochs_completed=trainer.epoch,
                train_seconds=round(sum(e.seconds for e in self.epochs), 3),
            )
        )

    def _train(self, epoch: int) -> Generator[Event, None, RunDiverged | None]:
        """Train the rest of the epoch, taking commands between batches; returns how it diverged, if it did.

        Ends early when the run is to stop. A command cuts the trainer's epoch short after the
        batch in progress; the epoch then goes on from there once the command is acted on.
        """
        trainer, steering = self.trainer, self.steering
        while True:
            yield from self._emit_all(steering.between(epoch))
            for report in trainer.train_epoch(steering.interrupt, batches=steering.step_batches):
                yield self.emit(self._batch(epoch, report))
                if report.diverged_step is not None:
                    return RunDiverged(run_id=self.run_id, epoch=epoch, step=report.diverged_step, loss=report.bad_loss)
                yield from self._emit_all(steering.at_report())
            if trainer.epoch_step >= trainer.steps_per_epoch or steering.stopping:
                return None

    def _emit_all(self, events: Iterator[Event]) -> Iterator[Event]:
        for event in events:
            yield self.emit(event)

    def _finish(self, outcome: str) -> Iterator[Event]:
        """Answer the commands still waiting, before the run's terminal event."""
        yield from self._emit_all(self.steering.finish(outcome))

    def _batch(self, epoch: int, report: Any) -> BatchReported:
        return BatchReported(
            run_id=self.run_id,
            epoch=epoch,
            step=self.trainer.global_step,
            epoch_step=self.trainer.epoch_step,
            steps_per_epoch=self.trainer.steps_per_epoch,
            loss=report.loss,
            lr=report.lr,
            samples_per_second=report.samples_per_second,
        )

    def _end_epoch(self, epoch: int) -> Iterator[Event]:
        trainer = self.trainer
        train_loss, train_accuracy, seconds = trainer.finish_epoch()
        started = time.perf_counter()
        eval_loss, eval_accuracy, inspection = trainer.evaluate()
        eval_seconds = time.perf_counter() - started
        earlier_best = max((e.eval_accuracy for e in self.epochs), default=-1.0)
        improved = eval_accuracy > earlier_best
        best_epoch = epoch if improved else max(self.epochs, key=lambda e: e.eval_accuracy).epoch
        ended = EpochEnded(
            run_id=self.run_id,
            epoch=epoch,
            epochs=self.config.epochs,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            eval_loss=eval_loss,
            eval_accuracy=eval_accuracy,
            seconds=round(seconds, 4),
            eval_seconds=round(eval_seconds, 4),
            best_epoch=best_epoch,
            best_accuracy=max(eval_accuracy, earlier_best),
        )
        self.epochs.append(ended)
        trainer.step_schedule()
        yield self.emit(ended)
        if inspection is not None:
            for event in inspection.events(self.run_id, epoch):
                yield self.emit(event)
        yield self.emit(self._samples(epoch=epoch))
        yield from self._commit(best=trainer.weights_state(eval_accuracy) if improved else None)

    def _samples(self, epoch: int) -> SamplesPredicted:
        images, labels, predictions, confidences = self.trainer.predict_gallery()
        return SamplesPredicted(
            run_id=self.run_id,
            epoch=epoch,
            images=images,
            labels=labels,
            predictions=predictions,
            confidences=confidences,
            class_names=self.trainer.split.class_names,
        )

    def _commit(self, best: dict[str, Any] | None) -> Iterator[Event]:
        """Write ``last.pt`` (and ``best`` weights): from here the epochs so far count."""
        if self.folder is None:
            return
        trainer = self.trainer
        saved = [
            CheckpointSaved(
                run_id=self.run_id, which=which, path=str(self.folder.path / f"{which}.pt"),
                epoch=trainer.epoch, step=trainer.global_step,
            )
            for which in (("best", "last") if best is not None else ("last",))
        ]
        config = self.config.to_dict()
        best_epoch = max(self.epochs, key=lambda e: e.eval_accuracy).epoch if self.epochs else None
        self.folder.commit(
            {**trainer.full_state(), "config": config},
            None if best is None else {**best, "config": config},
            [event.to_json() for event in saved],
            best_epoch,
        )
        self.committed = list(self.epochs)
        self.checkpoint = (trainer.epoch, trainer.global_step)
        self._write_summary(None)
        yield from saved
