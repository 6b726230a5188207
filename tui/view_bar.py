"""The view bar: the dashboard's views by number (``1 Train  2 Inspect``), the current one marked; a click switches."""

from __future__ import annotations

from typing import NamedTuple

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

GAP = 2


class Tab(NamedTuple):
    key: str
    view: str
    """The view's id."""
    title: str

    @property
    def label(self) -> str:
        return f" {self.key} {self.title} "


class ViewBar(Widget):
    """One line of tabs; the app sets ``current``, a click posts :class:`ViewBar.Chosen`."""

    COMPONENT_CLASSES = {"view-bar--current", "view-bar--key"}
    DEFAULT_CSS = """
    ViewBar { height: 1; dock: top; background: $panel; padding: 0 1; }
    ViewBar > .view-bar--current { background: $accent; color: $text; text-style: bold; }
    ViewBar > .view-bar--key { color: $accent; text-style: bold; }
    """

    class Chosen(Message):
        """The user clicked a view's tab."""

        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    def __init__(self, tabs: tuple[Tab, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tabs = tabs
        self._current = tabs[0].view if tabs else ""

    @property
    def current(self) -> str:
        return self._current

    @current.setter
    def current(self, view: str) -> None:
        if view != self._current:
            self._current = view
            self.refresh()  # one line; its size never changes

    def tab_at(self, x: int) -> Tab | None:
        """The tab whose label covers column ``x`` of the content, if any."""
        start = 0
        for tab in self.tabs:
            if start <= x < start + len(tab.label):
                return tab
            start += len(tab.label) + GAP
        return None

    def render(self) -> Content:
        current = self.get_visual_style("view-bar--current")
        key = self.get_visual_style("view-bar--key")
        labels = []
        for tab in self.tabs:
            label = Content(tab.label)
            if tab.view == self._current:
                labels.append(label.stylize(current))
            else:
                labels.append(label.stylize(key, 1, 1 + len(tab.key)))
        return Content(" " * GAP).join(labels)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        tab = None if offset is None else self.tab_at(offset.x)
        if tab is not None:
            self.post_message(self.Chosen(tab.view))
