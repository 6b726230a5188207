"""The key bar: the dashboard's keys, greyed when they do nothing now (left off where they never
can); a click runs a key's action.

Textual's ``Footer`` recomposes itself (new child widgets, a relayout of the whole screen) every
time the bindings are refreshed: at each state change and whenever a screen is pushed or popped.
Closing the help screen during training spent most of its time there, so this bar is one
widget that repaints its single line instead.
"""

from __future__ import annotations

from typing import NamedTuple

from textual import events
from textual.content import Content
from textual.widget import Widget

GAP = 2
"""Cells between two keys."""


class Key(NamedTuple):
    key: str
    """What the bar shows (``?``)."""
    action: str
    """The app's action the key runs (``help``)."""
    description: str

    @property
    def label(self) -> str:
        return f"{self.key} {self.description}"


class KeyBar(Widget):
    """``s Start  p Pause/Resume  x Stop  ? Help  q Quit``; the app calls :meth:`update_keys`."""

    COMPONENT_CLASSES = {"key-bar--key"}
    DEFAULT_CSS = """
    KeyBar { height: 1; dock: bottom; background: $footer-background; padding: 0 1; }
    KeyBar > .key-bar--key { color: $accent; text-style: bold; }
    """

    def __init__(self, keys: tuple[Key, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys = keys
        self.enabled = tuple(True for _ in keys)
        """Which keys do something in the app's current state, as of the last :meth:`update_keys`."""
        self.shown = tuple(True for _ in keys)
        """Which keys are on the bar: all but those the app hides (``check_action`` False)."""

    def update_keys(self) -> None:
        """Follow the app's ``check_action``, as Textual's footer does: None greys a key out (it does
        nothing now, but may soon), False leaves it off the bar (it can do nothing here, such as
        steering a run that a watcher sees ended)."""
        answers = tuple(self.app.check_action(key.action, ()) for key in self.keys)
        enabled = tuple(bool(answer) for answer in answers)
        shown = tuple(answer is not False for answer in answers)
        if (enabled, shown) != (self.enabled, self.shown):
            self.enabled, self.shown = enabled, shown
            self.refresh()  # one line repainted; its size never changes

    def _on_bar(self) -> list[tuple[Key, bool]]:
        return [(key, enabled) for key, enabled, shown in zip(self.keys, self.enabled, self.shown) if shown]

    def key_at(self, x: int) -> Key | None:
        """The key whose label covers column ``x`` of the content, if any."""
        start = 0
        for key, _ in self._on_bar():
            if start <= x < start + len(key.label):
                return key
            start += len(key.label) + GAP
        return None

    def render(self) -> Content:
        key_style = self.get_visual_style("key-bar--key")
        labels = []
        for key, enabled in self._on_bar():
            label = Content(key.label)
            labels.append(label.stylize(key_style, 0, len(key.key)) if enabled else label.stylize("dim"))
        return Content(" " * GAP).join(labels)

    async def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        key = None if offset is None else self.key_at(offset.x)
        if key is not None and self.enabled[self.keys.index(key)]:
            await self.app.run_action(key.action)
