"""The hyperparameter form: a preset picker and every config field, checked as preset files are.

Each field is parsed by the engine's own :func:`parse_value`, and the whole form by
:func:`config_from_mapping`, so the form gives the same messages as a preset file or ``--set``.
An error shows under its field; :meth:`ConfigForm.submit` posts :class:`ConfigForm.Submitted`
only when every field is valid.

During a run the form is locked (:meth:`ConfigForm.lock_for_run`) but for the settings the running
optimizer can change (``lr``, ``momentum``, ``weight_decay``, where it has them): ``enter`` in one
of those posts :class:`ConfigForm.SettingSubmitted`. That part of the form, and how it follows the
run's setting changes, is in ``live_settings.py``.
"""

from __future__ import annotations

import functools
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static
from textual.widgets._select import SelectOverlay

from ..engine.config import CHOICES, FIELDS, Config, ConfigError, config_from_mapping, field_docs, parse_value
from ..engine.events import CommandAnswered, RunStarted, SettingsChanged
from ..engine.presets import list_presets, load_preset, preset_description
from .field_input import FieldInput
from .field_values import exact_float, format_value
from .live_settings import LiveSettings
from .pane import Pane

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


class ConfigForm(LiveSettings, Pane, Widget):
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
        self._error_lines: dict[str, Static] = {}
        """Each field's error line, once it had an error (:meth:`error_line`)."""

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
            self.call_after_refresh(self._scroll_to_error, first)  # a new error line has no place before then
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
        without ``enter`` shows the running value again (:meth:`live_field_left`)."""
        name = (event.input.id or "").removeprefix("field-")
        if self._filling or name not in FIELDS:
            return
        if self.running is None:
            self._show_error(name, self._check()[1].get(name))
        else:
            self.live_field_left(name, event.input)


    def _keep_in_view(self, widget: Widget) -> None:
        """The field being edited and its error in view once laid out again: the preset's
        description above grows or shrinks as fields are edited (smoke's four lines became the
        three of "smoke, edited: ..."), which moved a field on the sidebar's top row out of sight."""
        name = (widget.id or "").removeprefix("field-")

        def scroll() -> None:
            self._scroll_to_error(name)
            widget.scroll_visible(animate=False)  # after the error: where both do not fit, the field

        self.call_after_refresh(scroll)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        if self.running is None:
            self.submit()
            return
        self.send_setting((event.input.id or "").removeprefix("field-"))


    def on_descendant_focus(self, event: Any) -> None:
        name = (getattr(event.widget, "id", "") or "").removeprefix("field-")
        doc = field_docs().get(name)
        self.query_one("#field-help", Static).update(f"{name}: {doc}" if doc else "")

    def _show_error(self, name: str, message: str | None) -> None:
        if message is None:
            self.errors.pop(name, None)
        else:
            self.errors[name] = message
        widget = self.query_one(f"#field-{name}")
        widget.set_class(message is not None, "-invalid")
        error = self.error_line(name)
        if error is None and message is not None:
            # Each field's line is mounted at its first error: most never have one, and 37 hidden
            # lines were an eighth of the dashboard's widgets, each mounted, styled and restyled.
            error = self._error_lines[name] = Static(message, id=f"error-{name}", classes="error -shown")
            self.mount(error, after=widget.parent)
        elif error is not None:
            error.update(message or "")
            error.set_class(message is not None, "-shown")

    def error_line(self, name: str) -> Static | None:
        """The line under field ``name`` that shows its error; None until it first had one."""
        return self._error_lines.get(name)

    def _scroll_to_error(self, name: str) -> None:
        error = self.error_line(name)
        if error is not None and error.display:
            error.scroll_visible(animate=False)

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
