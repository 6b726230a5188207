"""SVG snapshots of the dashboard at 120x40 (and one too small), fed by scripted events with fixed numbers.

Regenerate after a deliberate layout change with
``MNIST_TUI_DATA=../shared/data .venv/bin/python -m pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the new SVGs (``tests/__snapshots__/test_tui_snapshots/``) before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from textual.pilot import Pilot

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.loss_chart import LossChart
from mnist_tui.tui.run_progress import RunProgress
from tui_script import Script, ScriptedSource, failing_run, press, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

SIZE = (120, 40)
CONFIG = load_preset("smoke").replace(epochs=3)


def make_app(script: Script | None = None) -> MnistApp:
    return MnistApp(CONFIG, source=ScriptedSource(script), preset="smoke")


def settle(pilot: Pilot) -> None:
    # Textual draws an indeterminate progress bar (idle, starting) at a position that moves with
    # the wall clock; with animations off it is drawn still, so the snapshot does not depend on time.
    pilot.app.animation_level = "none"


async def settle_chart(pilot: Pilot) -> None:
    """Draw every point that arrived, and paint it."""
    chart = pilot.app.query_one(LossChart)
    chart.draw_now()  # however long the last figure spaces the next (seconds on a slow, busy machine)
    await pilot.pause()
    assert not chart._dirty


def run_until(condition: Callable[[MnistApp], Any]) -> Callable[[Pilot], Any]:
    """A ``run_before`` that presses s and waits until ``condition(app)`` holds and the chart is drawn."""

    async def run_before(pilot: Pilot) -> None:
        settle(pilot)
        app: Any = pilot.app
        await press(pilot, "s")
        await wait_until(pilot, lambda: condition(app), what="the script")
        await settle_chart(pilot)

    return run_before


def test_idle(snap_compare: Any) -> None:
    """The form with the smoke preset, an empty chart, no run yet."""
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settle)


def test_mid_run(snap_compare: Any) -> None:
    """Halfway through epoch 3 of 3: two table rows with the star on epoch 2, the gallery after epoch 2."""
    app = make_app(training_run(until_step=250))
    at_step_250 = run_until(lambda app: app.query_one(RunProgress).step == 250)
    assert snap_compare(app, terminal_size=SIZE, run_before=at_step_250)


def test_finished(snap_compare: Any) -> None:
    app = make_app(training_run())
    assert snap_compare(app, terminal_size=SIZE, run_before=run_until(lambda app: app.state == "finished"))


def test_failed(snap_compare: Any) -> None:
    app = make_app(failing_run("CUDA error: out of memory"))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_until(lambda app: app.state == "failed"))


def test_too_small(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(70, 20), run_before=settle)


def test_inspect(snap_compare: Any) -> None:
    """After a finished run, the Inspect view with the cell 2 → 3 chosen: heatmap, bars, mistakes, weights."""

    async def run_before(pilot: Pilot) -> None:
        await run_until(lambda app: app.state == "finished")(pilot)
        await pilot.press("2", "down", "down", "right", "right", "enter")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_sweep(snap_compare: Any) -> None:
    """The Sweep view mid-sweep: two trials complete (the best ★), one pruned (grey), one running; curves and fields."""
    from mnist_tui.tui.sweep_view import SweepUpdated
    from mnist_tui.tui.trials_table import TrialsTable
    from test_tui_sweep import STEPS

    async def run_before(pilot: Pilot) -> None:
        settle(pilot)
        pilot.app.post_message(SweepUpdated(STEPS[-1]))
        await wait_until(pilot, lambda: pilot.app.query_one(TrialsTable).row_count == 4, what="the trials")

    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke", view="SweepView")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_draw(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The Draw view with a 7 drawn from the keyboard, as the model sees it, and a saved model's bars.

    The saved model is a stand-in (no torch): the script's font-overlap classifier.
    """
    from mnist_tui.tui import saved_model
    from mnist_tui.tui.draw_view import DrawView
    from tui_script import CLASS_NAMES, fake_probabilities

    runs = tmp_path / "runs"
    (runs / "smoke-run").mkdir(parents=True)
    (runs / "smoke-run" / "best.pt").write_bytes(b"")
    monkeypatch.setattr(
        saved_model, "load_model",
        lambda folder: saved_model.SavedModel(folder, folder / "best.pt", 2, 97.25, CLASS_NAMES, fake_probabilities),
    )
    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke", runs_dir=runs)

    async def run_before(pilot: Pilot) -> None:
        settle(pilot)
        await pilot.press("3", *["left"] * 6, *["up"] * 8, "space", *["shift+right"] * 12)
        for _ in range(8):  # the stem, down and to the left
            await pilot.press("shift+down", "shift+down", "shift+left")
        view = pilot.app.query_one(DrawView)
        await wait_until(pilot, lambda: view.settled and view.predictions, what="the prediction")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
