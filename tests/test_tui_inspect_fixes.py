"""QA on the Inspect view during a run: the weights pane kept in place while an epoch's products
arrive, an epoch chosen with [ held while newer ones roll on, panes that say when no epoch will
come, and no sideways shift from the view's scrollbar."""

from __future__ import annotations

import dataclasses

import pytest

from mnist_tui.engine.events import (
    ConfusionCounted,
    Event,
    LayersMeasured,
    MistakesFound,
    RunDiverged,
    WeightsSampled,
)
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.class_bars import ClassBars
from mnist_tui.tui.confusion_grid import ConfusionGrid
from mnist_tui.tui.inspect_view import InspectView
from mnist_tui.tui.laid_lines import LaidLines
from mnist_tui.tui.mistake_cards import MistakeCards
from mnist_tui.tui.run_state import INSPECTED_EPOCHS, RunState
from mnist_tui.tui.weight_tiles import WeightTiles
from test_tui_inspect import _text
from tui_script import (
    ScriptedSource,
    batch,
    confusion,
    epoch_ended,
    failing_run,
    inspection,
    layers,
    mistakes,
    press,
    run_async,
    started,
    training_run,
    wait_until,
    weights,
)

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3000)
RUN = "live-run"
SIZE = (120, 40)


def live_app() -> MnistApp:
    """An app whose run the test feeds by hand (``app.show_event``), one event at a time, as the engine's pump does."""
    return MnistApp(CONFIG, source=ScriptedSource(), preset="smoke")


async def live_inspect(pilot, app: MnistApp, epochs: int) -> None:  # type: ignore[no-untyped-def]
    """The Inspect view shown, the run running with ``epochs`` epochs inspected."""
    app.run_state = RunState(run_id=RUN, state="starting")
    app.show_event(started(RUN, CONFIG))
    await pilot.press("2")
    train(app, 1, epochs)
    await pilot.pause()


def train(app: MnistApp, first: int, last: int) -> None:
    for epoch in range(first, last + 1):
        for event in epoch_events(epoch):
            app.show_event(event)


def epoch_events(epoch: int) -> list[Event]:
    return [batch(RUN, epoch * 100), epoch_ended(RUN, epoch, CONFIG.epochs, (95.0,) * epoch), *inspection(RUN, epoch)]


def title(app: MnistApp) -> str:
    return str(app.query_one("#confusion-box").border_title)


@run_async
async def test_the_weights_stay_in_place_while_the_next_epochs_products_arrive() -> None:
    """QA: a third of the time the pane said "The first layer's weights appear after the first
    epoch." at epoch 114, and its layer table came and went, pushing the tiles down."""
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await live_inspect(pilot, app, 2)
        tiles, cards = app.query_one(WeightTiles), app.query_one(MistakeCards)
        height = tiles.outer_size.height
        assert "|W|" in _text(tiles) and "5.5" in _text(tiles)  # epoch 2's |W| (3.5 + epoch)
        for event in epoch_events(3):
            app.show_event(event)
            await pilot.pause()
            shown = _text(tiles)
            assert "appear after" not in shown and "|W|" in shown and "+0.25" in shown, (type(event).__name__, shown)
            assert tiles.outer_size.height == height, type(event).__name__
            assert "appear after" not in _text(cards), type(event).__name__
        assert "6.5" in _text(tiles), "replaced by epoch 3's once they came"
        assert title(app).startswith("Confusion · epoch 3 (latest)")


@run_async
async def test_an_epoch_chosen_during_a_run_stays_shown_until_the_user_leaves_it() -> None:
    """QA: an epoch chosen with [ was dropped 20 epochs later, and the view went back to following
    the run by itself, its grid, bars and mistakes replaced."""
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await live_inspect(pilot, app, 5)
        view, grid, bars = app.query_one(InspectView), app.query_one(ConfusionGrid), app.query_one(ClassBars)
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert view.epoch == 3 and title(app) == "Confusion · epoch 3, held (latest 5) · kept epoch 3 of 5"

        train(app, 6, INSPECTED_EPOCHS + 10)
        await pilot.pause()
        latest = INSPECTED_EPOCHS + 10
        assert view.epoch == 3 and grid.matrix == confusion(RUN, 3).matrix
        assert title(app) == f"Confusion · epoch 3, held (latest {latest}) · kept epoch 2 of {INSPECTED_EPOCHS + 2}"
        # Its change since epoch 2 stays too: recall of class 0 rose from 96 to 97.
        assert "▲ 1.00" in _text(bars)
        assert len(app.run_state.inspections) == INSPECTED_EPOCHS + 2, "memory stays bounded"

        await pilot.press("right_square_bracket")  # left: the oldest of the latest epochs, and 2 and 3 let go
        oldest = latest - INSPECTED_EPOCHS + 1
        assert view.epoch == oldest and list(app.run_state.inspections)[0] == oldest
        assert title(app) == f"Confusion · epoch {oldest}, held (latest {latest}) · kept epoch 1 of {INSPECTED_EPOCHS}"
        train(app, latest + 1, latest + 1)
        await pilot.pause()
        assert view.epoch == oldest and grid.matrix == confusion(RUN, oldest).matrix
        await pilot.press(*["right_square_bracket"] * INSPECTED_EPOCHS)
        assert view.epoch is None and title(app).startswith(f"Confusion · epoch {latest + 1} (latest)")


def test_a_held_epoch_and_the_one_before_it_outlast_the_kept_epochs_until_let_go() -> None:
    state = RunState()
    state.apply(started(RUN, CONFIG))
    for event in inspection(RUN, 1) + inspection(RUN, 2):
        state.apply(event)
    state.hold(2)
    for epoch in range(3, INSPECTED_EPOCHS + 10):
        for event in inspection(RUN, epoch):
            state.apply(event)
    assert list(state.inspections)[:3] == [1, 2, 10] and len(state.inspections) == INSPECTED_EPOCHS + 2
    assert state.previous_inspection(2) is state.inspection(1)
    state.hold(None)
    assert list(state.inspections)[0] == 10 and len(state.inspections) == INSPECTED_EPOCHS


def test_the_newest_of_each_product_is_the_previous_epochs_until_its_own_comes() -> None:
    state = RunState()
    state.apply(started(RUN, CONFIG))
    for event in inspection(RUN, 1):
        state.apply(event)
    state.apply(confusion(RUN, 2))
    state.apply(mistakes(RUN, 2))
    newest = [state.newest(product) for product in ("confusion", "mistakes", "weights", "layers")]
    assert [inspection.epoch for inspection in newest if inspection] == [2, 2, 1, 1]
    state.apply(weights(RUN, 2))
    state.apply(layers(RUN, 2))
    assert state.newest("weights") is state.newest("layers") is state.inspection(2)


def test_the_newest_with_several_products_is_the_newest_epoch_that_has_them_all() -> None:
    """The weights pane shows an epoch's tiles with its layers' table: epoch 1's both until epoch 2 has both."""
    state = RunState()
    state.apply(started(RUN, CONFIG))
    assert state.newest("weights", "layers") is None
    state.apply(weights(RUN, 1))
    assert state.newest("weights", "layers") is None and state.newest("weights") is state.inspection(1)
    state.apply(layers(RUN, 1))
    for event in (confusion(RUN, 2), mistakes(RUN, 2), weights(RUN, 2)):
        state.apply(event)
        assert state.newest("weights", "layers") is state.inspection(1)
    state.apply(layers(RUN, 2))
    assert state.newest("weights", "layers") is state.inspection(2)


def diverged_at_step_2(config, run_id):  # type: ignore[no-untyped-def]
    yield started(run_id, config)
    yield batch(run_id, 1)
    yield RunDiverged(run_id=run_id, epoch=1, step=2, loss=836084774731776.0)


def uninspected(config, run_id):  # type: ignore[no-untyped-def]
    """:func:`training_run` as the engine plays it with ``inspect = false``."""
    products = (ConfusionCounted, MistakesFound, WeightsSampled, LayersMeasured)
    yield from (event for event in training_run()(config, run_id) if not isinstance(event, products))


NO_EPOCH = "No epoch completed: the run {} before its first epoch ended."


@pytest.mark.parametrize(
    ("script", "ended", "said"),
    [
        (diverged_at_step_2, "diverged", NO_EPOCH.format("diverged")),
        (failing_run(), "failed", NO_EPOCH.format("failed")),
        (uninspected, "finished", "Inspection is off for this run (inspect = false)."),
    ],
    ids=["diverged", "failed", "not inspected"],
)
@run_async
async def test_panes_whose_content_will_not_come_say_why(script, ended, said) -> None:  # type: ignore[no-untyped-def]
    """QA: after `--set lr=1e6` diverged at step 2, the panes kept saying that they appear after the first epoch."""
    config = CONFIG.replace(epochs=2, inspect=script is not uninspected)
    app = MnistApp(config, source=ScriptedSource(script), preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s", "2")  # shown before the end: the end itself redraws the panes
        await wait_until(pilot, lambda: app.state == ended, what=f"the run to end {ended}")
        await pilot.pause()
        shown = {ConfusionGrid: app.query_one(ConfusionGrid).render().plain}  # QA: a grid of dots, with no word
        shown |= {pane: _text(app.query_one(pane)) for pane in (ClassBars, MistakeCards, WeightTiles)}
        for pane, content in shown.items():
            text = " ".join(content.split())
            assert said in text and "appear" not in text and "·" not in text, (pane.__name__, text)


def columns_of_panes(app: MnistApp) -> list[tuple[int, int]]:
    """Where each pane starts and how wide it is."""
    return [(pane.region.x, pane.region.width) for pane in app.query("#confusion-box, #class-bars, #mistakes, #weights")]


async def choose(pilot, app: MnistApp, cell: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    grid = app.query_one(ConfusionGrid)
    grid.cursor = cell
    grid.action_choose()
    await pilot.pause(0.1)


@run_async
async def test_the_panes_keep_their_columns_whether_or_not_the_view_scrolls() -> None:
    """QA at 120x40: the grid and the bars moved sideways by a column as the view's scrollbar came
    (three cards in two rows) and went (a cell with none)."""
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        app.run_state = RunState(run_id=RUN, state="starting")
        app.show_event(started(RUN, CONFIG))
        await pilot.press("2")
        for event in (confusion(RUN, 1), mistakes(RUN, 1), weights(RUN, 1, units=3), layers(RUN, 1)):
            app.show_event(event)
        scroll = app.query_one("#inspect-scroll")
        await choose(pilot, app, (0, 0))  # the diagonal: a line of text, nothing to scroll
        assert scroll.virtual_size.height <= scroll.size.height
        columns = columns_of_panes(app)
        assert len(columns) == 4
        await choose(pilot, app, (0, 1))  # four cases, three cards in two rows: the view scrolls
        assert scroll.virtual_size.height > scroll.size.height
        assert columns_of_panes(app) == columns


@run_async
async def test_on_a_short_terminal_the_grid_reaches_the_scrollbar() -> None:
    """QA at 80x24: the scrollbar's thumb floated alone in the empty columns right of the grid."""
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await live_inspect(pilot, app, 1)
        await pilot.pause(0.1)
        scroll = app.query_one("#inspect-scroll")
        assert scroll.show_vertical_scrollbar
        assert app.query_one("#confusion-box").region.right == scroll.scrollable_content_region.right


@run_async
async def test_each_pane_draws_an_epoch_once_however_many_of_its_events_arrive() -> None:
    """Each of an epoch's four events redrew every pane: 14 % of a core with the view shown during
    a relu-adam-500 run, where the panes change once an epoch."""
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await live_inspect(pilot, app, 2)
        grid, bars, cards, tiles = (app.query_one(kind) for kind in (ConfusionGrid, ClassBars, MistakeCards, WeightTiles))
        drawn: list[str] = []
        for pane in (bars, cards):  # each drawing of their content (a new height then lays them out again)
            original = pane.update_content
            pane.update_content = lambda content, _pane=pane, _original=original: (  # type: ignore[method-assign]
                drawn.append(type(_pane).__name__), _original(content)
            )
        for pane in (grid, tiles.query_one(LaidLines)):  # line-API panes: a repaint is a refresh
            original = pane.refresh
            pane.refresh = lambda *a, _pane=pane, _original=original, **k: (  # type: ignore[method-assign]
                drawn.append(type(_pane).__name__), _original(*a, **k)
            )[1]
        for event in epoch_events(3):
            app.show_event(event)
            await pilot.pause()
        # Once each; the weights pane too, its tiles with their layers' table, which comes right after them.
        assert sorted(drawn) == ["ClassBars", "ConfusionGrid", "LaidLines", "MistakeCards"], drawn
        assert "6.5" in _text(tiles) and title(app).startswith("Confusion · epoch 3 (latest)")

        drawn.clear()  # the same epoch, laid out anew (two lines a row): drawn again
        bars.set_lines(2 if bars.lines == 1 else 1)
        assert drawn == ["ClassBars"]


@run_async
async def test_an_epochs_tiles_are_laid_out_once_and_new_tiles_and_cards_paint_without_a_relayout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA: with the Inspect view shown, a run of one-second epochs took 15 % of a core: a Rich
    table laid the epoch's 32 tiles out for its weights and again for its layers (60 ms a render,
    two renders an update), and each pane's update laid the whole screen out again."""
    import mnist_tui.tui.weight_tiles as weight_tiles

    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await live_inspect(pilot, app, 5)  # from epoch 5 on, the cell shown has one mistake an epoch
        panes = [app.query_one(kind) for kind in (WeightTiles, MistakeCards, ClassBars, ConfusionGrid)]
        tiles, cards, bars = panes[:3]
        panes[0] = tiles.query_one(LaidLines)  # the tiles' lines, within the pane that scrolls them
        built: list[int] = []
        grid = weight_tiles.weight_grid
        monkeypatch.setattr(weight_tiles, "weight_grid", lambda w, columns: (built.append(w.epoch), grid(w, columns))[1])
        updates: list[tuple[str, bool]] = []  # each repaint: the pane, and whether the screen is laid out again
        for pane in panes:
            original = pane.refresh
            pane.refresh = lambda *a, _pane=pane, _original=original, layout=False, **k: (  # type: ignore[method-assign]
                updates.append((type(_pane).__name__, layout)), _original(*a, layout=layout, **k)
            )[1]
        height = tiles.outer_size.height, cards.outer_size.height
        for event in epoch_events(6):
            app.show_event(event)
            await pilot.pause()
        assert built == [6]  # the tiles of epoch 6, once, shown with its layers' table
        # Each pane that changed repainted once, none laid out: the bars and the cell's one card are
        # epoch 5's, so they repaint nothing. (The cards' border title, set again on each event,
        # repainted them each time.)
        assert sorted(updates) == [("ConfusionGrid", False), ("LaidLines", False)], updates
        assert "9.5" in _text(tiles) and "unit 7" in _text(tiles) and "of 1" in _text(cards)
        assert (tiles.outer_size.height, cards.outer_size.height) == height
        updates.clear()  # other bars, as many lines
        bars.show(confusion(RUN, 2).matrix, confusion(RUN, 1).matrix, app.run_state.class_names)
        assert updates == [("ClassBars", False)]
        updates.clear()  # the cell's card, less sure: its caption's line repainted, no relayout
        cell = app.query_one(ConfusionGrid).cursor
        found = mistakes(RUN, 6)
        cards.show(
            dataclasses.replace(found, confidences=tuple(c - 0.25 for c in found.confidences)),
            cell, app.run_state.class_names, confusion(RUN, 6).matrix[cell[0]][cell[1]],
        )
        assert updates == [("MistakeCards", False)] and "65%" in _text(cards)

        updates.clear()  # the diagonal's cell: a line of text, laid out again
        await pilot.press("left", "enter")
        assert ("MistakeCards", True) in updates and ("MistakeCards", False) not in updates, updates
        assert "diagonal" in _text(cards)
        updates.clear()
        await pilot.press("right", "enter")  # and back: cards again, as high as they were
        assert ("MistakeCards", True) in updates and ("MistakeCards", False) not in updates, updates
        assert cards.outer_size.height == height[1]
