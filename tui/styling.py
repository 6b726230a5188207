"""Restyling only what can show: two passes over the stylesheet that Textual makes and a start
does not need.

Working out one widget's styles checks every rule of the stylesheet (about 1 ms a widget here),
and the dashboard has some 250 widgets. Mounting styles each one as it joins the screen. Before
that, Textual's own widgets restyle themselves in their constructors (an Input's ``-valid``, a
Select's ``-has-value`` and ``-textual-compact``): the form's 37 fields made 56 such passes a
start, each over a widget not on any screen yet. And a screen's first showing restyles all of it
again, just after its widgets were styled as they mounted.

A start made 680 passes over its 277 widgets (56 of them on widgets not mounted yet). Now each
widget is styled once as it mounts, and a Select once more as it takes its value: 1.3 passes a
widget, and the start took about 0.83 of the time (tests/test_tui_restyle.py counts them).
"""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen


class StyledOnMount(App[int]):
    """An app that leaves widgets not yet mounted unstyled: they are styled as they mount."""

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        if node is not self and not node.is_attached:
            return
        super().update_styles(node, animate=animate)


class ShownOnce(Screen[None]):
    """A screen whose first showing does not restyle its widgets (mounting has just styled them).

    Later showings, after a screen on top of it closes, restyle as Textual decides."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown = False

    def post_message(self, message: Message) -> bool:
        if isinstance(message, events.ScreenResume) and not self._shown:
            self._shown = True
            message.refresh_styles = False
        return super().post_message(message)
