"""The form's live fields during a run show what is running: a value is sent by ``enter`` only, and a
field left any other way (tab, escape, a click elsewhere) gets the running value back and says so.
QA typed an lr and pressed tab: the field kept it, "edited", unsent, and the ``2`` pressed next for
Inspect typed a weight_decay of 2 that one more ``enter`` would have sent."""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.widgets import Input, Static

from mnist_tui.engine.events import CommandAnswered
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.inspect_view import InspectView
from mnist_tui.tui.run_progress import RunProgress
from mnist_tui.tui.source import EngineEvent
from mnist_tui.tui.train_view import TrainView
from tui_script import ScriptedSource, endless_reports, press, run_async, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)  # lr 0.003
SIZE = (120, 40)


def notes(app: MnistApp) -> list[str]:
    return [str(note.message) for note in app._notifications]


async def running_app(pilot, app: MnistApp) -> None:  # type: ignore[no-untyped-def]
    await press(pilot, "s")
    await wait_until(pilot, lambda: app.query_one(RunProgress).step > 2, what="reports")


async def typed_in_lr(pilot, app: MnistApp, text: str) -> Input:  # type: ignore[no-untyped-def]
    """``text`` typed over the running lr, as a user does after clicking the field."""
    lr = app.query_one("#field-lr", Input)
    await pilot.click(lr)
    assert app.focused is lr
    await press(pilot, "ctrl+a", "ctrl+k", *text)
    assert lr.value == text
    return lr


@run_async
async def test_tab_out_of_an_edited_lr_puts_the_running_value_back_sends_nothing_and_keys_work_again() -> None:
    source = ScriptedSource(endless_reports, pace=0.01)
    app = MnistApp(CONFIG, source=source, preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        await running_app(pilot, app)
        lr = await typed_in_lr(pilot, app, "0.0005")
        await wait_until(pilot, lambda: "lr" in form.edited(), what="the edit named")

        await press(pilot, "tab")
        await wait_until(pilot, lambda: lr.value == "0.003", what="the running lr back in the field")
        assert app.focused is None, "tab leaves the form rather than entering weight_decay"
        await wait_until(pilot, lambda: "lr" not in form.edited(), what="the description without lr")
        assert "lr" not in str(app.query_one("#preset-description", Static).content)
        assert "Not sent: lr 0.0005 (enter in the field sends it). The run keeps lr 0.003." in notes(app)

        await press(pilot, "2")  # a view key acts at once, as after enter
        await pilot.pause()
        assert app.current_view == InspectView.__name__
        assert app.query_one("#field-weight_decay", Input).value == "0"
        assert source.taken("set") == [] and app.run_state.changes == []


@run_async
async def test_escape_after_a_refused_value_puts_the_running_value_back_without_the_error() -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(endless_reports, pace=0.01), preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        await running_app(pilot, app)
        lr = await typed_in_lr(pilot, app, "-1")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: "lr" in form.errors, what="the error under the field")

        await press(pilot, "escape")
        await wait_until(pilot, lambda: lr.value == "0.003", what="the running lr back in the field")
        assert "lr" not in form.errors and str(app.query_one("#error-lr", Static).content) == ""
        assert "Not sent: lr must be greater than 0, not -1.0. The run keeps lr 0.003." in notes(app)


@run_async
async def test_a_click_elsewhere_puts_the_running_value_back() -> None:
    source = ScriptedSource(endless_reports, pace=0.01)
    app = MnistApp(CONFIG, source=source, preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await running_app(pilot, app)
        lr = await typed_in_lr(pilot, app, "0.0005")
        await pilot.click("#accuracy")
        await wait_until(pilot, lambda: lr.value == "0.003", what="the running lr back in the field")
        assert source.taken("set") == []


@run_async
async def test_tab_through_unedited_live_fields_moves_from_one_to_the_next() -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(endless_reports, pace=0.01), preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await running_app(pilot, app)
        await pilot.click("#field-lr")
        await press(pilot, "tab")
        weight_decay = app.query_one("#field-weight_decay", Input)
        await wait_until(pilot, lambda: app.focused is weight_decay, what="the next live field focused")
        assert not any("Not sent" in note for note in notes(app))


@run_async
async def test_a_value_sent_with_enter_stays_until_answered_and_a_refused_one_goes_back() -> None:
    """The field left by enter keeps what it sent until the engine answers; a refusal puts the running value back."""
    scripted = ScriptedSource(endless_reports, pace=0.01)

    def unanswered(config, run_id, stop, inbox=None, **options: Any):  # type: ignore[no-untyped-def]
        return scripted(config, run_id, stop, None, **options)  # the engine never takes the app's commands

    app = MnistApp(CONFIG, source=unanswered, preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await running_app(pilot, app)
        lr = await typed_in_lr(pilot, app, "0.0005")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: app.sent_commands, what="the set command sent")
        await pilot.pause(0.2)
        assert app.focused is None and lr.value == "0.0005"
        assert not any("Not sent" in note for note in notes(app))

        (command_id,) = app.sent_commands
        app.post_message(EngineEvent(CommandAnswered(
            run_id=app.run_id, command_id=command_id, command="set", accepted=False,
            message="the run cannot take it now", source="inbox",
        )))
        await wait_until(pilot, lambda: lr.value == "0.003", what="the running lr back after the refusal")
        assert "Not changed: the run cannot take it now" in notes(app)
        assert not any("Not sent" in note for note in notes(app))


@run_async
async def test_the_terminal_losing_focus_keeps_the_edit_in_the_field() -> None:
    app = MnistApp(CONFIG, source=ScriptedSource(endless_reports, pace=0.01), preset="smoke")
    async with app.run_test(size=SIZE) as pilot:
        await running_app(pilot, app)
        lr = await typed_in_lr(pilot, app, "0.0005")
        app.post_message(events.AppBlur())
        await wait_until(pilot, lambda: app.focused is None, what="the terminal's blur")
        await pilot.pause(0.2)
        app.post_message(events.AppFocus())
        await wait_until(pilot, lambda: app.focused is lr, what="the field focused again")
        assert lr.value == "0.0005"
        assert app.current_view == TrainView.__name__
