"""The Draw view driven by Pilot: drawing with the mouse and the keyboard, the prepared digit, the
debounced prediction bars and which model gave them. Fed by scripted events; a saved model is a
stand-in (no torch), its pixels classified by the script's font-overlap classifier."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from mnist_tui.engine.events import RunStopped
from mnist_tui.engine.prepare import prepare_digit
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui import saved_model
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.draw_canvas import SIDE, DrawCanvas, brush, stamp, stroke
from mnist_tui.tui.draw_view import EMPTY, LIVE, NO_LABEL, NO_MODEL, DrawView
from mnist_tui.tui.probability_bars import ProbabilityBars, verdict
from mnist_tui.tui.saved_model import SavedModel, newest_trained_run, trained
from tui_script import CLASS_NAMES, ScriptedSource, endless_reports, fake_probabilities, press, run_async, started, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)
SIZE = (120, 40)


def make_app(source: ScriptedSource | None = None, runs_dir: Path | None = None) -> MnistApp:
    return MnistApp(CONFIG, source=source or ScriptedSource(), preset="smoke", runs_dir=runs_dir)


class Loads:
    """A stand-in for the engine's loader: a saved model that classifies with the script's classifier."""

    def __init__(self) -> None:
        self.folders: list[Path] = []
        self.predicted: list[bytes] = []

    def __call__(self, folder: Path) -> SavedModel:
        self.folders.append(folder)

        def predict(pixels: bytes) -> tuple[float, ...]:
            self.predicted.append(pixels)
            return fake_probabilities(pixels)

        return SavedModel(folder, folder / "best.pt", epoch=2, accuracy=97.25, class_names=CLASS_NAMES, predict=predict)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Loads:
    fake = Loads()
    monkeypatch.setattr(saved_model, "load_model", fake)
    return fake


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A runs folder holding one run with a best.pt (the stand-in loader never reads it)."""
    folder = tmp_path / "runs" / "smoke-run"
    folder.mkdir(parents=True)
    (folder / "best.pt").write_bytes(b"")
    return tmp_path / "runs"


def stopped_early(runs: Path, name: str, *, epochs_completed: int = 0) -> Path:
    """A run stopped in its first epoch (by default): only a last.pt, written after every other checkpoint."""
    folder = runs / name
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes(b"")
    (folder / "summary.json").write_text(json.dumps({"status": "stopped", "epochs_completed": epochs_completed}))
    later = max(path.stat().st_mtime for path in runs.glob("*/*.pt")) + 60
    os.utime(folder / "last.pt", (later, later))
    return folder


def at(canvas: DrawCanvas, x: int, y: int) -> float:
    return canvas.ink[y * SIDE + x]


def grid(canvas: DrawCanvas) -> list[list[float]]:
    return [canvas.ink[row * SIDE : (row + 1) * SIDE] for row in range(SIDE)]


def text(widget) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=200, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def drag(pilot, cells: list[tuple[int, int]], button: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Press ``button`` on the first cell of the canvas, move through the others, release on the last."""
    await pilot.mouse_down(DrawCanvas, offset=cells[0], button=button)
    for cell in cells[1:]:
        await pilot.hover(DrawCanvas, offset=cell)
    await pilot.mouse_up(DrawCanvas, offset=cells[-1])


# --- the brush, without the app ---------------------------------------------------------------


def test_the_brush_has_a_solid_core_and_a_grey_rim() -> None:
    assert brush(0.0) == brush(0.9) == 1.0
    assert 0.0 < brush(1.5) < 1.0
    assert brush(2.1) == brush(5.0) == 0.0
    ink = [0.0] * (SIDE * SIDE)
    assert stamp(ink, 0.5, 0.5)  # in the corner: clipped to the canvas
    assert ink[0] == 1.0 and 0.0 < ink[2] < 1.0 and ink[3] == 0.0
    assert not stamp(ink, 0.5, 0.5), "the same stamp again changes nothing"
    assert stamp(ink, 0.5, 0.5, erase=True) and not any(ink)


def test_a_stroke_leaves_no_gaps_however_far_the_pointer_jumped() -> None:
    ink = [0.0] * (SIDE * SIDE)
    stroke(ink, (3.5, 3.5), (3.5, 24.5))
    assert all(ink[y * SIDE + 3] == 1.0 for y in range(3, 25))


# --- the mouse --------------------------------------------------------------------------------


@run_async
async def test_the_left_button_draws_a_soft_stroke_and_the_right_one_erases() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        canvas = app.query_one(DrawCanvas)
        assert app.current_view == "DrawView" and app.focused is canvas and not canvas.compact
        # Each pixel is two cells wide and one row high: cell (28, y) is the left half of pixel (14, y).
        await pilot.mouse_down(DrawCanvas, offset=(28, 4))
        assert app.mouse_captured is canvas
        for y in range(5, 24):
            await pilot.hover(DrawCanvas, offset=(28, y))
        await pilot.mouse_up(DrawCanvas, offset=(28, 23))
        assert app.mouse_captured is None
        for y in range(5, 23):
            assert at(canvas, 13, y) == at(canvas, 14, y) == 1.0
            assert 0.0 < at(canvas, 12, y) < 1.0 and 0.0 < at(canvas, 15, y) < 1.0  # the grey rim
            assert at(canvas, 11, y) == at(canvas, 16, y) == 0.0
        assert not any(canvas.ink[: 2 * SIDE]) and not any(canvas.ink[26 * SIDE :])

        # The right button, dragged across the stroke at row 14, erases it there and only there.
        await drag(pilot, [(20, 14), (28, 14), (36, 14)], button=3)
        assert at(canvas, 13, 14) == at(canvas, 14, 14) == 0.0
        assert at(canvas, 14, 8) == at(canvas, 14, 20) == 1.0

        # A drag may leave the canvas: the mouse stays captured, the stroke goes on where it returns.
        await pilot.mouse_down(DrawCanvas, offset=(6, 2))
        await pilot.hover(DrawCanvas, offset=(6, -2))  # above the canvas, on its border
        assert app.mouse_captured is canvas
        await pilot.hover(DrawCanvas, offset=(6, 10))
        await pilot.mouse_up(DrawCanvas, offset=(6, 10))
        assert all(at(canvas, 3, y) == 1.0 for y in range(1, 10))


@run_async
async def test_a_drag_pressed_elsewhere_paints_nothing_and_one_pressed_on_the_margin_paints_once_inside() -> None:
    """QA: a press on the Prediction pane dragged into the canvas painted a stroke; the press was not
    the canvas's. A press on the canvas's own margin (its box's padding or border) starts a stroke."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        canvas = app.query_one(DrawCanvas)
        from textual import events

        for y in (6, 7, 8):  # MouseMove with the left button held, as a terminal reports a drag
            canvas.post_message(events.MouseMove(canvas, 20, y, 0, 1, 1, False, False, False))
        await pilot.pause()
        assert canvas.empty

        await pilot.mouse_down("#prediction", offset=(4, 2))
        await pilot.hover(DrawCanvas, offset=(20, 6))
        await pilot.hover(DrawCanvas, offset=(20, 9))
        await pilot.mouse_up(DrawCanvas, offset=(20, 9))
        assert canvas.empty and app.mouse_captured is None

        box = app.query_one("#canvas-box")
        left = canvas.content_region.x - box.region.x  # the box's border and padding, left of the canvas
        assert left >= 1
        await pilot.mouse_down("#canvas-box", offset=(0, 8))  # on the box's border, beside row 7
        assert app.mouse_captured is canvas and canvas.empty
        await pilot.hover(DrawCanvas, offset=(-1, 8))  # still beside the canvas: nothing yet
        assert canvas.empty
        for x in (2, 6, 10):
            await pilot.hover(DrawCanvas, offset=(x, 8))
        await pilot.mouse_up(DrawCanvas, offset=(10, 8))
        assert app.mouse_captured is None
        assert all(at(canvas, x, 8) == 1.0 for x in (1, 3, 5)), "the stroke from where it entered"


# --- the keyboard -----------------------------------------------------------------------------


@run_async
async def test_arrows_move_the_cursor_space_paints_backspace_erases_and_c_clears() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        canvas = app.query_one(DrawCanvas)
        assert canvas.cursor == (14, 14) and canvas.empty
        await pilot.press("space")
        assert at(canvas, 14, 14) == 1.0 and 0.0 < at(canvas, 16, 14) < 1.0
        await pilot.press("left", "left", "left", "left", "up", "space")
        assert canvas.cursor == (10, 13) and at(canvas, 10, 13) == 1.0
        await pilot.press("shift+down", "shift+down", "shift+down")
        assert canvas.cursor == (10, 16) and all(at(canvas, 10, y) == 1.0 for y in (13, 14, 15, 16))
        await pilot.press("backspace")
        assert at(canvas, 10, 16) == 0.0 and at(canvas, 10, 13) == 1.0
        for _ in range(40):
            await pilot.press("up")
        assert canvas.cursor == (10, 0)  # the cursor stops at the edge
        await pilot.press("c")
        assert canvas.empty


@run_async
async def test_the_cursor_is_drawn_once_where_it_is_after_moving_over_the_same_ink() -> None:
    """Moving the cursor over blank ink draws it in its new cell only (a cache of each image's rows,
    marked in place, once kept the old cursor drawn too)."""
    from mnist_tui.tui.draw_canvas import CURSOR_DARK

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        canvas = app.query_one(DrawCanvas)
        canvas.focus()
        await pilot.pause()

        def marked() -> int:
            rows = [canvas.render_line(y) for y in range(canvas.size.height)]
            return sum(len(s.text) for row in rows for s in row if s.style and CURSOR_DARK in (s.style.color, s.style.bgcolor))

        first = marked()
        assert first > 0
        for key in ("left", "left", "up", "right", "right", "down"):  # back where it started, over blank ink
            await pilot.press(key)
            assert marked() == first, key


# --- the prepared digit and the prediction ------------------------------------------------------


@run_async
async def test_an_empty_canvas_says_so_and_predicts_nothing(runs: Path, loads: Loads) -> None:
    app = make_app(runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        view, bars = app.query_one(DrawView), app.query_one(ProbabilityBars)
        assert bars.probabilities is None and EMPTY in text(bars)
        await pilot.press("space")
        await wait_until(pilot, lambda: view.predictions == 1, what="the first prediction")
        await pilot.press("c")
        assert bars.probabilities is None and EMPTY in text(bars)
        assert view.prepared is None and view.settled
        await pilot.pause(0.4)  # longer than the debounce: still nothing
        assert view.predictions == 1 and len(loads.predicted) == 1


@run_async
async def test_the_prediction_follows_the_drawing_once_it_pauses(runs: Path, loads: Loads) -> None:
    """Many changes in a burst give one prediction, of the drawing as it ended, prepared as MNIST's."""
    app = make_app(runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        view, canvas, bars = app.query_one(DrawView), app.query_one(DrawCanvas), app.query_one(ProbabilityBars)
        canvas.action_paint()
        for _ in range(12):  # a vertical stroke, twelve changes before the app handles any
            canvas.action_move(0, 1, True)
        await wait_until(pilot, lambda: view.predictions == 1, what="the prediction")
        await pilot.pause(0.4)
        assert view.predictions == 1 and len(loads.predicted) == 1
        expected = prepare_digit(grid(canvas))
        assert view.prepared == expected == loads.predicted[0]
        assert bars.probabilities == fake_probabilities(expected)
        assert verdict(bars.probabilities, CLASS_NAMES).startswith("Prediction: 1 ·")
        assert "Prediction: 1 ·" in text(bars)
        assert view.model_label == "best.pt of smoke-run (epoch 2, 97.25 %)"
        assert f"Model: {view.model_label}" in text(app.query_one("#model"))

        await pilot.press("c")
        for x, y in [(14, 7), (18, 9), (20, 14), (18, 19), (14, 21), (10, 19), (8, 14), (10, 9), (14, 7)]:
            canvas.cursor = (x, y)
            canvas.action_paint()
        await wait_until(pilot, lambda: view.predictions == 2, what="the second prediction")
        assert bars.probabilities == fake_probabilities(prepare_digit(grid(canvas)))
        assert loads.folders == [runs / "smoke-run"], "the model was loaded once"


@run_async
async def test_without_any_saved_run_the_view_says_there_is_no_model(tmp_path: Path, loads: Loads) -> None:
    app = make_app(runs_dir=tmp_path / "nothing-here")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "space")
        view, bars = app.query_one(DrawView), app.query_one(ProbabilityBars)
        await wait_until(pilot, lambda: view.prepared is not None, what="the prepared digit")
        await pilot.pause(0.1)
        assert bars.probabilities is None and NO_MODEL in text(bars)
        assert view.predictions == 0 and loads.folders == []


@run_async
async def test_a_typed_run_folder_is_the_model_and_a_wrong_one_is_refused(runs: Path, tmp_path: Path, loads: Loads) -> None:
    other = tmp_path / "elsewhere" / "older-run"
    other.mkdir(parents=True)
    (other / "last.pt").write_bytes(b"")
    app = make_app(runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "space")
        view = app.query_one(DrawView)
        await wait_until(pilot, lambda: view.predictions == 1)
        folder_input = app.query_one("#run-folder")
        folder_input.focus()
        folder_input.value = str(tmp_path / "no-such-run")
        await pilot.press("enter")
        refused = text(app.query_one("#folder-error"))
        assert "no-such-run is not a run folder" in refused and view.chosen is None
        assert f"predicting with {view.model_label} still" in " ".join(refused.split()), "which model answers now"
        folder_input.value = str(other)
        await pilot.press("enter")
        assert view.chosen == other and text(app.query_one("#folder-error")).strip() == ""
        assert app.focused is app.query_one(DrawCanvas)
        await wait_until(pilot, lambda: view.predictions == 2, what="the prediction with the chosen model")
        assert loads.folders[-1] == other


@run_async
async def test_during_a_run_the_training_model_answers_through_the_inbox(runs: Path, loads: Loads) -> None:
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source, runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        await press(pilot, "3")
        view, canvas, bars = app.query_one(DrawView), app.query_one(DrawCanvas), app.query_one(ProbabilityBars)
        await wait_until(pilot, lambda: view.display and app.focused is canvas, what="the Draw view")
        # What space, down, space do, at once: pressed one by one, a machine that stalls past the
        # 0.15 s debounce between them has the view rightly ask about the one-pixel drawing first.
        canvas.action_paint()
        canvas.action_move(0, 1)
        canvas.action_paint()
        await wait_until(pilot, lambda: view.predictions == 1, what="the training model's answer")
        command = source.taken("predict")[0]  # (a frame tick may ask again once it trained on)
        assert command.pixels == prepare_digit(grid(canvas)) == view.prepared
        assert bars.probabilities == fake_probabilities(command.pixels)
        assert view.model_label.startswith(f"{LIVE}, epoch ")
        assert loads.folders == [], "no saved model while a run trains"

        # Stopped, the run is over: the same drawing is classified by the newest saved model.
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        # (On a busy machine the view may have asked the training model again before the stop: it
        # asks about once a second while the run trains on, so the count alone does not tell.)
        saved = "best.pt of smoke-run (epoch 2, 97.25 %) · the shown run scripted-run has no trained checkpoint"
        await wait_until(pilot, lambda: view.model_label == saved, what="the saved model's prediction")
        # The stopped run (a script's: no folder on disk) is shown, and another run's model stands in.
        assert loads.predicted == [command.pixels]


@run_async
async def test_a_short_terminal_draws_the_canvas_in_half_blocks_and_maps_the_mouse_to_them() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        canvas = app.query_one(DrawCanvas)
        assert canvas.compact and canvas.size == (28, 14)
        await drag(pilot, [(14, 3), (14, 5)])  # one pixel per cell across, two per row
        assert at(canvas, 14, 7) == at(canvas, 14, 10) == 1.0
        assert at(canvas, 14, 2) == 0.0
        # Under the prepared digit the bars began below the screen: the prediction comes first.
        bars, prepared = app.query_one(ProbabilityBars), app.query_one("#prepared")
        assert bars.region.bottom <= app.query_one("#draw-panes").region.bottom and prepared.region.y > bars.region.y

        await pilot.resize_terminal(120, 40)  # room for both: the prepared digit first, as it is made
        await pilot.pause(0.2)
        assert app.query_one("#prepared").region.y < app.query_one("#prediction").region.y


@run_async
async def test_a_run_typed_by_its_name_is_found_in_the_runs_folder(runs: Path, loads: Loads) -> None:
    """``runs`` and ``compare`` name runs by their folders' names; the field took them only as paths
    from the working directory, and said that a listed run was not a folder."""
    listed = runs / "older-run"
    listed.mkdir()
    (listed / "best.pt").write_bytes(b"")
    app = make_app(runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        view = app.query_one(DrawView)
        folder_input = app.query_one("#run-folder")
        folder_input.focus()
        folder_input.value = "older-run"
        await pilot.press("enter")
        assert view.chosen == listed and text(app.query_one("#folder-error")).strip() == ""
        folder_input.focus()
        folder_input.value = "not-listed"
        await pilot.press("enter")
        assert f"not-listed is not a run folder (here or in {runs})" in " ".join(text(app.query_one("#folder-error")).split())
        assert view.chosen == listed


# --- which saved model: only one that finished an epoch ----------------------------------------


def test_a_run_is_trained_once_an_epoch_ended(runs: Path) -> None:
    assert trained(runs / "smoke-run"), "a best.pt is written only as an epoch ends"
    assert not trained(stopped_early(runs, "stopped-early"))
    assert trained(stopped_early(runs, "stopped-in-epoch-3", epochs_completed=2))
    no_summary = runs / "no-summary"
    no_summary.mkdir()
    (no_summary / "last.pt").write_bytes(b"")
    assert not trained(no_summary) and not trained(runs / "no-such-run")
    assert newest_trained_run(runs) == runs / "stopped-in-epoch-3"


def test_a_model_saved_before_its_first_epoch_ended_is_called_untrained(tmp_path: Path) -> None:
    model = SavedModel(tmp_path / "run", tmp_path / "run" / "last.pt", 0, None, CLASS_NAMES, fake_probabilities)
    assert model.label == "last.pt of run (epoch 0: untrained, its weights are random)"


@run_async
async def test_the_default_model_skips_runs_stopped_before_their_first_epoch_ended(runs: Path, loads: Loads) -> None:
    """QA: the newest run folder, stopped in its first epoch, was the model: random weights."""
    newest = stopped_early(runs, "stopped-early")
    app = make_app(runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "space")
        view = app.query_one(DrawView)
        await wait_until(pilot, lambda: view.predictions == 1, what="the prediction")
        assert loads.folders == [runs / "smoke-run"]
        assert view.model_label == "best.pt of smoke-run (epoch 2, 97.25 %)"

        # Shown (opened from the Runs view, or just stopped here), the untrained run is still passed over.
        run_id = newest.name
        app.show_recorded([started(run_id, CONFIG), RunStopped(run_id=run_id, epoch=1, step=5, epochs_completed=0)], folder=newest)
        await pilot.press("c")
        await pilot.pause(0.3)  # whatever the replay set off is done
        shown = view.predictions
        await pilot.press("space")
        await wait_until(pilot, lambda: view.predictions == shown + 1, what="the new drawing's prediction")
        assert app.run_state.run_dir == str(newest)
        assert loads.folders == [runs / "smoke-run"]
        assert view.model_label == f"best.pt of smoke-run (epoch 2, 97.25 %) · the shown run {newest.name} has no trained checkpoint"


@run_async
async def test_with_only_untrained_runs_the_view_says_no_run_finished_an_epoch(tmp_path: Path, loads: Loads) -> None:
    runs = tmp_path / "runs"
    stopped_early(runs, "stopped-early")
    app = make_app(runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        view, bars = app.query_one(DrawView), app.query_one(ProbabilityBars)
        assert f"Model: {NO_LABEL}" in text(app.query_one("#model"))
        await pilot.press("space")
        await wait_until(pilot, lambda: view.prepared is not None and view.settled, what="the prepared digit")
        assert bars.probabilities is None and NO_MODEL in " ".join(text(bars).split())
        assert view.predictions == 0 and loads.folders == []
        # Typed, it is still the model: the user asked for it (its label says it is untrained).
        folder_input = app.query_one("#run-folder")
        folder_input.focus()
        folder_input.value = "stopped-early"
        await pilot.press("enter")
        await wait_until(pilot, lambda: view.predictions == 1, what="the typed run's prediction")
        assert view.chosen == runs / "stopped-early" and loads.folders == [runs / "stopped-early"]


@run_async
async def test_a_run_followed_from_its_log_is_classified_by_its_checkpoint_asked_again_when_rewritten(
    tmp_path: Path, loads: Loads
) -> None:
    """QA: following a run another process trains (watch, or the Runs view's enter), the view said for the
    whole run that the model training now answers "once the run is training", and never asked anything:
    no command reaches another process's model. Its folder's checkpoint answers, renewed each epoch."""
    from mnist_tui.engine.lock import RunLock
    from mnist_tui.engine.presets import config_to_toml
    from tui_script import training_run

    folder = tmp_path / "runs" / "followed"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(config_to_toml(CONFIG))
    events = list(training_run(end=False)(CONFIG, "followed"))[:8]
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    (folder / "best.pt").write_bytes(b"epoch 1")
    writer = RunLock.acquire(folder)  # the other process, training it
    try:
        app = MnistApp(CONFIG, source=ScriptedSource(), runs_dir=folder.parent, watch=folder)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state == "running", what="the followed run")
            await press(pilot, "3")
            view, canvas = app.query_one(DrawView), app.query_one(DrawCanvas)
            await wait_until(pilot, lambda: view.display and app.focused is canvas, what="the Draw view")
            canvas.action_paint()
            await wait_until(pilot, lambda: view.predictions == 1, what="the checkpoint's answer")
            assert view.model_label == "best.pt of followed (epoch 2, 97.25 %)" and loads.folders == [folder]
            assert app.query_one(ProbabilityBars).probabilities == fake_probabilities(view.prepared)

            (folder / "best.pt").write_bytes(b"epoch 2, better")  # the run's next epoch was its best
            await wait_until(pilot, lambda: view.predictions == 2, what="the rewritten checkpoint's answer")
            assert loads.folders == [folder, folder]  # loaded again
            await pilot.pause(1.5)
            assert view.predictions == 2 and len(loads.folders) == 2  # unchanged checkpoints: not asked again
    finally:
        writer.release()
