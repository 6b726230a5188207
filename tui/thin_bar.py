"""A progress bar that is one line of text: no timers, no animation, repainted only when its cells change.

Textual's ``ProgressBar`` keeps a one-second timer per bar for its ETA (two wake-ups of the UI
thread a second with two bars, each one taking a core from training for a moment); this draws
the same bar with ``━`` and the percentage.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

DONE, TODO = "━", "━"


class ThinBar(Widget):
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

    def render(self) -> Text:
        width = max(0, self.size.width - 6)
        halves, percent = self._cells()
        full, half = divmod(halves, 2)
        done = self.get_component_rich_style("thin-bar--done")
        todo = self.get_component_rich_style("thin-bar--todo")
        text = Text(no_wrap=True)
        text.append(DONE * full, style=done)
        if half and full < width:
            text.append("╸", style=done)
            full += 1
        text.append(TODO * (width - full), style=todo)
        text.append(f" {percent:>3d}%")
        return text
