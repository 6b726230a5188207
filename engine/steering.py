"""The engine's side of commands: taken between batches, each answered with events.

The trainer polls :attr:`Steering.interrupt` after every batch, where it polls the stop flag: a
command waiting in the inbox ends the report interval early (its batches are reported), so a
change takes effect at an exact step and every report's batches used one set of settings. The
session then calls :meth:`Steering.between`, which acts on the commands and, while paused, waits
there (paused time is not training time). Predictions do not end an interval: they are answered
at the next report, or at once while paused. The command file is read at each report and every
0.2 s while paused.

Every answer names where the run is as the progress pane counts it (:func:`describe_step`): the
epoch, and the step within it. The events keep the run's global step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Protocol

from .commands import NO_CHANGE, Command, CommandFile, Inbox, Refused
from .config import Config, ConfigError
from .events import CommandAnswered, DigitPredicted, Event, RunPaused, RunResumed, SettingsChanged
from .settings import change_settings, describe_changes

if TYPE_CHECKING:
    from .trainer import Trainer

PAUSE_POLL = 0.2
"""Seconds between two reads of the command file (and of the stop flag) while paused."""


def describe_step(epoch: int, step: int, steps_per_epoch: int | None) -> str:
    """``epoch 3, step 641``: where an event's ``epoch`` and global ``step`` are, the step counted
    within the epoch as the progress pane and the headless lines count it (``step 641/938``).

    Before an epoch's first batch it names the end of the epoch before (``epoch 2, step 938``),
    where the progress pane stands until that batch is reported. Without the run's
    ``steps_per_epoch`` (a log that lost its ``run_started``), the run's step."""
    if not steps_per_epoch:
        return f"epoch {epoch}, step {step:,} of the run"
    within = step - (epoch - 1) * steps_per_epoch
    if within == 0 and epoch > 1:
        epoch, within = epoch - 1, steps_per_epoch
    return f"epoch {epoch}, step {within:,}"


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class _Interrupt:
    """The flag the trainer polls after every batch: plain attribute reads, no lock, no host sync."""

    __slots__ = ("_inbox", "_steering", "_stop")

    def __init__(self, inbox: Inbox, steering: Steering, stop: StopFlag) -> None:
        self._inbox, self._steering, self._stop = inbox, steering, stop

    def is_set(self) -> bool:
        # A single step trains its whole interval; the commands behind it wait for its end.
        waiting = self._inbox.waiting and self._steering.step_batches is None
        return waiting or self._steering.stop_requested or self._stop.is_set()


class Steering:
    """Pause, step, stop, setting changes and predictions for one engine session."""

    def __init__(
        self,
        run_id: str,
        trainer: Trainer,
        config: Config,
        *,
        stop: StopFlag,
        inbox: Inbox | None = None,
        command_file: CommandFile | None = None,
    ) -> None:
        self.run_id = run_id
        self.trainer = trainer
        self.config = config
        self.inbox = inbox or Inbox()
        self.file = command_file
        self._stop = stop
        self.interrupt = _Interrupt(self.inbox, self, stop)
        """Pass this to the trainer as its stop flag."""
        self.paused = False
        self.stop_requested = False
        self.step_batches: int | None = None
        """While a single step trains: its number of batches (train them in one report)."""

    @property
    def stopping(self) -> bool:
        """Whether the run is to stop (a stop command, or the caller's stop flag)."""
        return self.stop_requested or self._stop.is_set()

    def at_report(self) -> Iterator[Event]:
        """After each report: answer predictions and read the command file (a command there ends the interval)."""
        yield from self._predictions()
        yield from self._read_file()

    def between(self, epoch: int) -> Iterator[Event]:
        """Act on the waiting commands; while paused, wait here for resume, step or stop."""
        if self.step_batches is not None:  # a single step has trained its interval
            self.step_batches = None
            yield self._paused(epoch)
        yield from self._read_file()
        yield from self._predictions()
        # The caller's stop flag is polled only while paused: a flag that counts its polls (the
        # tests' flags) sees one per batch, as before commands existed.
        while self.inbox.waiting or self.paused:
            command = self.inbox.take()
            if command is not None:
                yield from self._act(command, epoch)
                if self.stop_requested or self.step_batches is not None:
                    return
            elif self._stop.is_set():
                return
            else:
                self.inbox.wait(PAUSE_POLL)
                yield from self._read_file()
                yield from self._predictions()

    def finish(self, outcome: str) -> Iterator[Event]:
        """Before the run's terminal event: answer what is still waiting (commands are refused)."""
        yield from self._read_file()
        yield from self._predictions()
        while (command := self.inbox.take()) is not None:
            yield self._answer(command, False, f"not done: the run {outcome} first")

    # --- acting on one command ---------------------------------------------------------------

    def _act(self, command: Command, epoch: int) -> Iterator[Event]:
        step = self.trainer.global_step
        where = describe_step(epoch, step, self.trainer.steps_per_epoch)
        name = command.command
        if name == "pause":
            if self.paused:
                yield self._answer(command, False, "already paused")
                return
            self.paused = True
            yield self._paused(epoch)
            yield self._answer(command, True, f"paused at {where}")
        elif name == "resume":
            if not self.paused:
                yield self._answer(command, False, "not paused")
                return
            self.paused = False
            yield RunResumed(run_id=self.run_id, epoch=epoch, step=step)
            yield self._answer(command, True, f"resumed at {where}")
        elif name == "step":
            if not self.paused:
                yield self._answer(command, False, "step trains one report interval while paused: pause first")
                return
            self.step_batches = self.config.report_every
            yield self._answer(command, True, f"training one report interval ({self.step_batches} batches at most) after {where}")
        elif name == "stop":
            self.stop_requested = True
            yield self._answer(command, True, f"stopping at {where}; last.pt resumes the run")
        elif name == "set":
            try:
                changes = change_settings(self.trainer, self.config, command.values)
            except ConfigError as error:
                yield self._answer(command, False, str(error))
                return
            if not changes:
                yield self._answer(command, True, NO_CHANGE)
                return
            yield SettingsChanged(run_id=self.run_id, epoch=epoch, step=step, changes=changes, source=command.source)
            yield self._answer(command, True, f"{describe_changes(changes)} after {where}")
        else:  # Inbox.put and CommandFile check the names; a new command must be handled above
            yield self._answer(command, False, f"unknown command {name!r}")

    def _paused(self, epoch: int) -> RunPaused:
        return RunPaused(run_id=self.run_id, epoch=epoch, step=self.trainer.global_step)

    def _answer(self, command: Command, accepted: bool, message: str) -> CommandAnswered:
        return CommandAnswered(
            run_id=self.run_id, command_id=command.id, command=command.command,
            accepted=accepted, message=message, source=command.source,
        )

    def _predictions(self) -> Iterator[Event]:
        # torch is imported here, not with the module: the dashboard and the headless printer
        # import describe_step, and load torch only once they train.
        from .predictor import class_probabilities

        for command in self.inbox.take_predictions():
            assert command.pixels is not None  # Inbox.put checks it
            probabilities = class_probabilities(self.trainer.model, command.pixels, self.trainer.device)
            yield DigitPredicted(
                run_id=self.run_id, command_id=command.id, probabilities=probabilities, step=self.trainer.global_step
            )

    def _read_file(self) -> Iterator[Event]:
        if self.file is None:
            return
        for item in self.file.read():
            if isinstance(item, Refused):
                yield CommandAnswered(
                    run_id=self.run_id, command_id=item.id, command=item.command,
                    accepted=False, message=item.reason, source="file",
                )
            else:
                self.inbox.put_command(item)
