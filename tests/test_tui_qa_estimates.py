"""QA: the time left counts whole epochs (evaluation, probes, checkpoints), not training alone."""

from __future__ import annotations

import pytest

from mnist_tui.engine.events import RunPaused
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.run_progress import RunProgress
from mnist_tui.tui.run_state import RunState
from tui_script import STEPS_PER_EPOCH, ScriptedSource, batch, epoch_ended, run_async, started, training_run

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=20)
RUN = "timed-run"
ACCURACIES = tuple(90.0 + epoch / 10 for epoch in range(20))
EPOCH_WALL = 8.0
"""Seconds each scripted epoch takes on the clock: its events claim 3.75 (3.5 training, 0.25 evaluating)."""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def time_left(progress: RunProgress) -> str:
    text = progress._numbers_text
    return text[text.index("≈") + 1 : text.index("left")].strip()


def started_on_a_clock(app: MnistApp) -> tuple[RunProgress, Clock]:
    """The Progress pane on a clock the test moves, showing the start of a run of CONFIG."""
    progress = app.query_one(RunProgress)
    progress.clock = clock = Clock()
    app.run_state = RunState(run_id=RUN, state="starting")
    app.show_event(started(RUN, CONFIG))
    return progress, clock


@run_async
async def test_the_time_left_counts_the_wall_time_of_whole_epochs() -> None:
    """Epochs whose events say 3.75 s but take 8 s of wall time: after epoch 5 of 20, 15 epochs are
    left, 2:00; by training throughput and evaluation alone it said 0:56."""
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        progress, clock = started_on_a_clock(app)

        def train(first: int, last: int) -> None:
            """Epochs ``first`` to ``last``, EPOCH_WALL each, then the next epoch's first report."""
            for epoch in range(first, last + 1):
                app.show_event(batch(RUN, epoch * STEPS_PER_EPOCH))
                clock.now += EPOCH_WALL
                app.show_event(epoch_ended(RUN, epoch, CONFIG.epochs, ACCURACIES))
            app.show_event(batch(RUN, last * STEPS_PER_EPOCH + 1))
            progress.paint()

        train(1, 5)
        await pilot.pause()
        assert time_left(progress) == "2:00", progress._numbers_text

        # A pause is no epoch's time: the minute paused does not lengthen the estimate.
        app.show_event(RunPaused(run_id=RUN, epoch=6, step=5 * STEPS_PER_EPOCH + 1))
        clock.now += 60
        train(6, 7)
        assert time_left(progress) == "1:44", progress._numbers_text  # 13 epochs of 8 s


@run_async
async def test_a_past_read_in_one_burst_is_timed_by_the_seconds_its_epochs_say() -> None:
    """QA: ``watch`` of a run in progress read its log's past at once, five epochs' ends a moment
    apart on the clock, and said "≈ 0:03 left" for half a minute to go. Each scripted epoch says
    3.75 s (3.5 training, 0.25 evaluating): after epoch 5 of 20, 15 epochs are at least 0:56."""
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        progress, clock = started_on_a_clock(app)
        for epoch in range(1, 6):  # the past: no time passes on the clock
            app.show_event(batch(RUN, epoch * STEPS_PER_EPOCH))
            app.show_event(epoch_ended(RUN, epoch, CONFIG.epochs, ACCURACIES))
        app.show_event(batch(RUN, 5 * STEPS_PER_EPOCH + 1))
        progress.paint()
        await pilot.pause()
        assert time_left(progress) == "0:56", progress._numbers_text

        # Live epochs that take longer on the clock than their events say are timed by the clock.
        for epoch in range(6, 16):
            app.show_event(batch(RUN, epoch * STEPS_PER_EPOCH))
            clock.now += EPOCH_WALL
            app.show_event(epoch_ended(RUN, epoch, CONFIG.epochs, ACCURACIES))
        app.show_event(batch(RUN, 15 * STEPS_PER_EPOCH + 1))
        progress.paint()
        assert time_left(progress) == "0:40", progress._numbers_text  # 5 epochs of 8 s
