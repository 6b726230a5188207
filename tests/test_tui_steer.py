"""Steering a run from the dashboard, driven by Pilot and fed by a scripted source that answers the
inbox's commands as the engine does: pause and resume, a single step, live setting edits (locked
fields, errors under the field, the chart's marker). No torch; tests/test_tui_steer_engine.py does
the same with the real engine."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.widgets import Input, Select, Static

from mnist_tui.engine.config import FIELDS
from mnist_tui.engine.events import SettingsChanged
from mnist_tui.engine.presets import load_preset
from mnist_tui.engine.steering import describe_step
from mnist_tui.tui.quick_text import QuickText
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.live_settings import LIVE_SETTINGS
from mnist_tui.tui.key_bar import KeyBar
from mnist_tui.tui.loss_chart import CHANGE_COLOR, LossChart
from mnist_tui.tui.run_progress import RunProgress
from tui_script import STEPS_PER_EPOCH, ScriptedSource, endless_reports, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3, lr=0.001)
SIZE = (120, 40)


def make_app(source: ScriptedSource, config=CONFIG) -> MnistApp:  # type: ignore[no-untyped-def]
    return MnistApp(config, source=source, preset="smoke")


async def running(pilot, app: MnistApp, after_step: int = 10) -> None:  # type: ignore[no-untyped-def]
    await press(pilot, "s")
    await wait_until(pilot, lambda: app.query_one(RunProgress).step > after_step, what="reports")


async def pause(pilot, app: MnistApp) -> None:  # type: ignore[no-untyped-def]
    await press(pilot, "p")
    await wait_until(pilot, lambda: app.state == "paused", what="the engine's paused event")


def marker_columns(chart: LossChart) -> dict[int, int]:
    """Rendered chart cells in the change colour: {column: how many rows}."""
    text = chart.render()
    colour = Style.parse(CHANGE_COLOR).color
    columns: dict[int, int] = {}
    for row, line in enumerate(text.split("\n")):
        for span in line.spans:
            style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
            if style.color is not None and style.color.number == colour.number:  # type: ignore[union-attr]
                for x in range(span.start, span.end):
                    if line.plain[x].strip():
                        columns[x] = columns.get(x, 0) + 1
    return columns


@run_async
async def test_p_pauses_and_resumes_in_the_engine_and_the_state_follows_its_events() -> None:
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot, app)
        app.action_pause()  # what p does (pressed below, to resume), with no await: the engine cannot have answered yet
        assert app.state == "running", "paused only once the engine says so"
        await wait_until(pilot, lambda: app.state == "paused", what="RunPaused")
        assert [c.command for c in source.commands] == ["pause"]
        progress = app.query_one(RunProgress)
        held = progress.step
        await pilot.pause(0.3)
        assert progress.step == held and app.state == "paused"
        await press(pilot, "p")
        await wait_until(pilot, lambda: app.state == "running" and progress.step > held, what="RunResumed and reports")
        assert [c.command for c in source.commands] == ["pause", "resume"]


@run_async
async def test_p_while_the_run_starts_pauses_it_as_it_begins_to_train() -> None:
    """QA: p pressed while the run loaded its data (seconds) did nothing, without a word; the pause
    now waits in the inbox, and the engine takes it at its first batch."""
    import threading

    loaded = threading.Event()

    def slow_start(config, run_id):  # type: ignore[no-untyped-def]
        loaded.wait(10)  # the data loading
        yield from endless_reports(config, run_id)

    source = ScriptedSource(slow_start, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "starting", what="the start")
        assert app.check_action("pause", ()) is True  # drawn as usable on the key bar
        await press(pilot, "p")
        loaded.set()
        await wait_until(pilot, lambda: app.state == "paused", what="the pause, at the first batch")
        assert [c.command for c in source.commands] == ["pause"]
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")


@run_async
async def test_n_while_paused_trains_exactly_one_report_interval_then_pauses_again() -> None:
    source = ScriptedSource(training_run(end=False), pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        progress, bar = app.query_one(RunProgress), app.query_one(KeyBar)
        await running(pilot, app)
        keys = [key.key for key in bar.keys]
        assert "n" in keys and not bar.enabled[keys.index("n")], "n does nothing while running"
        await press(pilot, "n")
        assert source.taken("step") == []
        await pause(pilot, app)
        assert bar.enabled[keys.index("n")]
        held = progress.step
        await pilot.pause(0.2)
        assert progress.step == held

        await press(pilot, "n")
        await wait_until(pilot, lambda: progress.step != held, what="the step's report")
        assert progress.step == held + CONFIG.report_every
        await pilot.pause(0.3)
        assert app.state == "paused" and progress.step == held + CONFIG.report_every
        assert len(source.taken("step")) == 1
        await press(pilot, "n", "n")
        await wait_until(pilot, lambda: progress.step == held + 3 * CONFIG.report_every, what="two more steps")
        await pilot.pause(0.2)
        assert progress.step == held + 3 * CONFIG.report_every and app.state == "paused"


@run_async
async def test_during_a_run_only_the_optimizers_live_settings_stay_editable() -> None:
    for optimizer, live in (("adam", ("lr", "weight_decay")), ("sgd", ("lr", "momentum", "weight_decay"))):
        source = ScriptedSource(endless_reports, pace=0.01)
        app = make_app(source, CONFIG.replace(optimizer=optimizer))
        async with app.run_test(size=SIZE) as pilot:
            form = app.query_one(ConfigForm)
            await running(pilot, app, after_step=2)
            assert LIVE_SETTINGS[optimizer] == live
            editable = {name for name in FIELDS if not app.query_one(f"#field-{name}").disabled}
            assert editable == set(live)
            assert app.query_one("#preset", Select).disabled
            await press(pilot, "x")
            await wait_until(pilot, lambda: app.state == "stopped")
            assert not any(app.query_one(f"#field-{name}").disabled for name in FIELDS)
            assert not form.query_one("#preset").disabled


@run_async
async def test_enter_in_the_lr_field_changes_it_in_the_engine_and_the_chart_marks_the_step() -> None:
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        form, chart = app.query_one(ConfigForm), app.query_one(LossChart)
        await running(pilot, app)
        await pause(pilot, app)  # the change takes effect at a step the test knows
        step = app.query_one(RunProgress).step
        lr = app.query_one("#field-lr", Input)

        # A bad value: the error under the field, as before a run; nothing is sent.
        lr.focus()
        lr.value = "-1"
        await pilot.press("enter")
        assert "lr must be greater than 0, not -1.0" in str(app.query_one("#error-lr", Static).content)
        assert source.taken("set") == []
        assert app.focused is lr

        await pilot.press("ctrl+a", "ctrl+k", *"0.0001", "enter")
        await wait_until(pilot, lambda: app.run_state.changes, what="the changed event")
        (command,) = source.taken("set")
        assert dict(command.values) == {"lr": 0.0001}
        (changed,) = app.run_state.changes
        assert isinstance(changed, SettingsChanged)
        assert (changed.step, changed.changes) == (step, {"lr": [0.001, 0.0001]})
        assert str(app.query_one("#error-lr", Static).content) == "" and "lr" not in form.errors
        assert app.state == "paused", "a change does not resume the run"
        assert app.focused is None, "the field is left, so the run's keys work again"
        # Said and shown while still paused: the progress pane named the old lr until the next report.
        numbers = app.query_one("#numbers", QuickText)
        await wait_until(pilot, lambda: "lr 0.0001" in str(numbers.content), what="the lr in use, while paused")
        where = describe_step(changed.epoch, step, STEPS_PER_EPOCH)  # as the engine names it
        await wait_until(
            pilot, lambda: any(f"Changed: lr 0.001 -> 0.0001 after {where}" in str(n.message) for n in app._notifications),
            what="the engine's answer, confirmed",
        )
        # The value in use again: QA read "Changed: no change: the values are the ones in use".
        await press(pilot, "e")
        await pilot.press(*"lr=0.0001", "enter")
        await wait_until(pilot, lambda: len(source.taken("set")) == 2, what="the second set command")
        await wait_until(
            pilot, lambda: any(str(n.message) == "Not changed: the values are the ones in use" for n in app._notifications),
            what="the engine's answer: nothing to change",
        )
        assert not any("Changed: no change" in str(n.message) for n in app._notifications)

        await press(pilot, "p")
        await wait_until(pilot, lambda: app.run_state.latest.step > step + 5, what="reports after the change")
        assert app.run_state.latest.lr == 0.0001
        await wait_until(pilot, lambda: "lr 0.0001" in str(numbers.content), what="the progress pane's next paint")
        assert chart.curves.changes == [(step / STEPS_PER_EPOCH, "lr 0.0001")]
        chart.draw_now()
        await pilot.pause()
        columns = marker_columns(chart)
        assert len(columns) == 1, columns  # one vertical line
        (rows,) = columns.values()
        assert rows >= chart.content_size.height - 5
        assert "setting changed" in str(chart.border_title)


@run_async
async def test_a_change_from_elsewhere_shows_in_the_locked_form_and_a_refusal_is_told() -> None:
    """A SettingsChanged not made by the form (a command file) fills the field; a refused set is notified."""
    from mnist_tui.engine.events import CommandAnswered
    from mnist_tui.tui.source import EngineEvent

    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot, app)
        step = app.run_state.latest.step
        app.post_message(EngineEvent(SettingsChanged(
            run_id=app.run_id, epoch=1, step=step, changes={"weight_decay": [0.0, 0.01]}, source="file"
        )))
        await wait_until(pilot, lambda: app.query_one("#field-weight_decay", Input).value == "0.01")
        refusal = CommandAnswered(
            run_id=app.run_id, command_id="x1", command="set", accepted=False,
            message="the adam optimizer has no momentum setting", source="file",
        )
        app.post_message(EngineEvent(refusal))
        await wait_until(pilot, lambda: any("no momentum setting" in str(n.message) for n in app._notifications))


@run_async
async def test_a_resumed_run_shows_the_settings_it_goes_on_with() -> None:
    """A resume trains with the settings changed before its stop: its start event says so, and so does the form."""
    from tui_script import batch, started

    def resumed(config, run_id):  # type: ignore[no-untyped-def]
        yield started(run_id, config.replace(lr=0.0001))  # the checkpoint's lr, not config.toml's
        for step in range(1, 10_000):
            yield batch(run_id, step, loss=1.0)

    app = make_app(ScriptedSource(resumed, pace=0.01))
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot, app, after_step=2)
        assert app.query_one("#field-lr", Input).value == "0.0001"
        assert app.query_one(ConfigForm).running.lr == 0.0001


@run_async
async def test_a_refused_live_setting_scrolls_its_error_into_view() -> None:
    """With the lr field the form's last row in view, enter with -1 showed nothing: the error under it was out of sight."""
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=(120, 24)) as pilot:
        await running(pilot, app)
        await pause(pilot, app)
        sidebar, lr = app.query_one("#sidebar"), app.query_one("#field-lr", Input)
        lr.focus()
        await pilot.pause()
        # The field on the view's last row (scrolled again until it stays there: the focus's own
        # scroll into view can land after ours on a busy machine):
        def on_last_row() -> bool:
            if lr.region.bottom == sidebar.content_region.bottom:
                return True
            sidebar.scroll_to(y=sidebar.scroll_y + lr.region.bottom - sidebar.content_region.bottom, animate=False)
            return False

        await wait_until(pilot, on_last_row, what="the lr field on the sidebar's last row")
        lr.value = "-1"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one(ConfigForm).error_line("lr") is not None, what="the error under the field")
        error = app.query_one("#error-lr", Static)
        await wait_until(
            pilot, lambda: error.region.height and sidebar.content_region.contains_region(error.region),
            what="the error in view",
        )
        assert "lr must be greater than 0, not -1.0" in str(error.content)


@run_async
async def test_a_drawing_classified_by_the_paused_run_names_its_step_as_the_progress_pane_counts_it() -> None:
    """The Draw view's model line said "the model training now, step 141", the run's step, where the
    progress pane counts step 41 of epoch 2."""
    from mnist_tui.tui.draw_view import LIVE, DrawView

    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot, app, after_step=STEPS_PER_EPOCH)
        await pause(pilot, app)  # the prediction is answered at a step the test knows
        latest = app.run_state.latest
        assert latest.epoch >= 2
        await press(pilot, "3", "space")
        view = app.query_one(DrawView)
        await wait_until(pilot, lambda: view.predictions == 1, what="the paused run's answer")
        assert view.model_label == f"{LIVE}, epoch {latest.epoch}, step {latest.epoch_step}"
