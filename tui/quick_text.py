"""A few lines of text drawn straight to strips: for text that changes several times a second.

``Static.update`` sends its text through Textual's content pipeline (markup, ``Content``,
``Visual.to_strips`` with the widget's styles), about 1 ms of the UI thread for two short lines
on this project's machine, twice a second while training. This widget turns each line into
segments once, with the widget's own style beneath, and hands Textual the strips (its line API):
a tenth of that.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip

from .strips import CachedStyles


class QuickText(CachedStyles):
    """Lines of plain text or a Rich ``Text`` (no markup), set with :meth:`update`, wrapped at words."""

    DEFAULT_CSS = """
    QuickText { height: auto; }
    """

    def __init__(self, content: str | Text = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._content: str | Text = content
        self._strips: tuple[tuple[object, ...], list[Strip]] | None = None

    @property
    def content(self) -> str | Text:
        """What it shows (``str()`` of it is the plain text)."""
        return self._content

    def update(self, content: str | Text = "", *, layout: bool = False) -> None:
        """Show ``content``; repaints only if it differs. ``layout``: its line count may have changed."""
        if content == self._content and type(content) is type(self._content):
            return
        self._content = content
        self.refresh(layout=layout)

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001 (Textual's signature)
        return len(self._lines(width))

    def _lines(self, width: int) -> list[Text]:
        """The content's lines, wrapped at words to ``width`` as ``Static`` wraps them."""
        content = self._content
        if isinstance(content, str):
            lines = content.split("\n")
            if all(cell_len(line) <= width for line in lines):  # the usual case, without Rich's wrapping
                return [Text(line) for line in lines]
            content = Text(content)
        return list(content.wrap(self.app.console, max(1, width)))

    def render_line(self, y: int) -> Strip:
        strips = self._render_strips()
        if y < len(strips):
            return strips[y]
        return Strip.blank(self.content_size.width, self.style_of())

    def forget_strips(self) -> None:
        self._strips = None

    def _render_strips(self) -> list[Strip]:
        width = self.content_size.width
        base = self.style_of()
        key = (width, self._content)
        if self._strips is not None and self._strips[0] == key:
            return self._strips[1]
        console = self.app.console
        lines = self._lines(width)
        strips = [
            Strip(Segment.apply_style(line.render(console), base)).crop_extend(0, width, base) for line in lines
        ]
        self._strips = (key, strips)
        return strips

