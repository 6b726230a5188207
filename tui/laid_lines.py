"""A line-API widget whose lines are laid out for the width it is given, and drawn from strips.

For panes of pixel art: a ``Static`` of a Rich renderable renders all of it through Rich twice per
change (once to measure its height, once to paint it) and again on every repaint, which for 32
tiles of weights was 20 to 60 ms of the UI thread each time. Here the lines are laid out once per
content and width (:meth:`LaidLines.lines_at`), and a repaint draws the lines in view from their
strips; a scrolling container around it keeps the rest out of view.
"""

from __future__ import annotations

from typing import Callable

from rich.console import RenderableType
from rich.segment import Segment
from textual.app import App
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

Layout = Callable[[int], list[list[Segment]]]
"""The content, laid out for a width: its lines of segments."""


def rich_lines(app: App[object], renderable: RenderableType, width: int) -> list[list[Segment]]:
    """``renderable`` as Rich renders it ``width`` cells wide on the app's console, line by line (unpadded)."""
    return app.console.render_lines(renderable, app.console_options.update_width(width), pad=False)


class LaidLines(Widget):
    """Lines from a :data:`Layout`, as tall as the layout makes them at the widget's width."""

    DEFAULT_CSS = "LaidLines { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._layout: Layout = lambda width: []
        self._laid: tuple[int, list[list[Segment]], list[Strip]] | None = None  # for one width

    def show_lines(self, layout: Layout) -> None:
        """Show the content ``layout`` lays out. The screen is laid out again only where the
        content's height at the present width differs from the last content's, and where it does
        not, only the lines that changed are repainted (each unchanged one keeps its strip)."""
        before = self._laid
        self._layout, self._laid = layout, None
        width = self.size.width
        if not width or before is None or before[0] != width:
            self.refresh(layout=True)
            return
        _, old_lines, old_strips = before
        lines = self._layout(width)
        if len(lines) != len(old_lines):
            self._laid = (width, lines, [Strip(line) for line in lines])
            self.refresh(layout=True)
            return
        strips = []
        changed = []
        for y, (line, old_line, old_strip) in enumerate(zip(lines, old_lines, old_strips)):
            if line == old_line:
                strips.append(old_strip)
            else:
                strips.append(Strip(line))
                changed.append(y)
        self._laid = (width, lines, strips)
        if changed:
            self.refresh(*(Region(0, start, width, end - start) for start, end in _spans(changed)))

    def lines_at(self, width: int) -> list[list[Segment]]:
        """The content's lines at ``width``."""
        return self._lay_out(width)[1]

    def _lay_out(self, width: int) -> tuple[int, list[list[Segment]], list[Strip]]:
        if self._laid is None or self._laid[0] != width:
            lines = self._layout(max(1, width))
            self._laid = (width, lines, [Strip(line) for line in lines])
        return self._laid

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines_at(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strips = self._lay_out(width)[2]
        style = self.visual_style.rich_style
        if y >= len(strips):
            return Strip.blank(width, style)
        # A strip keeps each style applied to it: repainting unchanged lines builds nothing.
        return strips[y].apply_style(style).crop_extend(0, width, style)


def _spans(rows: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive ``rows`` (ascending), as (first, one past the last)."""
    spans: list[tuple[int, int]] = []
    for row in rows:
        if spans and spans[-1][1] == row:
            spans[-1] = (spans[-1][0], row + 1)
        else:
            spans.append((row, row + 1))
    return spans
