"""The hyperparameter form inside the dashboard: the engine's checks, presets, and the config a run gets."""

from __future__ import annotations

from typing import Any

import pytest
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from mnist_tui.engine.config import FIELDS, Config, ConfigError, parse_value
from mnist_tui.engine.presets import list_presets, load_preset, preset_description
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import CUSTOM, GROUPS, ConfigForm
from mnist_tui.tui.field_values import exact_float, format_value
from mnist_tui.tui.status_bar import StatusBar
from tui_script import ScriptedSource, error_shown, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke")
SIZE = (120, 40)


def make_app(
    source: ScriptedSource, messages: list[Message] | None = None, size: tuple[int, int] = SIZE
) -> tuple[MnistApp, Any]:
    app = MnistApp(CONFIG, source=source, preset="smoke")
    hook = messages.append if messages is not None else None
    return app, app.run_test(size=size, message_hook=hook)


def engine_message(**values: Any) -> str:
    """What the engine says about these values (text is parsed first, as ``--set`` does)."""
    try:
        parsed = {name: parse_value(name, value) if isinstance(value, str) else value for name, value in values.items()}
        Config(**parsed)
    except ConfigError as error:
        return str(error)
    raise AssertionError(f"the engine accepts {values}")


def field(app: MnistApp, name: str) -> Any:
    return app.query_one(f"#field-{name}")


def test_every_config_field_has_one_row_in_the_form() -> None:
    placed = [name for names in GROUPS.values() for name in names]
    assert sorted(placed) == sorted(FIELDS)


@run_async
async def test_invalid_fields_block_the_start_and_show_the_engines_messages_until_fixed() -> None:
    """batch_size abc, hidden 0, lr -1, then nesterov with adam: s starts nothing until each is fixed.

    A value that does not parse is flagged as it is typed; a value out of range, or a clash between
    two fields, when its field is left or s is pressed (every one at once: test_tui_qa_train.py).
    Once all are fixed, the run gets the edited config.
    """
    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source)
    async with running as pilot:
        field(app, "batch_size").value = "abc"
        field(app, "hidden").value = "0"
        field(app, "lr").value = "-1"
        await pilot.pause()
        assert error_shown(app, "batch_size") == engine_message(batch_size="abc")
        assert field(app, "batch_size").has_class("-invalid")
        assert error_shown(app, "hidden") is None and error_shown(app, "lr") is None

        await press(pilot, "s")
        assert source.calls == [] and app.state == "idle"
        assert error_shown(app, "batch_size") == engine_message(batch_size="abc")

        field(app, "batch_size").value = "128"
        await pilot.pause()
        assert error_shown(app, "batch_size") is None and not field(app, "batch_size").has_class("-invalid")
        await press(pilot, "s")
        assert source.calls == [] and app.state == "idle"
        assert error_shown(app, "hidden") == engine_message(hidden="0")
        assert field(app, "hidden").has_class("-invalid")

        field(app, "hidden").value = "256, 128"
        await press(pilot, "s")
        assert source.calls == [] and app.state == "idle"
        assert error_shown(app, "hidden") is None
        assert error_shown(app, "lr") == engine_message(lr="-1")

        field(app, "lr").value = "0.01"
        field(app, "nesterov").value = True  # with optimizer adam: the engine refuses the pair
        await press(pilot, "s")
        message = engine_message(nesterov=True, optimizer="adam")
        assert "sgd" in message
        assert error_shown(app, "nesterov") == message
        assert error_shown(app, "lr") is None
        assert source.calls == [] and app.state == "idle"
        assert app.query_one(StatusBar).state == "idle"

        field(app, "optimizer").value = "sgd"
        field(app, "momentum").value = "0.9"
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running")
        assert source.last.config == CONFIG.replace(
            batch_size=128, hidden=(256, 128), lr=0.01, optimizer="sgd", momentum=0.9, nesterov=True
        )
        assert all(error_shown(app, name) is None for name in FIELDS)


@run_async
async def test_typed_edits_start_a_run_with_the_edited_config() -> None:
    """Keys typed into a field edit it (s, q and x there are text, not commands); enter starts the run."""
    messages: list[Message] = []
    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source, messages)
    async with running as pilot:
        app.set_focus(field(app, "name"))
        await pilot.press("end", "s", "q", "x")  # focus selected the text: end keeps it
        assert field(app, "name").value == "smokesqx"
        assert source.calls == [] and app.return_value is None and app.state == "idle"

        field(app, "epochs").value = "3"
        app.set_focus(field(app, "lr"))
        await pilot.press("end", "backspace", "5")  # 0.003 -> 0.005
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.state == "running")

        expected = CONFIG.replace(name="smokesqx", epochs=3, lr=0.005)
        assert source.last.config == expected
        # One message, seen once per node it bubbles through on its way to the app.
        submitted = {id(m): m for m in messages if isinstance(m, ConfigForm.Submitted)}
        assert [(m.config, m.preset) for m in submitted.values()] == [(expected, "smoke")]
        form = app.query_one(ConfigForm)  # locked while the run goes on, but for its live settings
        assert form.query_one("#preset").disabled and form.live == ("lr", "weight_decay")
        assert all(form.query_one(f"#field-{name}").disabled != (name in form.live) for name in FIELDS)


@pytest.mark.parametrize(
    "keys",
    [
        ("end", "ctrl+u", "0", ".", "0", "5", "enter"),  # clear the field, then type
        ("backspace", "0", ".", "0", "5", "enter"),  # the text selected on focus, deleted
        ("end", *["backspace"] * 5, "0", ".", "0", "5", "enter"),
    ],
    ids=["ctrl+u", "selected", "backspaces"],
)
@run_async
async def test_a_burst_of_keys_edits_a_field_in_the_order_typed(keys: tuple[str, ...]) -> None:
    """Keys sent at once (``tmux send-keys``, a fast typist), with no time for the app between them:
    the field's editing keys (backspace, ctrl+u...) acted after the characters typed behind them,
    so ``end ctrl+u 0.05`` left the field empty and ``backspace 0.05`` left 0.0."""
    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source)
    async with running as pilot:
        app.set_focus(field(app, "lr"))
        await pilot.pause()
        for key in keys:  # as the terminal's reader posts them: none waits for the one before
            app.simulate_key(key)
        # The run, or the field's error under the text the keys left: mid-burst the error of the
        # emptied field may still show under 0.05 (its Changed is handled after the text changed).
        await wait_until(
            pilot,
            lambda: source.calls or (error_shown(app, "lr") and field(app, "lr").value != "0.05"),
            what="the run, or the field's error under the wrong text",
        )
        assert (field(app, "lr").value, error_shown(app, "lr")) == ("0.05", None)
        assert source.last.config == CONFIG.replace(lr=0.05)


@run_async
async def test_choosing_a_preset_fills_every_field() -> None:
    """Picked with the keyboard from the preset menu; a pending error is cleared; s runs the preset."""
    target = "sigmoid-sgd"
    preset = load_preset(target)
    assert preset != CONFIG
    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source)
    async with running as pilot:
        field(app, "batch_size").value = "abc"
        await pilot.pause()
        assert error_shown(app, "batch_size") is not None

        menu = app.query_one("#preset", Select)
        options = [*list_presets(), CUSTOM]
        app.set_focus(menu)
        await pilot.press("enter")
        moves = options.index(target) - options.index("smoke")
        await pilot.press(*(["down"] * moves if moves > 0 else ["up"] * -moves), "enter")
        await wait_until(pilot, lambda: menu.value == target, what="the preset to be chosen")

        form = app.query_one(ConfigForm)
        for name in FIELDS:
            value = getattr(preset, name)
            shown = field(app, name).value
            assert shown == (format_value(value) if isinstance(field(app, name), Input) else value), name
        assert form.preset == target
        assert str(app.query_one("#preset-description", Static).content) == preset_description(target)
        assert error_shown(app, "batch_size") is None
        assert form.read() == preset

        app.set_focus(None)
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running")
        assert source.last.config == preset


@run_async
async def test_the_preset_description_follows_custom_and_edited_fields() -> None:
    """Custom chosen by hand says so (it kept the previous preset's description), and a run of it
    starts from no preset; an edited preset stays the run's preset (README: summary.json's
    ``preset`` is the one the run started from) and its description names the edited fields."""
    messages: list[Message] = []
    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source, messages)
    async with running as pilot:
        form = app.query_one(ConfigForm)
        description = app.query_one("#preset-description", Static)
        assert str(description.content) == preset_description("smoke")

        field(app, "lr").value = "0.5"
        field(app, "init").value = "kaiming_normal"
        await pilot.pause()
        assert str(description.content).startswith("smoke, edited: init, lr.")
        assert form.preset == "smoke" and app.query_one("#preset", Select).value == "smoke"
        field(app, "lr").value = format_value(CONFIG.lr)
        field(app, "init").value = CONFIG.init
        await pilot.pause()
        assert str(description.content) == preset_description("smoke"), "back to the preset's values"

        menu = app.query_one("#preset", Select)
        app.set_focus(menu)
        options = [*list_presets(), CUSTOM]
        await pilot.press("enter", *["down"] * (options.index(CUSTOM) - options.index("smoke")), "enter")
        await wait_until(pilot, lambda: menu.value == CUSTOM, what="custom to be chosen")
        await pilot.pause()
        assert str(description.content) == "Your own configuration."
        assert form.preset is None and form.read() == CONFIG, "the fields stay as they were"

        app.set_focus(None)
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running")
        submitted = {id(m): m for m in messages if isinstance(m, ConfigForm.Submitted)}
        assert [m.preset for m in submitted.values()] == [None]


def screen_lines(app: MnistApp) -> list[str]:
    """The screen's text, row by row, as the terminal shows it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_every_label_and_every_choice_shows_whole(size: tuple[int, int]) -> None:
    """Each label stands clear of its value (mistakes_per_cell, 17 characters, ran into its 3) and
    each select's value area holds its longest choice (init kaiming_uniform was cut to
    ``kaiming_unif``, and to ``kaiming`` beside ``schedule constan`` at 80x24), both on screen."""
    app, running = make_app(ScriptedSource(), size=size)
    async with running as pilot:
        form = app.query_one(ConfigForm)
        for names in GROUPS.values():
            for name in names:
                widget = field(app, name)
                label = widget.parent.query_one(Label)
                assert str(label.content) == name
                value = widget.content_region
                assert label.region.width > len(name), name
                assert label.region.right <= value.x or label.region.bottom <= value.y, f"{name} overlaps its value"
                assert value.right <= form.content_region.right + 1, name
                if isinstance(widget, Select):
                    longest = max(len(str(prompt)) for prompt, _ in widget._options)
                    shown = widget.query_one("SelectCurrent #label").content_region
                    assert shown.width >= longest, f"{name}: {shown.width} cells for {longest}"

        for name, value in (("mistakes_per_cell", "3"), ("init", "kaiming_uniform")):
            widget = field(app, name)
            widget.value = value
            await pilot.pause()  # the preset's description says what was edited: the form moves down
            widget.parent.scroll_visible(animate=False, top=True)  # the row: its label with its field
            await pilot.pause()
            await pilot.pause()
            lines = screen_lines(app)
            label = widget.parent.query_one(Label).region
            row = lines[label.y]
            assert row[label.x : label.x + len(name) + 1] == name + " ", row
            text = lines[widget.region.y][widget.region.x : widget.region.right]
            assert text.startswith(value) and text[len(value)] in " ▼", (name, text)
            if isinstance(widget, Select):  # and its arrow (right after the widest choice)
                assert text.rstrip().endswith("▼"), text

        widget = field(app, "init")
        app.set_focus(widget)
        await pilot.press("enter")
        await pilot.pause()
        options = widget.query_one("SelectOverlay")
        lines = screen_lines(app)
        shown = [lines[y][options.region.x : options.region.right].strip() for y in range(options.region.y, options.region.bottom)]
        for choice in ("kaiming_uniform", "kaiming_normal", "xavier_uniform"):
            assert choice in shown, (choice, shown)


def test_floats_show_exactly_when_they_fit_and_to_four_digits_when_not() -> None:
    assert [format_value(v) for v in (0.001, 1e-05, 100.0, 0.5)] == ["0.001", "1e-05", "100", "0.5"]
    assert format_value(2.9796233630685e-06) == "2.98e-06"
    assert format_value(0.142857142857) == "0.1429"
    for value in (0.001, 1e-05, 2.9796233630685e-06, 0.142857142857, 1 / 3, 5e-324):
        assert float(exact_float(value)) == value
    assert exact_float(2.9796233630685e-06) == "2.9796233630685e-06"


@run_async
async def test_a_rounded_float_trains_as_its_exact_value_until_it_is_edited() -> None:
    """A sweep trial's lr of 2.9796233630685e-06 shows as 2.98e-06, whole in its field (the exact
    text was cut off at 2.97962336, which reads as another number); s trains the exact value, and
    the tooltip says both. Once edited, the field holds what it shows."""
    exact = 2.9796233630685e-06
    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source)  # under 110 columns the field is wide enough for the exact text
    async with running as pilot:
        form = app.query_one(ConfigForm)
        form.load(CONFIG.replace(lr=exact, holdout_fraction=0.142857142857), "smoke")
        await pilot.pause()
        lr = field(app, "lr")
        assert lr.value == "2.98e-06"
        assert len(lr.value) < lr.content_region.width, "the whole number is in view"
        assert len(exact_float(exact)) > lr.content_region.width, "its exact text would not be"
        assert "2.9796233630685e-06" in str(lr.tooltip) and "2.98e-06" in str(lr.tooltip)
        assert form.read() == CONFIG.replace(lr=exact, holdout_fraction=0.142857142857)

        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running")
        assert source.last.config.lr == exact

    source = ScriptedSource(training_run(end=False))
    app, running = make_app(source)
    async with running as pilot:
        form = app.query_one(ConfigForm)
        form.load(CONFIG.replace(lr=exact), "smoke")
        await pilot.pause()
        field(app, "lr").value = "2.9e-06"
        await pilot.pause()
        assert "Shown rounded" not in str(field(app, "lr").tooltip)
        field(app, "lr").value = "2.98e-06"
        await pilot.pause()
        assert form.read().lr == 2.98e-06, "typed, it is the number typed"


@run_async
async def test_an_editing_key_shows_the_cursor_as_an_input_does() -> None:
    """Input restarts its cursor's blink at every key; a key acted on as it arrives skipped that,
    and a cursor caught in its dark phase stayed hidden while it moved."""
    app, running = make_app(ScriptedSource())
    async with running as pilot:
        lr = field(app, "lr")
        app.set_focus(lr)
        await pilot.pause()
        for key in ("left", "end", "backspace"):
            lr._cursor_visible = False  # the blink's dark phase
            await pilot.press(key)
            assert lr._cursor_visible, key


@run_async
async def test_the_status_line_names_the_forms_preset_while_idle_and_the_runs_while_it_runs() -> None:
    """Smoke picked in the form: the status line still said the launch preset until a run started."""
    source = ScriptedSource(training_run(end=False))
    app = MnistApp(load_preset("relu-adam-500"), source=source, preset="relu-adam-500")
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusBar)

        def status_line() -> str:
            return " ".join(screen_lines(app)[status.region.y].split())

        assert status_line() == "mnist-tui relu-adam-500 ● idle"
        menu = app.query_one("#preset", Select)
        options = [*list_presets(), CUSTOM]
        app.set_focus(menu)
        await pilot.press("enter", *["down"] * (options.index("smoke") - options.index("relu-adam-500")), "enter")
        await wait_until(pilot, lambda: menu.value == "smoke", what="smoke to be chosen")
        await wait_until(pilot, lambda: status.name_shown == "smoke", what="the status line to follow the form")
        await pilot.pause()
        assert status_line() == "mnist-tui smoke ● idle"

        field(app, "lr").value = "0.5"
        await wait_until(pilot, lambda: status.name_shown == "smoke, edited", what="the edit")
        app.set_focus(menu)
        await pilot.press("enter", *["down"] * (options.index(CUSTOM) - options.index("smoke")), "enter")
        await wait_until(pilot, lambda: status.name_shown == CUSTOM, what="custom")
        field(app, "name").value = "mine"

        app.set_focus(None)
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running")
        assert status.name_shown == "mine", "the running run's own name"
        field(app, "lr").value = "0.25"  # a live setting: the run's name stays
        await pilot.pause(0.1)
        assert status.name_shown == "mine"


@run_async
async def test_a_fields_error_line_is_mounted_under_it_at_its_first_error_and_kept() -> None:
    """A hidden error line under every field was an eighth of the dashboard's widgets (37 of 277),
    each mounted and restyled at every start and resize: a field's line now comes with its first
    error, right under the field's row, and stays, hidden, once the field is fixed."""
    app, running = make_app(ScriptedSource())
    async with running as pilot:
        form = app.query_one(ConfigForm)
        await pilot.pause()
        assert list(form.query(".error")) == []
        field(app, "hidden").value = "abc"
        await wait_until(pilot, lambda: error_shown(app, "hidden"), what="the error")
        line = form.error_line("hidden")
        assert line is not None
        await wait_until(pilot, lambda: line.region.y == field(app, "hidden").region.bottom, what="the line under its field")
        children = list(form.children)
        assert children.index(line) == children.index(field(app, "hidden").parent) + 1
        field(app, "hidden").value = "64"
        await wait_until(pilot, lambda: error_shown(app, "hidden") is None, what="the error hidden")
        assert form.error_line("hidden") is line and not line.display
        assert [node.id for node in form.query(".error")] == ["error-hidden"]
