"""One training session's bookkeeping: the events it yields, its checkpoints and its summary.

:func:`~.train.run_training` and :func:`~.train.resume_training` set a session up (the data, the
trainer, the run folder, the steering) and iterate :meth:`Session.events`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator

import torch

from .config import Config
from .events import (
    BatchReported,
    CheckpointSaved,
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
)
from .journal import WriteFailed
from .runs import RunFolder
from .settings import current_settings
from .steering import Steering, describe_step
from .trainer import Trainer

if TYPE_CHECKING:
    from .train import Resume

Describe = Callable[..., dict[str, Any]]
"""``summarize`` with all but a run's epochs, its terminal event and its setting changes bound."""


class Session:
    """One run's bookkeeping around a :class:`Trainer`: events, checkpoints and the summary."""

    def __init__(
        self,
        config: Config,
        run_id: str,
        trainer: Trainer,
        folder: RunFolder | None,
        device: torch.device,
        resume: Resume | None,
        steering: Steering,
        *,
        preset: str | None,
        started: str,
        data_dir: str,
        describe: Describe,
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
