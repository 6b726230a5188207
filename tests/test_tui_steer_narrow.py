"""Steering the dashboard's own run with ``e`` (the settings line), where the form hides during a
run (below 110 columns) and where it stays; and the step a stop names, counted as the progress
pane counts it. Driven by Pilot with the scripted source (no torch)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mnist_tui.engine.events import RunDiverged
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.key_bar import KeyBar
from mnist_tui.tui.quick_text import QuickText
from mnist_tui.tui.run_progress import RunProgress, describe_end
from mnist_tui.tui.steer_bar import SteerBar
from tui_script import STEPS_PER_EPOCH, ScriptedSource, endless_reports, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3, lr=0.001)


def make_app(source: ScriptedSource) -> MnistApp:
    return MnistApp(CONFIG, source=source, preset="smoke")


def e_enabled(app: MnistApp) -> bool:
    bar = app.query_one(KeyBar)
    return bar.enabled[[key.key for key in bar.keys].index("e")]


def notes(app: MnistApp) -> list[str]:
    return [str(note.message) for note in app._notifications]


def numbers(app: MnistApp) -> str:
    return " ".join(str(app.query_one("#numbers", QuickText).content).split())


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
@run_async
async def test_e_sets_the_runs_lr_whether_or_not_the_form_shows(size: tuple[int, int]) -> None:
    """At 80x24 and 100x30 the form hides during a run, and nothing could change lr or momentum."""
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=size) as pilot:
        steer = app.query_one(SteerBar)
        assert not e_enabled(app), "idle: no run to steer"
        await press(pilot, "e")
        assert not steer.is_open

        await press(pilot, "s")
        await wait_until(pilot, lambda: app.query_one(RunProgress).step > 10, what="reports")
        assert app.query_one("#sidebar").display == (size[0] >= 110)
        assert e_enabled(app) and "e Set lr…" in str(app.query_one(KeyBar).render())
        await press(pilot, "e")
        assert steer.is_open and app.focused is steer
        await pilot.press(*"lr=0.0001", "enter")
        await wait_until(pilot, lambda: source.taken("set"), what="the set command")
        (command,) = source.taken("set")
        assert dict(command.values) == {"lr": 0.0001}, "the command the form's lr field sends"
        assert not steer.is_open and app.focused is None, "the run's keys work again"
        await wait_until(
            pilot, lambda: any(note.startswith("Changed: lr 0.001 -> 0.0001") for note in notes(app)),
            what="the engine's answer, confirmed as the form's is",
        )
        await wait_until(pilot, lambda: "lr 0.0001" in numbers(app), what="the new lr in the progress pane")


async def settings_line_of_a_run(pilot: Any, app: MnistApp) -> SteerBar:
    """Start the run, then open the settings line with ``e``."""
    await press(pilot, "s")
    await wait_until(pilot, lambda: app.state == "running", what="the run")
    await press(pilot, "e")
    return app.query_one(SteerBar)


@run_async
async def test_a_bad_setting_is_told_and_kept_and_nothing_is_sent() -> None:
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        steer = await settings_line_of_a_run(pilot, app)
        await pilot.press(*"lr=-1", "enter")
        await wait_until(pilot, lambda: any("lr must be greater than 0, not -1.0" in note for note in notes(app)))
        assert steer.is_open and steer.value == "lr=-1", "the typed text stays to be fixed"
        await pilot.press("escape")
        assert not steer.is_open
        assert source.taken("set") == []


@run_async
async def test_the_settings_line_closes_when_the_run_ends_and_a_late_one_is_refused() -> None:
    source = ScriptedSource(training_run(), pace=0.02)
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        steer = await settings_line_of_a_run(pilot, app)
        await pilot.press(*"lr=0.0001")
        await wait_until(pilot, lambda: app.state == "finished", what="the run's end")
        assert not steer.is_open and app.focused is None and not e_enabled(app)
        app.post_message(SteerBar.SettingsTyped({"lr": 0.0001}))  # sent as the run ended
        await wait_until(pilot, lambda: "Not changed: no run is training now." in notes(app))
        assert source.taken("set") == []


@run_async
async def test_a_stop_names_the_step_the_progress_pane_shows() -> None:
    """Stopped at the run's step 150 said "step 150" under a pane counting "step 50/100" in epoch 2."""
    app = make_app(ScriptedSource(training_run(end=False, until_step=STEPS_PER_EPOCH + 50)))
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "s")
        progress = app.query_one(RunProgress)
        await wait_until(pilot, lambda: progress.step == STEPS_PER_EPOCH + 50, what="the script")
        await pilot.pause(0.2)
        assert f"step 50/{STEPS_PER_EPOCH}" in numbers(app)
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        assert numbers(app).startswith("Stopped at epoch 2, step 50 ")
        assert any(note.startswith("Stopped at epoch 2, step 50;") for note in notes(app))


def test_a_divergence_names_its_step_within_the_epoch() -> None:
    diverged = RunDiverged(run_id="r", epoch=2, step=STEPS_PER_EPOCH + 7, loss=math.nan)
    assert describe_end(diverged, STEPS_PER_EPOCH)[0].startswith("Diverged at epoch 2, step 7 (loss nan)")
