"""QA on the Draw view: the run folder's box stays put, and the training model's answer stays fresh."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
from textual.widgets import Input, Static

from mnist_tui.engine.config import Config
from mnist_tui.engine.events import Event
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.draw_view import LIVE, DrawView
from tui_script import ScriptedSource, batch, press, run_async, started, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)
SIZE = (120, 40)


class GatedReports:
    """A run that reports for as long as its gate is open: closed, the engine answers nothing."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()
        """Set while the engine waits at the closed gate (so it takes no command)."""

    def __call__(self, config: Config, run_id: str) -> Iterator[Event]:
        yield started(run_id, config)
        step = 0
        while True:
            while not self.gate.wait(0.01):
                self.waiting.set()
            self.waiting.clear()
            step += 1
            yield batch(run_id, step, loss=1.0)


def label_step(view: DrawView) -> tuple[int, int]:
    """Epoch and step of ``the model training now, epoch 2, step 41``."""
    assert view.model_label.startswith(f"{LIVE}, epoch "), view.model_label
    epoch, step = view.model_label.removeprefix(f"{LIVE}, epoch ").split(", step ")
    return int(epoch), int(step.split()[0].replace(",", ""))


@run_async
async def test_the_training_models_answer_is_renewed_as_it_trains_and_on_coming_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A drawing classified at epoch 581 still said epoch 581 at epoch 1264 (QA): while shown it is
    classified again as training goes on, and at once when the view is shown again; hidden, never."""
    asked: list[str] = []  # when the view asked again: as it was shown, or at a frame tick
    show, schedule = DrawView.on_show_view, DrawView._schedule

    def on_show_view(view: DrawView) -> None:
        asked.append("show")
        show(view)
        asked.append("shown")

    def counted(view: DrawView, delay: float | None) -> None:
        asked.append("ask")
        schedule(view, delay)

    monkeypatch.setattr(DrawView, "on_show_view", on_show_view)
    monkeypatch.setattr(DrawView, "_schedule", counted)
    script = GatedReports()
    source = ScriptedSource(script, pace=0.01)
    app = MnistApp(CONFIG, source=source, preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        # The question of a drawing, answered only once the view is hidden: that answer goes unseen.
        script.gate.clear()
        await wait_until(pilot, script.waiting.is_set, what="the engine waiting at the gate")
        await press(pilot, "3", "space")  # one change: one question
        view = app.query_one(DrawView)
        await wait_until(pilot, lambda: view.awaiting is not None, what="a question on its way")
        await press(pilot, "1")
        await wait_until(pilot, lambda: app.current_view == "TrainView" and not view.display, what="the view hidden")
        assert source.taken("predict") == [] and view.predictions == 0
        script.gate.set()
        await wait_until(pilot, lambda: len(source.taken("predict")) == 1, what="the unseen answer")
        await pilot.pause(2.5)
        assert len(source.taken("predict")) == 1, "a hidden view asks nothing"
        latest = app.run_state.latest

        asked.clear()
        await press(pilot, "3")
        await wait_until(pilot, lambda: view.predictions == 1, what="an answer on coming back")
        assert asked[:3] == ["show", "ask", "shown"], asked  # asked as it was shown, not at the next tick
        first = label_step(view)
        assert first >= (latest.epoch, latest.epoch_step)
        await wait_until(pilot, lambda: view.predictions >= 2, what="an answer of the model trained on")
        assert label_step(view) > first


@run_async
async def test_the_run_folder_box_stays_put_looks_like_a_field_and_keeps_the_keys_typed() -> None:
    """The bars pushed the box from row 26 below the screen at 120x40, and it had no border; QA typed
    a path where it had been, and its x stopped the run."""
    source = ScriptedSource(GatedReports(), pace=0.01)
    app = MnistApp(CONFIG, source=source, preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        await press(pilot, "3")
        await pilot.pause()
        field = app.query_one("#run-folder", Input)
        before = field.region

        view = app.query_one(DrawView)
        await press(pilot, "space", "down", "space")
        await wait_until(pilot, lambda: view.predictions >= 1, what="the prediction and its bars")
        await pilot.pause()
        assert field.region == before and field.region.bottom <= app.screen.region.bottom - 2

        await pilot.click("#run-folder")
        assert app.focused is field
        for key in "/nonexistent/xnpe":
            await press(pilot, key)
        await press(pilot, "enter")
        await pilot.pause()
        assert app.state == "running" and field.value == "/nonexistent/xnpe"
        assert "/nonexistent/xnpe is not a run folder" in str(app.query_one("#folder-error", Static).content)
        assert app.focused is field and field.region == before
        assert app.query_one("#folder-box").styles.border_top[0] == "round"  # a field, not a stray sentence


# --- QA of 2026-12-03 -------------------------------------------------------------------------


def _shown(widget: Static) -> str:
    return " ".join(str(widget.content).split())


@run_async
async def test_escape_in_the_run_folder_field_gives_the_canvas_its_keys_back() -> None:
    """QA: after escape in the field, space and the arrows did nothing until the canvas was clicked."""
    from mnist_tui.tui.draw_canvas import SIDE, DrawCanvas

    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        canvas = app.query_one(DrawCanvas)
        await wait_until(pilot, lambda: app.focused is canvas, what="the Draw view")
        await pilot.click("#run-folder")
        await wait_until(pilot, lambda: app.focused is app.query_one("#run-folder", Input), what="the field focused")
        await press(pilot, "escape")
        await wait_until(pilot, lambda: app.focused is canvas, what="the canvas focused")
        await press(pilot, "up", "space")
        await pilot.pause(0.05)
        x, y = canvas.cursor
        assert (x, y) == (SIDE // 2, SIDE // 2 - 1) and canvas.ink[y * SIDE + x] == 1.0


@run_async
async def test_while_the_run_starts_the_bars_say_the_training_model_is_asked_not_that_there_is_none(tmp_path) -> None:
    """QA: for the seconds a run took to start, "Model: the model training now" stood above "No
    trained model yet: no run has finished an epoch." (the drawing's note from before the start)."""
    from mnist_tui.tui.draw_view import ASKING, NO_MODEL
    from mnist_tui.tui.probability_bars import ProbabilityBars

    script = GatedReports()
    script.gate.clear()  # started, never training: the inbox is not read, so no answer comes
    app = MnistApp(CONFIG, source=ScriptedSource(script, pace=0.01), preset="smoke", runs_dir=tmp_path / "none")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        await wait_until(pilot, lambda: app.current_view == "DrawView", what="the Draw view")
        await press(pilot, "space")
        view, bars = app.query_one(DrawView), app.query_one(ProbabilityBars)
        await wait_until(pilot, lambda: NO_MODEL in _shown(bars), what="the note that no model is trained")
        await press(pilot, "s")
        await wait_until(pilot, lambda: view.model_label == LIVE, what="the training model named")
        try:
            await wait_until(pilot, lambda: ASKING in _shown(bars), timeout=10, what="the bars saying it is asked")
            assert NO_MODEL not in _shown(bars) and bars.probabilities is None
        finally:
            script.gate.set()  # the script's run may end, and the app with it


@run_async
async def test_a_run_folder_typed_during_a_run_says_when_it_takes_over(tmp_path) -> None:
    """QA: a folder typed during a run was taken without a word, and the training model went on answering."""
    folder = tmp_path / "runs" / "older-run"
    folder.mkdir(parents=True)
    (folder / "best.pt").write_bytes(b"")
    app = MnistApp(CONFIG, source=ScriptedSource(GatedReports(), pace=0.01), preset="smoke", runs_dir=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        await press(pilot, "3")
        view, field, note = app.query_one(DrawView), app.query_one("#run-folder", Input), app.query_one("#folder-error", Static)
        field.focus()
        field.value = "older-run"
        await press(pilot, "enter")
        await pilot.pause(0.05)
        assert view.chosen == folder
        assert note.display and "older-run predicts once this run ends" in _shown(note)
        assert note.has_class("-note")  # said in the muted colour, not as an error


@run_async
async def test_a_name_too_long_in_the_run_folder_field_is_refused_and_the_dashboard_stays(tmp_path) -> None:
    """QA: 300 letters and enter closed the dashboard with OSError: File name too long."""
    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke", runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        field = app.query_one("#run-folder", Input)
        field.focus()
        field.value = "a" * 300
        await press(pilot, "enter")
        await pilot.pause(0.05)
        note = app.query_one("#folder-error", Static)
        assert app.is_running and note.display and not note.has_class("-note")
        assert "cannot be looked up: File name too long" in _shown(note)
        assert app.query_one(DrawView).chosen is None


@run_async
async def test_a_refusal_says_which_model_predicts_still_only_when_that_model_can(tmp_path) -> None:
    """QA: with a broken folder chosen, a mistyped one said "predicting with noconfig: best.pt
    (else last.pt) still", naming a model that had just failed to load."""
    broken = tmp_path / "noconfig"
    broken.mkdir()
    (broken / "best.pt").write_bytes(b"not a checkpoint")
    app = MnistApp(CONFIG, source=ScriptedSource(), preset="smoke", runs_dir=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        await wait_until(pilot, lambda: app.current_view == "DrawView", what="the Draw view")
        await press(pilot, "space")
        view = app.query_one(DrawView)
        await wait_until(pilot, lambda: view.prepared is not None, what="the drawing prepared")
        field, note = app.query_one("#run-folder", Input), app.query_one("#folder-error", Static)
        field.focus()
        field.value = str(broken)
        await press(pilot, "enter")
        await pilot.pause(0.05)
        assert view.chosen == broken
        await wait_until(pilot, lambda: view.settled and view.model_label.startswith("noconfig"), what="the failed load")
        field.focus()
        field.value = str(tmp_path / "typo")
        await press(pilot, "enter")
        await pilot.pause(0.05)
        assert "typo is not a run folder" in _shown(note)
        assert "still" not in _shown(note)
