"""A progress bar that is one line of text: no timers, no animation, repainted only when its cells change.

Textual's ``ProgressBar`` keeps a one-second timer per bar for its ETA (two wake-ups of the UI
thread a second with two bars, each one taking a core from training for a moment); this draws
the same bar with ``━`` and the percentage, handed to Textual as one strip (its line API) that is
rebuilt only when a cell changes: a repaint costs a few microseconds, not Textual's content
pipeline (about 1 ms a bar on this project's machine, twice a second while training).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from .strips import CachedStyles

DONE, TODO = "━", "━"


class ThinBar(CachedStyles):
    """``━━━━━━━━╺━━━━━━  47%``: ``progress`` of ``total``, set with :meth:`update`."""

    COMPONENT_CLASSES = {"thin-bar--done", "thin-bar--todo"}
    DEFAULT_CSS = """
    ThinBar { height: 1; width: 1fr; }
    ThinBar > .thin-bar--done { color: $accent; }
    ThinBar > .thin-bar--todo { color: $foreground 15%; }
    """

    def __init__(self, total: float = 1, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.total = total
        self.progress: float = 0
        self._strip: tuple[tuple[object, ...], Strip] | None = None

    @property
    def percentage(self) -> float:
        return min(1.0, max(0.0, self.progress / self.total)) if self.total else 0.0

    def update(self, *, total: float | None = None, progress: float | None = None) -> None:
        """Set the total and/or progress; repaints only if what it shows changed."""
        before = self._cells()
        if total is not None:
            self.total = total
        if progress is not None:
            self.progress = progress
        if self._cells() != before:
            self.refresh()

    def _cells(self) -> tuple[int, int]:
        width = max(0, self.size.width - 6)
        return round(self.percentage * width * 2), round(self.percentage * 100)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        key = (width, self._cells())
        if self._strip is None or self._strip[0] != key:
            done, todo = self.style_of("thin-bar--done"), self.style_of("thin-bar--todo")
            self._strip = (key, self._draw(width, done, todo, self.style_of()))
        return self._strip[1] if y == 0 else Strip.blank(width, self.style_of())

    def forget_strips(self) -> None:
        self._strip = None

    def _draw(self, width: int, done: Style, todo: Style, base: Style) -> Strip:
        bar = max(0, width - 6)
        halves, percent = self._cells()
        full, half = divmod(halves, 2)
        segments = [Segment(DONE * full, done)]
        if half and full < bar:
            segments.append(Segment("╸", done))
            full += 1
        segments += [Segment(TODO * (bar - full), todo), Segment(f" {percent:>3d}%", base)]
        return Strip(segments).crop_extend(0, width, base)
