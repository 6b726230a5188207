"""QA: on a fast run the time left swung fivefold from one second to the next: ten epochs were a
second of wall time, and a one-second stall among them moved the estimate from 4 to 25 minutes."""

from __future__ import annotations

import dataclasses

import pytest

from mnist_tui.engine.events import RunPaused, RunResumed
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.run_progress import RunProgress
from mnist_tui.tui.run_state import RunState
from test_tui_qa_estimates import Clock
from tui_script import STEPS_PER_EPOCH, ScriptedSource, batch, epoch_ended, run_async, started, training_run

pytestmark = pytest.mark.timeout(60)

EPOCHS = 3000
CONFIG = load_preset("smoke").replace(epochs=EPOCHS)
RUN = "fast-run"
TRAINED = 400
ACCURACIES = tuple(90.0 + epoch / 1000 for epoch in range(TRAINED))
FAST_EPOCH = 0.125
"""Seconds of wall time each epoch takes: 8 epochs a second, as QA's smoke run."""


def seconds_left(progress: RunProgress) -> int:
    text = progress._numbers_text
    minutes, seconds = text[text.index("≈") + 1 : text.index("left")].strip().split(":")
    return int(minutes) * 60 + int(seconds)


@run_async
async def test_a_stall_of_a_second_on_a_fast_run_hardly_moves_the_time_left_nor_does_a_pause() -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(120, 40)):
        progress = app.query_one(RunProgress)
        progress.clock = clock = Clock()
        app.run_state = RunState(run_id=RUN, state="starting")
        app.show_event(started(RUN, CONFIG))
        epoch = 0

        def train(epochs: int, *, stall: float = 0.0) -> int:
            """``epochs`` more epochs of FAST_EPOCH each (the first ``stall`` seconds longer), then
            the next epoch's first report; the time left it shows, in seconds."""
            nonlocal epoch
            for _ in range(epochs):
                epoch += 1
                app.show_event(batch(RUN, (epoch - 1) * STEPS_PER_EPOCH + 1))
                clock.now += FAST_EPOCH + stall
                stall = 0.0
                # As a fast epoch's event says it: less than its wall time (probes and checkpoints).
                app.show_event(dataclasses.replace(epoch_ended(RUN, epoch, EPOCHS, ACCURACIES), seconds=0.1, eval_seconds=0.02))
            app.show_event(batch(RUN, epoch * STEPS_PER_EPOCH + 1))
            progress.paint()
            return seconds_left(progress)

        steady = train(300)  # over half a minute: 2,700 epochs to go at 8 a second, 5:37
        assert abs(steady - (EPOCHS - 300) * FAST_EPOCH) <= 1, progress._numbers_text
        after_stall = train(1, stall=1.0)
        assert after_stall <= steady * 1.05, (steady, after_stall)  # it said 1.8 times as long

        # Paused a minute, then on: the paused time is no epoch's, and the estimate does not start over.
        app.show_event(RunPaused(run_id=RUN, epoch=epoch + 1, step=epoch * STEPS_PER_EPOCH + 1))
        clock.now += 60
        app.show_event(RunResumed(run_id=RUN, epoch=epoch + 1, step=epoch * STEPS_PER_EPOCH + 1))
        resumed = train(1)
        assert abs(resumed - (EPOCHS - epoch) * FAST_EPOCH) <= 0.05 * resumed, (resumed, progress._numbers_text)
