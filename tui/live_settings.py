"""The form's settings during a run: locked but for those the running optimizer can change.

:class:`LiveSettings` is :class:`~.config_form.ConfigForm`'s part while a run trains: ``enter``
in a live field checks it against the running config by the preset files' rules and posts
``SettingSubmitted``; a live field left any other way (escape, tab, a click elsewhere) gets the
running value back, with a note that the typed one was not sent; and as a pane it follows the
run's setting changes, whoever made them (the form, or a command file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.widgets import Input

from ..engine.config import FIELDS, Config, ConfigError, config_from_mapping, parse_value
from ..engine.events import CommandAnswered, Event, RunStarted, SettingsChanged
from .field_values import format_value
from .run_state import RunState

if TYPE_CHECKING:
    from .config_form import ConfigForm

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


class LiveSettings:
    """The live fields of :class:`~.config_form.ConfigForm` while a run trains (a mixin of it)."""

    running: Config | None
    live: tuple[str, ...]
    _sent: dict[str, str]
    _filling: bool

    def live_field_left(self: ConfigForm, name: str, field: Input) -> None:
        """Live field ``name`` lost the focus during a run: without ``enter``, it shows the running
        value again (QA: a typed lr left with tab stayed in the field, "edited", while the run
        trained on with the old one)."""
        if name in self.live and self._sent.get(name) != self.field_text(name):  # one sent stays until answered
            # Not when the terminal lost focus: Textual gives the field its focus back on its return.
            if self.app.app_focus and not field.has_focus:
                self._put_back(name, say=True)

    def send_setting(self: ConfigForm, name: str) -> None:
        """``enter`` in live field ``name``: its value, checked, goes to the run."""
        if name in self.live:
            value = self.read_setting(name)
            if value is not None:
                self._sent[name] = self.field_text(name)
                self.post_message(self.SettingSubmitted(name, value))
                self.screen.set_focus(None)  # the run's keys (p, n, x) work again at once

    def on_key(self: ConfigForm, event: events.Key) -> None:
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

    def lock_for_run(self: ConfigForm, running: Config) -> None:
        """Lock every field but the settings ``running``'s optimizer can change while it trains."""
        self.running, self._sent = running, {}
        self.live = LIVE_SETTINGS.get(running.optimizer, ())
        self.query_one("#preset").disabled = True
        for name in FIELDS:
            self.query_one(f"#field-{name}").disabled = name not in self.live

    def unlock_after_run(self: ConfigForm) -> None:
        """Every field editable again (the run ended)."""
        self.running, self.live, self._sent = None, (), {}
        self.query_one("#preset").disabled = False
        for name in FIELDS:
            self.query_one(f"#field-{name}").disabled = False

    def read_setting(self: ConfigForm, name: str) -> float | None:
        """A live setting's field, checked against the running config; None with the error under the field."""
        value = self._setting(name)
        if isinstance(value, str):
            self._show_error(name, value)
            # The field may be the last row in view: its error, under it, would be out of sight.
            self.call_after_refresh(self._scroll_to_error, name)
            return None
        self._show_error(name, None)
        return value

    def _setting(self: ConfigForm, name: str) -> float | str:
        """A live setting's field checked against the running config: its value, or what is wrong with it."""
        assert self.running is not None
        try:
            parsed = parse_value(name, self.field_text(name))
            config_from_mapping({name: parsed}, source="form", base=self.running)
        except ConfigError as error:
            return str(error).removeprefix("form: ")
        return float(parsed)

    def _shows_running(self: ConfigForm, name: str) -> bool:
        """Whether live field ``name`` holds the running value (as typed, ``0.0030`` for 0.003 too)."""
        assert self.running is not None
        return self._setting(name) == getattr(self.running, name)

    def _put_back(self: ConfigForm, name: str, *, say: bool) -> None:
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

    def show_event(self: ConfigForm, event: Event, run: RunState) -> None:
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

    def show_run(self: ConfigForm, run: RunState) -> None:
        if self.running is None:
            return
        latest = {name: float(run.config[name]) for name in self.live if name in run.config}
        for change in run.changes:
            latest.update({name: new for name, (_, new) in change.changes.items()})
        self._show_settings(latest)

    def _show_settings(self: ConfigForm, values: dict[str, float]) -> None:
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
