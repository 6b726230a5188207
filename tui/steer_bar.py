"""The line where ``e`` takes new optimizer settings for the run: ``lr=0.0001 momentum=0.9``.

The dashboard's own run (its form hides during a run below 110 columns) or the one ``watch`` follows.
"""

from __future__ import annotations

import re

from textual import on
from textual.message import Message
from textual.widgets import Input

from ..engine.commands import SETTINGS
from ..engine.config import Config, ConfigError, parse_value
from .field_input import FieldInput


def parse_settings(text: str) -> dict[str, float]:
    """``lr=0.0001 momentum=0.9`` as values; a ConfigError names the first thing wrong."""
    values: dict[str, float] = {}
    for part in re.sub(r"\s*=\s*", "=", text.replace(",", " ")).split():  # lr = 0.001 as lr=0.001
        key, sep, value = part.partition("=")
        if not sep or key not in SETTINGS:
            raise ConfigError(f"write {', '.join(f'{s}=VALUE' for s in SETTINGS)}, not {part!r}")
        if key in values:
            raise ConfigError(f"{key} is given twice; give each setting once")
        parsed = parse_value(key, value)
        Config(**{key: parsed})  # the field's own rules (ranges), as a config file or the form checks them
        values[key] = float(parsed)
    if not values:
        raise ConfigError(f"type new settings such as lr=0.0001 ({', '.join(SETTINGS)})")
    return values


class SteerBar(FieldInput):
    """Hidden until ``e``; enter sends the settings (posted as :class:`SteerBar.SettingsTyped`), escape leaves."""

    DEFAULT_CSS = """
    SteerBar { display: none; }
    SteerBar.-open { display: block; }
    """

    class SettingsTyped(Message):
        """New settings for the run."""

        def __init__(self, values: dict[str, float]) -> None:
            super().__init__()
            self.values = values

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="new settings, e.g. lr=0.0001 momentum=0.9 (enter sends, escape leaves)", compact=True, id=id
        )

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self) -> None:
        self.add_class("-open")
        self.screen.add_class("-steering")  # notifications stand above the bar (app.tcss)
        self.focus()

    def close(self) -> None:
        """Hide the line, forgetting what was typed (nothing, if it is not open: the focus stays)."""
        if not self.is_open:
            return
        self.remove_class("-open")
        self.screen.remove_class("-steering")
        self.value = ""
        self.screen.set_focus(None)

    def key_escape(self) -> None:
        self.close()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            values = parse_settings(event.value)  # keys typed after enter may be in the field already
        except ConfigError as error:
            self.notify(str(error), severity="error")
            return
        self.close()
        self.post_message(self.SettingsTyped(values))
