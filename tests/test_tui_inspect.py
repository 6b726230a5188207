"""The views and the Inspect view, driven by Pilot and fed by scripted events (no torch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from mnist_tui.engine.events import ConfusionCounted, MistakesFound
from mnist_tui.engine.presets import load_preset
from mnist_tui.engine.replay import read_events
from mnist_tui.tui.quick_text import QuickText
from mnist_tui.tui.accuracy_table import AccuracyTable
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.class_bars import ClassBars, per_class
from mnist_tui.tui.confusion_grid import ConfusionGrid, largest_mistake
from mnist_tui.tui.digit_gallery import DigitGallery
from mnist_tui.tui.inspect_view import InspectView
from mnist_tui.tui.run_state import INSPECTED_EPOCHS
from mnist_tui.tui.loss_chart import LossChart
from mnist_tui.tui.mistake_cards import MistakeCards, cell_mistakes
from mnist_tui.tui.view_bar import ViewBar
from test_tui_runs import notices
from tui_script import ScriptedSource, confusion, mistakes, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)
SIZE = (120, 40)


class Recording(ScriptedSource):
    """A scripted source that also keeps every event it yields, as the run folder's log would."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.events: list = []

    def _play(self, *args):  # type: ignore[no-untyped-def]
        for event in super()._play(*args):
            self.events.append(event)
            yield event


def make_app(source: ScriptedSource | None = None) -> MnistApp:
    return MnistApp(CONFIG, source=source or ScriptedSource(), preset="smoke")


async def finished_run(pilot, app: MnistApp) -> None:  # type: ignore[no-untyped-def]
    await press(pilot, "s")
    await wait_until(pilot, lambda: app.state == "finished", what="the run to finish")


@run_async
async def test_number_keys_and_tab_clicks_switch_views_and_hidden_views_draw_nothing() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(InspectView)
        draws = []
        original = view._draw
        view._draw = lambda: (draws.append(1), original())[1]  # type: ignore[method-assign]
        await finished_run(pilot, app)
        assert app.current_view == "TrainView" and not view.display
        assert draws == []  # three epochs of inspection events, none drawn while hidden

        await pilot.press("2")
        assert app.current_view == "InspectView" and view.display
        assert len(draws) == 1  # caught up once, from the run's state
        assert app.query_one(ConfusionGrid).matrix == confusion(app.run_id or "", 3).matrix
        assert app.query_one(ViewBar).current == "InspectView"

        await pilot.press("1")
        assert app.current_view == "TrainView"
        bar = app.query_one(ViewBar)
        second = bar.tabs[1]
        await pilot.click(ViewBar, offset=(1 + len(bar.tabs[0].label) + 2 + 1, 0))
        assert app.current_view == second.view


@run_async
async def test_number_keys_type_into_a_field_instead_of_switching() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        field = next(i for i in app.query(Input) if i.id and "lr" in i.id)
        app.set_focus(field)
        await pilot.press("end", "2")
        assert app.current_view == "TrainView" and field.value.endswith("2")


async def inspect_finished_run(pilot: Pilot, app: MnistApp) -> tuple[ConfusionGrid, MistakeCards]:
    """The run trained to its end, then the Inspect view shown: its grid (focused) and mistake cards."""
    await finished_run(pilot, app)
    await pilot.press("2")
    grid, cards = app.query_one(ConfusionGrid), app.query_one(MistakeCards)
    await wait_until(pilot, lambda: app.focused is grid, what="the grid to take the focus")
    return grid, cards


@run_async
async def test_arrows_enter_and_clicks_select_a_cell_and_show_its_mistakes() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        grid, cards = await inspect_finished_run(pilot, app)
        assert grid.cursor == (0, 1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "0 taken for 1" in _text(cards), what="the cell's mistakes")
        found = cell_mistakes(mistakes(app.run_id or "", 3), 0, 1)
        assert len(found) == 2  # epoch 3 takes 0 for 1 in two cases
        assert "0 taken for 1: 2 most confident of 2" in _text(cards)

        await pilot.press("down", "down", "right", "right", "enter")  # (2, 3): 2 taken for 3
        assert grid.cursor == (2, 3) and "2 taken for 3" in _text(cards)
        await pilot.press("left")  # the diagonal: no mistakes, it says so
        await pilot.press("enter")
        assert "is the diagonal" in _text(cards)

        # A click on the cell of row 5, column 8 (5 taken for 8: the once-per-class k+3 mistake).
        await pilot.click(ConfusionGrid, offset=(11 + 8 * 6 + 2, 1 + 5))
        assert grid.cursor == (5, 8) and "5 taken for 8: 1 most confident of 1" in _text(cards)


@run_async
async def test_on_a_short_terminal_choosing_a_cell_scrolls_its_mistakes_into_view() -> None:
    """At 80x24 the mistakes start below the fold (under the grid and the class bars)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        grid, cards = await inspect_finished_run(pilot, app)
        scroll = app.query_one("#inspect-scroll")
        assert cards.region.y >= scroll.region.bottom or not cards.region  # below the fold
        await pilot.press("enter")
        await wait_until(pilot, lambda: "0 taken for 1" in _text(cards), what="the cell's mistakes")
        await pilot.pause(0.1)
        visible = cards.region.intersection(scroll.region)
        assert visible.y == cards.region.y and visible.height >= min(cards.region.height, scroll.region.height - 1)
        assert app.focused is grid  # the arrows still move through the grid
        await pilot.press("down", "enter")
        assert grid.cursor == (1, 1) and "is the diagonal" in _text(cards)


@run_async
async def test_brackets_choose_earlier_epochs_and_the_bars_show_the_change() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await finished_run(pilot, app)
        await pilot.press("2")
        view, grid = app.query_one(InspectView), app.query_one(ConfusionGrid)
        await pilot.press("left_square_bracket")
        assert view.epoch == 2 and grid.matrix == confusion(app.run_id or "", 2).matrix
        assert "epoch 2 ·" in str(app.query_one("#confusion-box").border_title)
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert view.epoch == 1
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert view.epoch is None and "(latest)" in str(app.query_one("#confusion-box").border_title)
        # Recall of class 0 rose from epoch 2 (96 of 100) to epoch 3 (97 of 100): +1.00 shown.
        assert per_class(confusion("", 3).matrix)[0][0] == 97.0
        assert "▲ 1.00" in _text(app.query_one(ClassBars))


def six_taken_for_nine(config, run_id):  # type: ignore[no-untyped-def]
    """:func:`training_run` where no 0 is taken for 1 (the cell the grid used to open on) and 6 is
    taken for 9 more often than any other mistake (5 more cases, their mistakes not kept)."""
    for event in training_run()(config, run_id):
        if isinstance(event, ConfusionCounted):
            rows = [list(row) for row in event.matrix]
            rows[0][0], rows[0][1] = rows[0][0] + rows[0][1], 0
            rows[6][6], rows[6][9] = rows[6][6] - 5, rows[6][9] + 5
            event = dataclasses.replace(event, matrix=tuple(map(tuple, rows)))
        elif isinstance(event, MistakesFound):
            keep = [i for i, pair in enumerate(zip(event.labels, event.predictions)) if pair != (0, 1)]
            fields = ("indices", "labels", "predictions", "confidences", "images")
            event = dataclasses.replace(event, **{name: tuple(getattr(event, name)[i] for i in keep) for name in fields})
        yield event


def test_the_largest_mistake_is_the_largest_off_diagonal_count() -> None:
    assert largest_mistake(((90, 0, 3), (1, 50, 0), (7, 7, 80))) == (2, 0), "the first of two equal ones"
    assert largest_mistake(((5, 0), (0, 5))) is None, "no mistakes"


@run_async
async def test_the_grid_opens_on_the_largest_mistake_until_a_cell_is_chosen() -> None:
    """QA: on arrival the selected cell was an empty one, "No mistakes: no 0 was taken for 1."."""
    app = make_app(ScriptedSource(six_taken_for_nine))
    async with app.run_test(size=SIZE) as pilot:
        grid, cards = await inspect_finished_run(pilot, app)
        assert grid.cursor == (6, 9)
        assert "6 taken for 9: 1 most confident of 6" in _text(cards), _text(cards)
        await pilot.press("left_square_bracket")  # epoch 2: 6 taken for 9 in 3 + 5 cases, still the largest
        assert grid.cursor == (6, 9)
        await pilot.press("up", "enter")  # chosen: the cursor stays on it at another epoch
        await pilot.press("right_square_bracket")
        assert grid.cursor == (5, 9) and "5 taken for 9" not in _text(cards) and "No mistakes" in _text(cards)

        await finished_run(pilot, app)  # a new run opens on its largest mistake again
        await pilot.press("2")
        await wait_until(pilot, lambda: grid.cursor == (6, 9), what="the new run's largest mistake")


@run_async
async def test_the_title_says_which_kept_epoch_and_the_oldest_says_once_that_older_ones_are_not_kept() -> None:
    """QA: ``Confusion · epoch 1526 (latest) · 20/20`` did not say what 20/20 counts, and [ stopped
    at epoch 1507 with no word that older epochs are not kept."""
    epochs = INSPECTED_EPOCHS + 2
    app = MnistApp(CONFIG.replace(epochs=epochs), source=ScriptedSource(), preset="smoke")
    notified: list[str] = []
    async with app.run_test(size=SIZE, message_hook=notices(notified)) as pilot:
        await finished_run(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        said = len(notified)  # the run's end
        box = app.query_one("#confusion-box")
        kept = f"kept epoch {INSPECTED_EPOCHS} of {INSPECTED_EPOCHS}"
        assert str(box.border_title) == f"Confusion · epoch {epochs} (latest) · {kept}"
        for _ in range(INSPECTED_EPOCHS - 1):
            await pilot.press("left_square_bracket")
        assert str(box.border_title) == f"Confusion · epoch 3 · kept epoch 1 of {INSPECTED_EPOCHS}"
        assert notified[said:] == []
        await pilot.press("left_square_bracket", "left_square_bracket")  # at the oldest kept: said once
        await pilot.pause()
        assert notified[said:] == [f"Epochs before 3 are not kept: Inspect keeps the latest {INSPECTED_EPOCHS} epochs."]
        assert app.query_one(InspectView).epoch == 3


@run_async
async def test_a_recorded_log_replayed_draws_the_same_panes_as_the_live_run(tmp_path: Path) -> None:
    source = Recording(training_run())
    live = make_app(source)
    log = tmp_path / "events.jsonl"
    async with live.run_test(size=SIZE) as pilot:
        await finished_run(pilot, live)
        log.write_text("".join(event.to_json() + "\n" for event in source.events))
        await pilot.press("2")
        seen_live = _panes(live)

    replayed = make_app()
    async with replayed.run_test(size=SIZE) as pilot:
        events, skipped = read_events(log)
        assert skipped == []
        replayed.show_recorded(events)
        await pilot.pause()
        assert replayed.state == "finished" and replayed.run_id == live.run_id
        await pilot.press("2")
        assert _panes(replayed) == seen_live


def _panes(app: MnistApp) -> dict:
    chart = app.query_one(LossChart)
    table = app.query_one(AccuracyTable)
    return {
        "loss": (chart.curves.batch.points(), chart.curves.evaluation.points()),
        "table": [table.get_row_at(i) for i in range(table.row_count)],
        "gallery": app.query_one(DigitGallery).samples,
        "numbers": str(app.query_one("#numbers", QuickText).content),
        "status": (app.state, app.run_state.device),
        "confusion": app.query_one(ConfusionGrid).matrix,
        "bars": _text(app.query_one(ClassBars)),
        "mistakes": _text(app.query_one(MistakeCards)),
    }


def _text(widget: Widget) -> str:
    """What a pane shows (its ``content``, a Rich renderable), as plain text."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()
