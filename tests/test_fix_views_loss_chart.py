"""QA: a run that diverged in its first steps showed one dot labelled ``7.50001e+14`` at ``0.15625``,
and one that reported no finite loss an empty frame that waited for epochs that would never come."""

from __future__ import annotations

import math
from typing import Iterator

import pytest

from mnist_tui.engine.config import Config
from mnist_tui.engine.events import Event, RunDiverged
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.loss_chart import LossChart, tick_labels
from mnist_tui.tui.run_state import RunState
from test_tui_app import shown_lines
from tui_script import ScriptedSource, batch, press, run_async, started, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=50, lr=1e6)
STEPS = 64


def diverging(first_loss: float) -> object:
    """A run whose report at step 10 says ``first_loss`` and which diverges at step 11."""

    def script(config: Config, run_id: str) -> Iterator[Event]:
        yield started(run_id, config, steps_per_epoch=STEPS)
        yield batch(run_id, 10, steps_per_epoch=STEPS, loss=first_loss)
        yield RunDiverged(run_id=run_id, epoch=1, step=11, loss=8.36084774731776e14)

    return script


async def chart_after_divergence(app: MnistApp, pilot) -> list[str]:  # type: ignore[no-untyped-def]
    await press(pilot, "s")
    await wait_until(pilot, lambda: app.state == "diverged", what="the divergence")
    chart = app.query_one(LossChart)
    chart.draw_now()
    await pilot.pause()
    return shown_lines(chart)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_one_report_before_diverging_has_rounded_labels_on_both_axes(size: tuple[int, int]) -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(diverging(7.50001e14)), preset="smoke")
    async with app.run_test(size=size) as pilot:
        lines = await chart_after_divergence(app, pilot)
        text = "\n".join(lines)
        assert "7.50001e+14" not in text and "0.15625" not in text, text
        (y_axis,) = [line for line in lines if "┤" in line]
        assert y_axis.split("┤")[0].strip() == "7.5e14", text
        x_labels = lines[-1].split()
        assert x_labels == ["0", "1"], text  # the first epoch, which it diverged in


@run_async
async def test_a_lone_report_at_the_end_of_the_first_epoch_is_drawn_on_that_epoch() -> None:
    """QA: a 1-epoch run of 16 batches that reported once, at its last batch, drew an x axis from 1 to 2."""
    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.query_one(LossChart)
        app.run_state.loss.add_batch(1.0, 0.5)  # step 16 of 16
        app.run_state.loss.add_evaluation(1, 0.4)
        chart.show_run(app.run_state)
        chart.draw_now()
        await pilot.pause()
        lines = shown_lines(chart)
        assert lines[-1].split() == ["0", "1"], "\n".join(lines)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_no_finite_report_before_diverging_says_so_in_the_chart(size: tuple[int, int]) -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(diverging(math.nan)), preset="smoke")
    async with app.run_test(size=size) as pilot:
        lines = await chart_after_divergence(app, pilot)
        words = " ".join(" ".join(line.strip("│┌┐└┘─ ") for line in lines).split())
        note = "Diverged at epoch 1, step 11, before it reported any loss to draw: try a smaller learning rate"
        assert note in words, lines

        chart = app.query_one(LossChart)
        chart.show_run(RunState())  # no run shown (the form's next): the note goes with the divergence
        chart.draw_now()
        await pilot.pause()
        assert "Diverged" not in "\n".join(shown_lines(chart))


def test_a_lone_tick_is_rounded_and_round_ticks_keep_what_tells_them_apart() -> None:
    assert tick_labels([7.50001e14]) == ["7.5e14"]
    assert tick_labels([0.15625]) == ["0.156"]
    assert tick_labels([1e-5, 1e-4, 0.001]) == ["1e-5", "0.0001", "0.001"]
    assert tick_labels([2.3025, 2.3026, 2.3027]) == ["2.3025", "2.3026", "2.3027"]  # a loss stuck at ln 10
    assert tick_labels([0.5, 1.0, 2.0]) == ["0.5", "1", "2"]
