"""A scripted event source and event factories for the dashboard's tests (no torch anywhere).

The dashboard takes any callable ``(config, run_id, stop, inbox) -> events`` as its source; these
tests pass :class:`ScriptedSource`, which plays fixed events with fixed numbers (the snapshots
depend on it), records every config and stop flag it was given, and honours the stop flag as the
engine does: once ``stop.is_set()``, it yields one :class:`RunStopped` and ends. It answers the
inbox's commands between two events as the engine answers them between batches (see
:class:`Steered`): the real :class:`~mnist_tui.engine.commands.Inbox` carries them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Iterator

from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget

from mnist_tui.engine.commands import NO_CHANGE, Command, Inbox
from mnist_tui.engine.config import Config
from mnist_tui.engine.events import (
    BatchReported,
    CommandAnswered,
    DigitPredicted,
    ConfusionCounted,
    EpochEnded,
    LayersMeasured,
    MistakesFound,
    WeightsSampled,
    Event,
    RunFailed,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    SamplesPredicted,
    SettingsChanged,
    Terminal,
)
from mnist_tui.engine.settings import describe_changes
from mnist_tui.engine.steering import describe_step
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.laid_lines import LaidLines
from mnist_tui.tui.source import StopFlag

Script = Callable[[Config, str], Iterable[Event]]
"""What a run plays: the events of one run, made for the run id the app chose."""

STEPS_PER_EPOCH = 100
CLASS_NAMES = tuple(str(digit) for digit in range(10))
RUN_DIR = "runs/scripted-run"

# --- events with fixed numbers ------------------------------------------------------------------


def started(run_id: str, config: Config, *, steps_per_epoch: int = STEPS_PER_EPOCH) -> RunStarted:
    """The run begins on a pretend CPU with a fixed run folder (never the run id: it holds the time)."""
    return RunStarted(
        run_id=run_id,
        config=config.to_dict(),
        device="cpu",
        train_size=steps_per_epoch * config.batch_size,
        eval_size=1000,
        eval_name="official test set",
        steps_per_epoch=steps_per_epoch,
        start_epoch=0,
        start_step=0,
        run_dir=RUN_DIR,
        parameters=407_050,
    )


def batch(
    run_id: str, step: int, *, steps_per_epoch: int = STEPS_PER_EPOCH, loss: float | None = None
) -> BatchReported:
    """The report at global ``step`` (from 1); the loss falls from 2.3 unless given."""
    epoch, epoch_step = divmod(step - 1, steps_per_epoch)
    return BatchReported(
        run_id=run_id,
        epoch=epoch + 1,
        step=step,
        epoch_step=epoch_step + 1,
        steps_per_epoch=steps_per_epoch,
        loss=2.3 / (1 + step / 20) if loss is None else loss,
        lr=0.001,
        samples_per_second=12_800.0,
    )


def epoch_ended(run_id: str, epoch: int, epochs: int, accuracies: tuple[float, ...]) -> EpochEnded:
    """The end of ``epoch`` (from 1); ``accuracies`` are the evaluation accuracies of epochs 1..epoch."""
    accuracy = accuracies[epoch - 1]
    best = max(range(epoch), key=lambda index: accuracies[index])
    return EpochEnded(
        run_id=run_id,
        epoch=epoch,
        epochs=epochs,
        train_loss=0.5 / epoch,
        train_accuracy=accuracy - 1.0,
        eval_loss=0.4 / epoch,
        eval_accuracy=accuracy,
        seconds=3.5,
        eval_seconds=0.25,
        best_epoch=best + 1,
        best_accuracy=accuracies[best],
    )


# A 3x5 font, scaled up into 28x28 digits so the gallery shows recognisable pixel art.
FONT = {
    0: ("111", "101", "101", "101", "111"),
    1: ("010", "110", "010", "010", "111"),
    2: ("111", "001", "111", "100", "111"),
    3: ("111", "001", "111", "001", "111"),
    4: ("101", "101", "111", "001", "001"),
    5: ("111", "100", "111", "001", "111"),
    6: ("111", "100", "111", "101", "111"),
    7: ("111", "001", "010", "010", "010"),
    8: ("111", "101", "111", "101", "111"),
    9: ("111", "101", "111", "001", "111"),
}


def digit_image(digit: int) -> bytes:
    """28x28 greyscale bytes of ``digit``: 4x4-pixel strokes, white on black."""
    pixels = bytearray(28 * 28)
    for row, line in enumerate(FONT[digit]):
        for column, on in enumerate(line):
            if on == "1":
                for y in range(4 + row * 4, 8 + row * 4):
                    for x in range(8 + column * 4, 12 + column * 4):
                        pixels[y * 28 + x] = 255
    return bytes(pixels)


def samples(run_id: str, epoch: int, *, wrong: tuple[int, ...] = (3, 8)) -> SamplesPredicted:
    """Ten digits 0..9; the cards at the indices in ``wrong`` are predicted as the next digit."""
    labels = tuple(range(10))
    predictions = tuple((label + 1) % 10 if label in wrong else label for label in labels)
    confidences = tuple(0.55 if label in wrong else 0.97 for label in labels)
    return SamplesPredicted(
        run_id=run_id,
        epoch=epoch,
        images=tuple(digit_image(label) for label in labels),
        labels=labels,
        predictions=predictions,
        confidences=confidences,
        class_names=CLASS_NAMES,
    )


EVAL_SIZE = 1000


def confusion(run_id: str, epoch: int) -> ConfusionCounted:
    """100 digits of each class; class k is taken for k+1 in ``5 - epoch`` cases (at least 1) and for k+3 once."""
    wrong = max(1, 5 - epoch)
    rows = []
    for k in range(10):
        row = [0] * 10
        row[(k + 1) % 10] = wrong
        row[(k + 3) % 10] += 1
        row[k] = 100 - sum(row)
        rows.append(tuple(row))
    return ConfusionCounted(run_id=run_id, epoch=epoch, matrix=tuple(rows), class_names=CLASS_NAMES)


def mistakes(run_id: str, epoch: int, per_cell: int = 3) -> MistakesFound:
    """The mistakes of :func:`confusion`, at most ``per_cell`` per cell, drawn as their true digit."""
    matrix = confusion(run_id, epoch).matrix
    indices, labels, predictions, confidences = [], [], [], []
    for true in range(10):
        for predicted in range(10):
            for n in range(min(per_cell, matrix[true][predicted] if true != predicted else 0)):
                indices.append(true * 100 + predicted * 10 + n)
                labels.append(true)
                predictions.append(predicted)
                confidences.append(round(0.9 - 0.1 * n, 2))
    return MistakesFound(
        run_id=run_id, epoch=epoch, indices=tuple(indices), labels=tuple(labels), predictions=tuple(predictions),
        confidences=tuple(confidences), images=tuple(digit_image(label) for label in labels),
    )


def weights(run_id: str, epoch: int, units: int = 8) -> WeightsSampled:
    """``units`` tiles: a horizontal gradient from negative to positive, shifted by the unit."""
    images = tuple(bytes((x * 9 + u * 16) % 256 for y in range(28) for x in range(28)) for u in range(units))
    return WeightsSampled(run_id=run_id, epoch=epoch, layer=0, units=tuple(range(units)), images=images, scale=0.25)


def layers(run_id: str, epoch: int) -> LayersMeasured:
    return LayersMeasured(
        run_id=run_id, epoch=epoch, sizes=(64,), dead=(0.125,), weight_norms=(3.5 + epoch,), grad_norms=(0.5 / epoch,)
    )


def inspection(run_id: str, epoch: int) -> list[Event]:
    """The inspection events the engine yields after an epoch."""
    return [confusion(run_id, epoch), mistakes(run_id, epoch), weights(run_id, epoch), layers(run_id, epoch)]


def finished(run_id: str, accuracies: tuple[float, ...]) -> RunFinished:
    best = max(range(len(accuracies)), key=lambda index: accuracies[index])
    return RunFinished(
        run_id=run_id,
        final_accuracy=accuracies[-1],
        best_accuracy=accuracies[best],
        best_epoch=best + 1,
        epochs_completed=len(accuracies),
        train_seconds=7.0,
    )


# --- scripts ------------------------------------------------------------------------------------

ACCURACIES = (95.5, 97.25, 96.75)
"""Evaluation accuracies of epochs 1, 2, 3 (and again from 4): the best is epoch 2, so the star moves once."""


def training_run(*, end: bool = True, until_step: int | None = None) -> Script:
    """A whole run of ``config.epochs`` epochs with a report every ``config.report_every`` steps.

    Started, samples before training (all wrong), then per epoch its reports, its end and its
    samples (two wrong), then finished. With ``end=False`` the run stays running after its last
    epoch; with ``until_step`` it stays running after the report of that step.
    """

    def script(config: Config, run_id: str) -> Iterator[Event]:
        epochs = config.epochs
        accuracies = tuple(ACCURACIES[i % len(ACCURACIES)] for i in range(epochs))
        yield started(run_id, config)
        yield samples(run_id, 0, wrong=tuple(range(10)))
        for epoch in range(1, epochs + 1):
            first = (epoch - 1) * STEPS_PER_EPOCH
            for step in range(first + config.report_every, first + STEPS_PER_EPOCH + 1, config.report_every):
                yield batch(run_id, step)
                if step == until_step:
                    return
            yield epoch_ended(run_id, epoch, epochs, accuracies)
            yield from inspection(run_id, epoch)  # in the engine's order: inspection, then the gallery
            yield samples(run_id, epoch)
        if end:
            yield finished(run_id, accuracies)

    return script


def endless_reports(config: Config, run_id: str) -> Iterator[Event]:
    """A run that reports forever (until stopped): for pausing and stopping."""
    yield started(run_id, config)
    step = 0
    while True:
        step += 1
        yield batch(run_id, step, loss=1.0)


def failing_run(error: str = "CUDA error: out of memory") -> Script:
    """A run that fails after a few reports of its first epoch, as the engine reports a failure."""

    def script(config: Config, run_id: str) -> Iterator[Event]:
        yield started(run_id, config)
        yield samples(run_id, 0, wrong=tuple(range(10)))
        for step in range(5, 45, 5):
            yield batch(run_id, step)
        yield RunFailed(run_id=run_id, error=error, reason="error")

    return script


def raising_run(error: BaseException) -> Script:
    """A source that breaks: it starts, then raises ``error`` in the worker thread."""

    def script(config: Config, run_id: str) -> Iterator[Event]:
        yield started(run_id, config)
        raise error

    return script


# --- the source ---------------------------------------------------------------------------------


def fake_probabilities(pixels: bytes) -> tuple[float, ...]:
    """A stand-in classifier: how much the digit overlaps each class's font glyph (:func:`digit_image`).

    The overlap is intersection over union of the ink, turned into probabilities by a softmax; a
    thin vertical stroke comes out as 1, a ring as 0.
    """
    scores = []
    for digit in range(10):
        glyph = digit_image(digit)
        both = sum(min(a, b) for a, b in zip(pixels, glyph))
        either = sum(max(a, b) for a, b in zip(pixels, glyph))
        scores.append(both / either if either else 0.0)
    exps = [math.exp(20 * score) for score in scores]
    return tuple(round(e / sum(exps), 6) for e in exps)


@dataclass
class Call:
    """One start of a run: what the app gave the source."""

    config: Config
    run_id: str
    stop: StopFlag
    inbox: Inbox | None = None
    preset: str | None = None
    resume: Path | None = None


class Steered:
    """The engine's side of the inbox, for a scripted run: each command answered as ``engine/steering.py`` does.

    pause -> RunPaused and an answer; resume -> RunResumed; step (while paused) -> the events up
    to the next report, then RunPaused; set -> SettingsChanged at the current step (later reports
    carry the new lr); predict -> DigitPredicted from :func:`fake_probabilities`; stop -> the run stops.
    """

    def __init__(self, run_id: str, config: Config, inbox: Inbox, stop: StopFlag, taken: list[Command]) -> None:
        self.run_id, self.inbox, self.stop, self.taken = run_id, inbox, stop, taken
        self.settings = {"lr": config.lr, "momentum": config.momentum, "weight_decay": config.weight_decay}
        self.paused = False
        self.stepping = False
        self.stop_requested = False
        self.epoch, self.step = 1, 0
        self.steps_per_epoch = STEPS_PER_EPOCH

    def played(self, event: Event) -> Event:
        """An event about to be yielded, as the engine would have reported it now."""
        if isinstance(event, RunStarted):
            self.steps_per_epoch = event.steps_per_epoch
        if isinstance(event, BatchReported):
            self.epoch, self.step = event.epoch, event.step
            return dataclasses.replace(event, lr=self.settings["lr"])
        return event

    def between(self, after: Event | None) -> Iterator[Event]:
        """What the engine yields between ``after`` and the next event; while paused, it waits here."""
        if self.stepping and isinstance(after, BatchReported):
            self.stepping, self.paused = False, True
            yield RunPaused(run_id=self.run_id, epoch=self.epoch, step=self.step)
        yield from self._predictions()
        while not self.stepping and (self.inbox.waiting or self.paused):
            command = self.inbox.take()
            if command is not None:
                self.taken.append(command)
                yield from self._act(command)
                if self.stop_requested:
                    return
            elif self.stop.is_set():
                return
            else:
                self.inbox.wait(0.02)
                yield from self._predictions()

    def _act(self, command: Command) -> Iterator[Event]:
        name = command.command
        accepted, message = True, name
        if name == "pause" and not self.paused:
            self.paused = True
            yield RunPaused(run_id=self.run_id, epoch=self.epoch, step=self.step)
        elif name == "resume" and self.paused:
            self.paused = False
            yield RunResumed(run_id=self.run_id, epoch=self.epoch, step=self.step)
        elif name == "step" and self.paused:
            self.paused, self.stepping = False, True
        elif name == "stop":
            self.stop_requested = True
        elif name == "set":
            changes = {key: [self.settings[key], float(value)] for key, value in command.values.items()}
            changes = {key: change for key, change in changes.items() if change[0] != change[1]}
            if changes:
                self.settings.update({key: new for key, (_, new) in changes.items()})
                yield SettingsChanged(run_id=self.run_id, epoch=self.epoch, step=self.step, changes=changes, source="inbox")
                where = describe_step(self.epoch, self.step, self.steps_per_epoch)
                message = f"{describe_changes(changes)} after {where}"  # the engine's words
            else:
                message = NO_CHANGE  # as the engine answers
        else:
            accepted, message = False, f"{name} does not apply now"
        yield CommandAnswered(
            run_id=self.run_id, command_id=command.id, command=name, accepted=accepted, message=message, source="inbox"
        )

    def _predictions(self) -> Iterator[Event]:
        for command in self.inbox.take_predictions():
            self.taken.append(command)
            assert command.pixels is not None
            yield DigitPredicted(
                run_id=self.run_id, command_id=command.id, probabilities=fake_probabilities(command.pixels), step=self.step
            )


class ScriptedSource:
    """An event source that plays ``script`` for each run, one event at a time, as the engine would.

    After the script's last event without a terminal one, the run goes on (no events) until the stop
    flag is set. ``pace`` sleeps between events, like the time a report takes to train.
    """

    def __init__(
        self, script: Script | None = None, *, pace: float = 0.0, fail_on_stop: Exception | None = None
    ) -> None:
        self.script = script or training_run()
        self.pace = pace
        self.fail_on_stop = fail_on_stop
        """Raised instead of yielding RunStopped (an engine whose last checkpoint cannot be written)."""
        self.calls: list[Call] = []
        self.commands: list[Command] = []
        """Every command the runs took from their inboxes, in order."""
        self.played_out = threading.Event()
        """Set when the latest run has yielded every scripted event and is only waiting to stop."""

    def __call__(
        self, config: Config, run_id: str, stop: StopFlag, inbox: Inbox | None = None, *,
        preset: str | None = None, resume: Path | None = None,
    ) -> Iterator[Event]:
        self.calls.append(Call(config, run_id, stop, inbox, preset, resume))
        self.played_out.clear()
        return self._play(config, run_id, stop, inbox)

    def taken(self, name: str) -> list[Command]:
        """The commands called ``name`` the runs took so far."""
        return [command for command in self.commands if command.command == name]

    @property
    def last(self) -> Call:
        assert self.calls, "the source was never started"
        return self.calls[-1]

    def _play(self, config: Config, run_id: str, stop: StopFlag, inbox: Inbox | None = None) -> Iterator[Event]:
        steered = Steered(run_id, config, inbox or Inbox(), stop, self.commands)
        epoch, step, epochs_completed = 1, 0, 0
        previous: Event | None = None
        for event in self.script(config, run_id):
            if not isinstance(event, RunStarted):  # the engine takes commands once it trains
                yield from steered.between(previous)
            if stop.is_set() or steered.stop_requested:
                yield self._stopped(run_id, epoch, step, epochs_completed)
                return
            event = steered.played(event)
            if isinstance(event, BatchReported):
                epoch, step = event.epoch, event.step
            elif isinstance(event, EpochEnded):
                epochs_completed = event.epoch
            yield event
            previous = event
            if isinstance(event, Terminal):
                return
            if self.pace:
                time.sleep(self.pace)
        self.played_out.set()
        while not stop.is_set() and not steered.stop_requested:
            yield from steered.between(previous)
            previous = None
            time.sleep(0.01)
        yield self._stopped(run_id, epoch, step, epochs_completed)

    def _stopped(self, run_id: str, epoch: int, step: int, epochs_completed: int) -> RunStopped:
        if self.fail_on_stop is not None:
            raise self.fail_on_stop
        return RunStopped(run_id=run_id, epoch=epoch, step=step, epochs_completed=epochs_completed)


# --- running and waiting on the app -------------------------------------------------------------------------


def error_shown(app: App[Any], name: str) -> str | None:
    """The error under field ``name``, or None while it is hidden (or before its first error)."""
    error = app.query_one(ConfigForm).error_line(name)
    return str(error.content) if error is not None and error.display else None


def laid_text(pane: Widget, *, in_view: bool = False) -> list[str]:
    """The lines of a pane drawn by a :class:`LaidLines` (the gallery, the weight tiles), as plain
    text; ``in_view``: only those its scrolling box shows."""
    laid = pane.query_one(LaidLines)
    lines = ["".join(segment.text for segment in line) for line in laid.lines_at(laid.size.width)]
    if in_view:
        top = round(pane.scroll_y)
        lines = lines[top : top + pane.scrollable_content_region.height]
    return lines


async def wait_until(pilot: Pilot, condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds (events come from a thread, so they take a moment).

    The default is generous: it only costs time when the test fails, and a busy CI machine took
    more than 5 s for things that take a tenth of that here.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.01)
    await pilot.pause(0)


async def press(pilot: Pilot, *keys: str) -> None:
    """Press ``keys`` as the terminal would, and let the app handle each one.

    ``Pilot.press`` also waits for the whole process to go idle, which it never does while a run
    streams events (up to two seconds a key); ``simulate_key`` sends the same key event.
    """
    for key in keys:
        pilot.app.simulate_key(key)
        await pilot.pause(0)


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test in its own event loop (the project has no pytest-asyncio)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
