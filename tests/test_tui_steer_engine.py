"""Steering the real engine from the dashboard (Pilot, the smoke data): a live lr change logged at
the step it took effect, carried by every later report, marked on the chart and kept by
``--resume``; ``n`` while paused trains exactly one report interval; the Draw view classifies
with the training model and then with the run's best.pt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from textual.widgets import Input

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.draw_canvas import DrawCanvas
from mnist_tui.tui.draw_view import LIVE, DrawView
from mnist_tui.tui.loss_chart import LossChart
from mnist_tui.tui.source import engine_source
from test_tui_steer import marker_columns
from tui_script import press, run_async, wait_until

SIZE = (120, 40)


def logged(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_live_lr_change_is_logged_at_its_step_carried_on_marked_and_resumed(
    data_dir: Path, tmp_path: Path, cli: Callable
) -> None:
    runs = tmp_path / "runs"
    # 40 epochs of 79 batches: far more than the test waits for, so it is mid-run when it acts.
    config = load_preset("smoke").replace(lr=0.001, epochs=40, train_limit=5000, device="cpu")
    every = config.report_every
    source = engine_source(data_dir=data_dir, runs_dir=runs)
    app = MnistApp(config, source=source, preset="smoke", runs_dir=runs)

    @run_async
    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "s")
            await wait_until(pilot, lambda: app.run_state.latest is not None, timeout=60, what="the first report")
            await press(pilot, "p")
            await wait_until(pilot, lambda: app.state == "paused", timeout=30, what="the engine's pause")
            paused_at = app.run_state.latest.step

            # n: one report interval, then paused again.
            await press(pilot, "n")
            await wait_until(pilot, lambda: app.run_state.latest.step != paused_at, timeout=30, what="the step")
            await pilot.pause(0.5)
            assert app.state == "paused"
            # One interval, or to the epoch's end if that comes first (CI paused at step 78 of 79).
            steps = app.run_state.latest.steps_per_epoch
            assert app.run_state.latest.step == min(paused_at + every, (paused_at // steps + 1) * steps)
            step = app.run_state.latest.step

            # lr 0.001 -> 0.0001, typed into the form while paused: it takes effect at this step.
            lr = app.query_one("#field-lr", Input)
            lr.focus()
            await pilot.press("ctrl+a", "ctrl+k", *"0.0001", "enter")
            await wait_until(pilot, lambda: app.run_state.changes, timeout=30, what="the changed event")
            assert app.run_state.changes[0].step == step

            # The Draw view asks the training model.
            await press(pilot, "3", "space", "down", "space", "down", "space")
            view = app.query_one(DrawView)
            await wait_until(pilot, lambda: view.predictions == 1, timeout=30, what="the training model's answer")
            latest = app.run_state.latest  # paused: the pane's last report is where the model answered
            assert view.model_label == f"{LIVE}, epoch {latest.epoch}, step {latest.epoch_step:,}"
            assert len(app.query_one(DrawCanvas).ink) == 784
            await press(pilot, "1")

            await press(pilot, "p")
            await wait_until(pilot, lambda: app.run_state.latest.step >= step + 3 * every, timeout=60, what="reports")
            chart = app.query_one(LossChart)
            chart.draw_now()
            await pilot.pause()
            assert len(marker_columns(chart)) == 1
            await press(pilot, "x")
            await wait_until(pilot, lambda: app.state == "stopped", timeout=60, what="the stop")

            # Stopped: the Draw view classifies with the run's saved model.
            await press(pilot, "3", "space")
            # Coming back asks the saved model, and so does the stroke after it: one answer or two.
            saved = ("best.pt of ", "last.pt of ")
            await wait_until(
                pilot, lambda: view.settled and view.model_label.startswith(saved), timeout=60, what="the saved model's answer"
            )
            assert view.predictions >= 2

    drive()

    (run_dir,) = runs.iterdir()
    events = logged(run_dir)
    (changed,) = [e for e in events if e["event"] == "changed"]
    assert changed["changes"] == {"lr": [0.001, 0.0001]} and changed["source"] == "inbox"
    batches = [e for e in events if e["event"] == "batch"]
    assert {b["lr"] for b in batches if b["step"] <= changed["step"]} == {0.001}
    assert {b["lr"] for b in batches if b["step"] > changed["step"]} == {0.0001}
    paused = [e["step"] for e in events if e["event"] == "paused"]
    steps = batches[0]["steps_per_epoch"]
    interval = min(paused[0] + load_preset("smoke").report_every, (paused[0] // steps + 1) * steps)
    assert paused[1] == interval, "n trained one report interval, or to the epoch's end"
    assert events[-1]["event"] == "stopped"
    assert not any(e["event"] == "prediction" for e in events), "predictions are not recorded"

    upto = str(events[-1]["epochs_completed"] + 1)  # the stopped epoch, to its end
    resumed = cli("--no-ui", "--jsonl", "--resume", str(run_dir), "--epochs", upto, "--data-dir", str(data_dir))
    assert resumed.returncode == 0, resumed.stderr
    lines = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert lines[0]["event"] == "run_started" and lines[0]["config"]["lr"] == 0.0001
    assert {e["lr"] for e in lines if e["event"] == "batch"} == {0.0001}
    assert lines[-1]["event"] == "finished"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_at_80x24_e_changes_lr_and_names_the_step_the_progress_pane_shows(data_dir: Path, tmp_path: Path) -> None:
    """The form hides during a run below 110 columns: ``e`` sets lr there. Its confirmation said
    "from step 86" under a pane counting "epoch 2 ... step 7/79"; now both count within the epoch."""
    runs = tmp_path / "runs"
    config = load_preset("smoke").replace(lr=0.001, epochs=40, train_limit=5000, device="cpu")
    app = MnistApp(config, source=engine_source(data_dir=data_dir, runs_dir=runs), preset="smoke", runs_dir=runs)

    @run_async
    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await press(pilot, "s")
            await wait_until(
                pilot, lambda: app.run_state.latest is not None and app.run_state.latest.epoch == 2,
                timeout=120, what="a report of epoch 2",
            )
            await press(pilot, "p")
            await wait_until(pilot, lambda: app.state == "paused", timeout=30, what="the engine's pause")
            assert not app.query_one("#sidebar").display
            latest = app.run_state.latest
            await press(pilot, "e")
            await pilot.press(*"lr=0.0001", "enter")
            where = f"epoch {latest.epoch}, step {latest.epoch_step}"
            await wait_until(
                pilot, lambda: any(str(n.message) == f"Changed: lr 0.001 -> 0.0001 after {where}" for n in app._notifications),
                timeout=30, what=f"the confirmation naming {where}",
            )
            numbers = " ".join(str(app.query_one("#numbers").content).split())
            assert f"step {latest.epoch_step}/{latest.steps_per_epoch}" in numbers and "lr 0.0001" in numbers
            await press(pilot, "x")
            await wait_until(pilot, lambda: app.state == "stopped", timeout=60, what="the stop")

    drive()
    (run_dir,) = runs.iterdir()
    events = logged(run_dir)
    changed = next(i for i, e in enumerate(events) if e["event"] == "changed")
    before = [e for e in events[:changed] if e["event"] == "batch"][-1]
    assert events[changed]["step"] == before["step"], "the log keeps the run's step"


def test_the_forms_live_settings_are_those_the_engines_optimizers_hold() -> None:
    """The form (no torch) keeps a table of what each optimizer can change; the engine's optimizers decide."""
    import torch

    from mnist_tui.engine.commands import SETTINGS
    from mnist_tui.engine.config import OPTIMIZERS, Config
    from mnist_tui.engine.optim import build_optimizer
    from mnist_tui.tui.live_settings import LIVE_SETTINGS

    assert set(LIVE_SETTINGS) == set(OPTIMIZERS)
    model = torch.nn.Linear(4, 2)
    for name in OPTIMIZERS:
        group = build_optimizer(Config(optimizer=name), model, torch.device("cpu")).param_groups[0]
        assert LIVE_SETTINGS[name] == tuple(key for key in SETTINGS if key in group), name
