"""The hyperparameter form: a preset picker and every config field, checked as preset files are.

Each field is parsed by the engine's own :func:`parse_value`, and the whole form by
:func:`config_from_mapping`, so the form gives the same messages as a preset file or ``--set``.
An error shows under its field; :meth:`ConfigForm.submit` posts :class:`ConfigForm.Submitted`
only when every field is valid.

During a run the form is locked (:meth:`ConfigForm.lock_for_run`) but for the settings the running
optimizer can change (``lr``, ``momentum``, ``weight_decay``, where it has them): ``enter`` in one
of those checks it by the same rules and posts :class:`ConfigForm.SettingSubmitted`. Such a field
shows what is running: left any other way (escape, tab, a click elsewhere) it gets the running value
back and a note says the typed one was not sent. As a pane it follows the run's setting changes,
whoever made them (the form, or a command file).
"""

from __future__ import annotations

import functools
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static
from textual.widgets._select import SelectOverlay

from ..engine.config import CHOICES, FIELDS, Config, ConfigError, config_from_mapping, field_docs, parse_value
from ..engine.events import CommandAnswered, Event, RunStarted, SettingsChanged
from ..engine.presets import list_presets, load_preset, preset_description
from .field_input import FieldInput
from .pane import Pane
from .run_state import RunState

GROUPS: dict[str, tuple[str, ...]] = {
    "Model": ("hidden", "activation", "batch_norm", "dropout", "init"),
    "Optimizer": ("optimizer", "lr", "momentum", "nesterov", "weight_decay", "schedule", "step_epochs", "gamma"),
    "Training": ("epochs", "batch_size", "drop_last", "seed", "device", "cuda_graphs"),
    "Data": ("dataset", "eval_split", "holdout_fraction", "split_seed", "split_shuffle", "train_limit", "eval_limit"),
    "Run": ("name", "report_every", "gallery_size", "diverge_above"),
    "Inspect": ("inspect", "mistakes_per_cell", "weight_units"),
}
DEVICES = ("auto", "cpu", "cuda", "mps")
CUSTOM = "custom"
LIVE_SETTINGS: dict[str, tuple[str, ...]] = {
    "sgd": ("lr", "momentum", "weight_decay"),
    "rmsprop": ("lr", "momentum", "weight_decay"),
    "adagrad": ("lr", "weight_decay"),
    "adadelta": ("lr", "weight_decay"),
    "adam": ("lr", "weight_decay"),
    "adamw": ("lr", "weight_decay"),
    "radam": ("lr", "weight_decay"),
}
"""The settings a running engine can change, by optimizer: those its parameter groups hold
(tests/test_tui_steer_engine.py checks this against the engine's optimizers)."""


FLOAT_CHARS = 10
"""The longest number a field shows as it is: a cut-off ``2.97962336`` (for 2.97962336307e-06)
reads as another number. Longer ones show to four digits, their exact value kept behind the field."""


def exact_float(value: float) -> str:
    """The shortest text that parses back to ``value`` exactly: ``0.001``, ``1e-05``, ``2.9796233630685e-06``."""
    text = repr(value)  # Python's shortest round trip, positional from 1e-4 to 1e16
    return text.removesuffix(".0") if text.endswith(".0") else text


def format_value(value: Any) -> str:
    """A field's value as the form shows it: ``512,256``, ``0.001``, ``2.98e-06``, ``true``.

    A float whose exact text is longer than :data:`FLOAT_CHARS` shows to four significant digits:
    :class:`ConfigForm` keeps its exact value while the field shows that text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        text = exact_float(value)
        return text if len(text) <= FLOAT_CHARS else f"{value:.4g}"
    return str(value)


def field_of_error(message: str) -> str | None:
    """The field a whole-config error is about (its message starts with the field's name)."""
    words = message.split(": ")[-1].split()
    return words[0] if words and words[0] in FIELDS else None


class PresetSelect(Select[str]):
    """The preset picker: says which preset was picked, also the one already shown (Select posts
    Changed only for another value; QA picked smoke again to undo edits, and nothing happened)."""

    class Picked(Message):
        """A preset was picked from the list."""

        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    @on(SelectOverlay.UpdateSelection)
    def _picked(self, event: SelectOverlay.UpdateSelection) -> None:
        self.post_message(self.Picked(str(self._options[event.option_index][1])))  # Select's own handler runs next


class ConfigForm(Pane, Widget):
    """Preset picker and one widget per field: choices and flags as selects, the rest as text."""

    EVENTS = (RunStarted, SettingsChanged, CommandAnswered)

    DEFAULT_CSS = """
    ConfigForm { height: auto; }
    ConfigForm .group { margin-top: 1; text-style: bold; color: $accent; }
    ConfigForm .row { height: 1; }
    /* The label column holds the longest field name (mistakes_per_cell, 17) and a space; a compact
       select beside it keeps no padding, only its arrow, so the widest choice (kaiming_uniform, 15)
       shows whole in the 38-column sidebar. Under 110 columns each label stands above its field
       (app.tcss), which takes the sidebar's whole width. */
    ConfigForm .row Label { width: 18; color: $text-muted; }
    ConfigForm .row Input, ConfigForm .row Select { width: 1fr; }
    ConfigForm Select.-textual-compact > SelectCurrent { padding: 0; }
    ConfigForm Select.-textual-compact > SelectCurrent .arrow { padding: 0; }
    ConfigForm .error { color: $error; height: auto; display: none; }
    ConfigForm .error.-shown { display: block; }
    ConfigForm Input.-invalid { color: $error; }
    ConfigForm #preset-description { color: $text-muted; height: auto; }
    ConfigForm #field-help { color: $text-muted; height: auto; margin-top: 1; }
    """

    class Submitted(Message):
        """The form was submitted with every field valid."""

        def __init__(self, config: Config, preset: str | None) -> None:
            super().__init__()
            self.config = config
            self.preset = preset

    class SettingSubmitted(Message):
        """During a run, ``enter`` in a live setting's field with a valid value: change it in the engine."""

        def __init__(self, name: str, value: float) -> None:
            super().__init__()
            self.name = name
            self.value = value

    class Changed(Message):
        """The user picked a preset or edited a field: ``summary`` is what the form would now start."""

        def __init__(self, summary: str) -> None:
            super().__init__()
            self.summary = summary

    def __init__(self, config: Config, *, preset: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = config
        self.preset = preset
        self.errors: dict[str, str] = {}
        self._filling = False
        self._rounded: dict[str, tuple[str, str]] = {}
        """Per field showing a float rounded: (the text shown, the exact value's text). While the
        field shows that text, the form reads the exact value: a sweep trial's lr of
        2.9796233630685e-06 trains again as itself, not as 2.98e-06."""
        self.running: Config | None = None
        """The running configuration, with its settings as changed so far; None when no run is locking the form."""
        self.live: tuple[str, ...] = ()
        """The fields that stay editable during the run."""
        self._sent: dict[str, str] = {}
        """Live fields whose text ``enter`` sent, until the run answers: the field keeps it meanwhile."""
        self.summary = summarize(preset, self._edited_from(config))
        """What the form would start, as the status line names it: the preset, ``custom``, or ``smoke, edited``."""

    def compose(self) -> ComposeResult:
        presets = [(name, name) for name in list_presets()]
        yield Label("Preset", classes="group")
        yield PresetSelect(
            [*presets, (CUSTOM, CUSTOM)], value=self.preset or CUSTOM, allow_blank=False,
            id="preset", compact=True,
        )
        yield Static(self._describe(self.preset, self._edited_from(self._initial)), id="preset-description")
        docs = field_docs()
        for title, names in GROUPS.items():
            yield Label(title, classes="group")
            for name in names:
                with Horizontal(classes="row"):
                    yield Label(name)
                    yield self._widget(name, getattr(self._initial, name), docs.get(name, ""))
                yield Static("", id=f"error-{name}", classes="error")
        yield Static("", id="field-help")

    def _widget(self, name: str, value: Any, doc: str) -> Widget:
        field_id = f"field-{name}"
        if name in CHOICES or name == "device":
            choices = CHOICES.get(name, device_choices(value))
            widget: Widget = Select([(c, c) for c in choices], value=value, allow_blank=False, id=field_id, compact=True)
        elif isinstance(value, bool):
            widget = Select([("true", True), ("false", False)], value=value, allow_blank=False, id=field_id, compact=True)
        else:
            widget = FieldInput(self._text_of(name, value), id=field_id, compact=True)
        widget.tooltip = self._tooltip_of(name, doc)
        return widget

    def _text_of(self, name: str, value: Any) -> str:
        """``value`` as field ``name`` shows it, remembering the exact value when the text rounds it."""
        text = format_value(value)
        if isinstance(value, float) and float(text) != value:
            self._rounded[name] = (text, exact_float(value))
        else:
            self._rounded.pop(name, None)
        return text

    def _tooltip_of(self, name: str, doc: str) -> str:
        if name in self._rounded:
            shown, exact = self._rounded[name]
            return f"{doc}\n\nShown rounded: the value is {exact} while the field reads {shown}."
        return doc

    def _show_value(self, name: str, value: Any) -> None:
        """Field ``name`` (a text field) shows ``value``; its tooltip says when that is rounded."""
        widget = self.query_one(f"#field-{name}", Input)
        widget.value = self._text_of(name, value)
        widget.tooltip = self._tooltip_of(name, field_docs().get(name, ""))

    def field_text(self, name: str) -> str:
        """A text field's value as the form reads it: the exact value while the field shows it rounded."""
        text = self.query_one(f"#field-{name}", Input).value
        shown, exact = self._rounded.get(name, (None, None))
        return exact if text == shown and exact is not None else text

    # --- reading and filling ------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """Every field's current widget value, as text for inputs."""
        values: dict[str, Any] = {}
        for name in FIELDS:
            widget = self.query_one(f"#field-{name}")
            values[name] = self.field_text(name) if isinstance(widget, Input) else widget.value  # type: ignore[attr-defined]
        return values

    def load(self, config: Config, preset: str | None = None) -> None:
        """Fill every field from ``config`` and clear the errors."""
        self._filling = True
        try:
            for name in FIELDS:
                widget = self.query_one(f"#field-{name}")
                value = getattr(config, name)
                if isinstance(widget, Input):
                    self._show_value(name, value)
                elif isinstance(widget, Select) and name == "device" and value not in DEVICES:
                    widget.set_options([(c, c) for c in device_choices(value)])
                    widget.value = value
                else:
                    widget.value = value  # type: ignore[attr-defined]
            self.preset = preset
            self.query_one("#preset", Select).value = preset or CUSTOM
            self._show_description()
        finally:
            self._filling = False
        for name in list(self.errors):
            self._show_error(name, None)

    def read(self) -> Config | None:
        """The form as a Config, or None with every problem shown under its field."""
        config, problems = self._check()
        for name in FIELDS:
            self._show_error(name, problems.get(name))
        return config

    def _check(self) -> tuple[Config | None, dict[str, str]]:
        """The form as a Config, else every field's problem at once (QA: one per press of s).

        The config's rules stop at the first broken one, so a field found wrong takes its default
        and the rest are checked again, until they pass or a problem names no new field."""
        parsed: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for name, value in self.values().items():
            if isinstance(value, str) and FIELDS[name].type != "str" or name == "name":
                try:
                    value = parse_value(name, value)
                except ConfigError as error:
                    problems[name] = str(error)
                    continue
            parsed[name] = value
        while True:
            try:
                config = config_from_mapping(parsed, source="form")
            except ConfigError as error:
                message = str(error).removeprefix("form: ")
                name = field_of_error(message) or "name"
                if name in problems:
                    return None, problems
                problems[name] = message
                parsed.pop(name, None)
                continue
            return (None if problems else config), problems

    def submit(self) -> bool:
        """Post :class:`Submitted` if the form is valid; otherwise show why and scroll to the first problem.

        Focus stays where it is, so the single-key commands (q, ?) keep working.
        """
        config = self.read()
        if config is None:
            first = next(name for name in FIELDS if name in self.errors)
            self.query_one(f"#error-{first}").scroll_visible(animate=False)
            return False
        self.post_message(self.Submitted(config, self.preset))
        return True

    # --- events -------------------------------------------------------------------------

    @on(PresetSelect.Picked)
    def _preset_picked_again(self, event: PresetSelect.Picked) -> None:
        if event.value == self.preset:  # the fields back to the preset's values
            self.load(load_preset(event.value), event.value)
            self.post_message(self.Changed(self.summary))

    @on(Select.Changed, "#preset")
    def _preset_chosen(self, event: Select.Changed) -> None:
        if self._filling or event.value == (self.preset or CUSTOM):
            return
        if event.value == CUSTOM:  # the fields stay as they are; a run of them starts from no preset
            self.preset = None
            self._show_description()
            return
        self.load(load_preset(str(event.value)), str(event.value))
        self.post_message(self.Changed(self.summary))

    @on(Select.Changed)
    def _choice_changed(self, event: Select.Changed) -> None:
        if not self._filling and event.select.id != "preset":
            self._show_description()
            if event.select.has_focus_within:
                self._keep_in_view(event.select)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        if self._filling or name not in FIELDS:
            return
        self._show_description()
        if name in self._rounded and event.value != self._rounded[name][0]:
            del self._rounded[name]  # edited: the field now holds what it shows
            event.input.tooltip = self._tooltip_of(name, field_docs().get(name, ""))
        try:
            parse_value(name, event.value)
            if name in ("name",):
                config_from_mapping({name: event.value}, source="form")
            self._show_error(name, None)
        except ConfigError as error:
            self._show_error(name, str(error).removeprefix("form: "))
        if event.input.has_focus:
            self._keep_in_view(event.input)

    @on(Input.Blurred)
    def _input_left(self, event: Input.Blurred) -> None:
        """A field left with a value out of range is marked now, not at the next s: typing checks
        the type only, as a half-typed 0.001 is 0 for a moment. During a run, a live field left
        without ``enter`` shows the running value again (QA: a typed lr left with tab stayed in the
        field, "edited", while the run trained on with the old one)."""
        name = (event.input.id or "").removeprefix("field-")
        if self._filling or name not in FIELDS:
            return
        if self.running is None:
            self._show_error(name, self._check()[1].get(name))
        elif name in self.live and self._sent.get(name) != self.field_text(name):  # one sent stays until answered
            # Not when the terminal lost focus: Textual gives the field its focus back on its return.
            if self.app.app_focus and not event.input.has_focus:
                self._put_back(name, say=True)

    def on_key(self, event: events.Key) -> None:
        """During a run, tab out of an edited live field leaves the form as escape does, rather than
        entering the next live field: QA's ``2`` for Inspect, pressed next, typed a weight_decay of 2."""
        field = self.screen.focused
        if event.key not in ("tab", "shift+tab") or not isinstance(field, Input) or self.running is None:
            return
        name = (field.id or "").removeprefix("field-")
        if name in self.live and not self._shows_running(name):
            event.stop()
            event.prevent_default()
            self.screen.set_focus(None)  # its Blurred puts the running value back

    def _keep_in_view(self, widget: Widget) -> None:
        """The field being edited and its error in view once laid out again: the preset's
        description above grows or shrinks as fields are edited (smoke's four lines became the
        three of "smoke, edited: ..."), which moved a field on the sidebar's top row out of sight."""
        name = (widget.id or "").removeprefix("field-")
        error = self.query_one(f"#error-{name}")

        def scroll() -> None:
            if error.display:
                error.scroll_visible(animate=False)
            widget.scroll_visible(animate=False)  # after the error: where both do not fit, the field

        self.call_after_refresh(scroll)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        if self.running is None:
            self.submit()
            return
        name = (event.input.id or "").removeprefix("field-")
        if name in self.live:
            value = self.read_setting(name)
            if value is not None:
                self._sent[name] = self.field_text(name)
                self.post_message(self.SettingSubmitted(name, value))
                self.screen.set_focus(None)  # the run's keys (p, n, x) work again at once

    # --- during a run -------------------------------------------------------------------

    def lock_for_run(self, running: Config) -> None:
        """Lock every field but the settings ``running``'s optimizer can change while it trains."""
        self.running, self._sent = running, {}
        self.live = LIVE_SETTINGS.get(running.optimizer, ())
        self.query_one("#preset").disabled = True
        for name in FIELDS:
            self.query_one(f"#field-{name}").disabled = name not in self.live

    def unlock_after_run(self) -> None:
        """Every field editable again (the run ended)."""
        self.running, self.live, self._sent = None, (), {}
        self.query_one("#preset").disabled = False
        for name in FIELDS:
            self.query_one(f"#field-{name}").disabled = False

    def read_setting(self, name: str) -> float | None:
        """A live setting's field, checked against the running config; None with the error under the field."""
        value = self._setting(name)
        if isinstance(value, str):
            self._show_error(name, value)
            # The field may be the last row in view: its error, under it, would be out of sight.
            self.call_after_refresh(self.query_one(f"#error-{name}").scroll_visible, animate=False)
            return None
        self._show_error(name, None)
        return value

    def _setting(self, name: str) -> float | str:
        """A live setting's field checked against the running config: its value, or what is wrong with it."""
        assert self.running is not None
        try:
            parsed = parse_value(name, self.field_text(name))
            config_from_mapping({name: parsed}, source="form", base=self.running)
        except ConfigError as error:
            return str(error).removeprefix("form: ")
        return float(parsed)

    def _shows_running(self, name: str) -> bool:
        """Whether live field ``name`` holds the running value (as typed, ``0.0030`` for 0.003 too)."""
        assert self.running is not None
        return self._setting(name) == getattr(self.running, name)

    def _put_back(self, name: str, *, say: bool) -> None:
        """Live field ``name`` shows the running value again; with ``say``, a note that what it
        held was not sent (it was left without ``enter``)."""
        assert self.running is not None
        running = getattr(self.running, name)
        held = self._setting(name)
        if say and held != running:
            # "lr 0.0005 (enter ...)", or what makes it no value to send: "lr must be greater than 0, not -1.0".
            what = f"{name} {format_value(held)} (enter in the field sends it)" if isinstance(held, float) else held
            self.notify(f"Not sent: {what}. The run keeps {name} {format_value(running)}.", timeout=5)
        self._filling = True
        try:
            self._show_value(name, running)
            self._show_error(name, None)
        finally:
            self._filling = False

    def show_event(self, event: Event, run: RunState) -> None:
        if self.running is None:
            return  # a replayed run's changes are not the form's settings
        if isinstance(event, RunStarted):
            self.show_run(run)  # a resumed run goes on with the settings changed before its stop
        elif isinstance(event, SettingsChanged):
            self._show_settings({name: new for name, (_, new) in event.changes.items()})
        elif isinstance(event, CommandAnswered) and event.command == "set":
            # A value sent and refused shows the running one again (the app says why it was refused).
            sent, self._sent = self._sent, {}
            for name in sent:
                if not self.query_one(f"#field-{name}").has_focus:
                    self._put_back(name, say=False)

    def show_run(self, run: RunState) -> None:
        if self.running is None:
            return
        latest = {name: float(run.config[name]) for name in self.live if name in run.config}
        for change in run.changes:
            latest.update({name: new for name, (_, new) in change.changes.items()})
        self._show_settings(latest)

    def _show_settings(self, values: dict[str, float]) -> None:
        """The running settings as changed (by this form, or by a command file)."""
        if self.running is None:
            return
        values = {name: value for name, value in values.items() if value != getattr(self.running, name)}
        if not values:
            return
        self._filling = True
        try:
            for name, value in values.items():
                if name in FIELDS:
                    self._show_value(name, value)
                    self._show_error(name, None)
                    self._sent.pop(name, None)
        finally:
            self._filling = False
        self.running = self.running.replace(source="engine", **values)

    def on_descendant_focus(self, event: Any) -> None:
        name = (getattr(event.widget, "id", "") or "").removeprefix("field-")
        doc = field_docs().get(name)
        self.query_one("#field-help", Static).update(f"{name}: {doc}" if doc else "")

    def _show_error(self, name: str, message: str | None) -> None:
        if message is None:
            self.errors.pop(name, None)
        else:
            self.errors[name] = message
        self.query_one(f"#error-{name}", Static).update(message or "")
        self.query_one(f"#error-{name}").set_class(message is not None, "-shown")
        widget = self.query_one(f"#field-{name}")
        widget.set_class(message is not None, "-invalid")

    def edited(self) -> list[str]:
        """The fields where the form no longer holds the picked preset's value (none without a preset)."""
        return self._edited_from(self.values()) if self.preset else []

    def _edited_from(self, values: Config | dict[str, Any]) -> list[str]:
        """The fields where ``values`` (a config, or the fields' texts) differ from the picked preset's."""
        base = preset_config(self.preset) if self.preset else None
        if base is None:
            return []
        if isinstance(values, Config):
            values = {name: getattr(values, name) for name in FIELDS}
        edited = []
        for name, value in values.items():
            if isinstance(value, str) and (FIELDS[name].type != "str" or name == "name"):
                try:
                    value = parse_value(name, value)
                except ConfigError:
                    edited.append(name)  # not the preset's value, whatever it was meant to be
                    continue
            if value != getattr(base, name):
                edited.append(name)
        return edited

    def _show_description(self) -> None:
        """The preset's description under the picker, and :attr:`summary` posted as :class:`Changed`
        (also after a fill, by its fields' own Changed messages: the app takes it only while idle)."""
        edited = self.edited()
        self.query_one("#preset-description", Static).update(self._describe(self.preset, edited))
        self.summary = summarize(self.preset, edited)
        if not self._filling:
            self.post_message(self.Changed(self.summary))

    @staticmethod
    def _describe(preset: str | None, edited: list[str]) -> str:
        """The picked preset's description; once fields are edited, which ones, since a run is still
        recorded as started from that preset (summary.json's ``preset``, the Runs view's comparison)."""
        if not preset:
            return "Your own configuration."
        if edited:
            return f"{preset}, edited: {', '.join(edited)}. A run records {preset} as the preset it started from."
        return preset_description(preset)


def summarize(preset: str | None, edited: list[str]) -> str:
    """The form's configuration in a few words, as its description begins: ``smoke``, ``smoke, edited``, ``custom``."""
    if not preset:
        return CUSTOM
    return f"{preset}, edited" if edited else preset


@functools.lru_cache(maxsize=None)
def preset_config(name: str) -> Config | None:
    """A shipped preset's config, read once; None for a name no shipped preset has (an old run's)."""
    try:
        return load_preset(name)
    except ConfigError:
        return None


def device_choices(current: str) -> tuple[str, ...]:
    """The device choices, with ``current`` added when it is a specific one such as cuda:1."""
    return DEVICES if current in DEVICES else (*DEVICES, current)
