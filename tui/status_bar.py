"""The status line: run state, device and run folder."""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ..engine.events import RunPaused, RunResumed, RunStarted, Terminal
from ..table import printable
from .pane import Pane
from .run_state import RunState

STATES = ("idle", "starting", "running", "paused", "stopping", "finished", "stopped", "diverged", "failed", "interrupted", "damaged")
STATE_STYLES = {
    "idle": "bold",
    "starting": "bold cyan",
    "running": "bold green",
    "paused": "bold yellow",
    "stopping": "bold yellow",
    "finished": "bold green",
    "stopped": "bold yellow",
    "diverged": "bold red",
    "failed": "bold red",
    "interrupted": "bold red",  # watch: the process training the run died
    "damaged": "bold red",  # watch: a run folder whose files cannot be read back
}


class StatusBar(Pane, Widget):
    """``● running  device cuda  run folder runs/…``; the app sets the attributes."""

    EVENTS = (RunStarted, RunPaused, RunResumed, Terminal)

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    name_shown: reactive[str] = reactive("")
    """The configuration's name (the preset, or custom)."""
    state: reactive[str] = reactive("idle")
    device: reactive[str] = reactive("")
    run_dir: reactive[str] = reactive("")

    def show_run(self, run: RunState) -> None:
        self.state = run.state
        self.device = run.device or str(run.config.get("device", ""))
        self.run_dir = run.run_dir
        if run.config.get("name"):
            self.name_shown = str(run.config["name"])

    def render(self) -> Text:
        folder = printable(self.run_dir)
        text = self._describe(brand=True)
        # The folder's own name tells runs apart: at 80 columns the app's name gives way to it
        # (the path was cut inside the name, "…ke-20261202-060353-757c").
        needed = min(len(folder), len(PurePath(folder).name) + 2)  # the whole path, or "…/" and the name
        if folder and text.cell_len + needed > self.content_size.width:
            text = self._describe(brand=False)
        if folder:
            text.append(fit_path(folder, self.content_size.width - text.cell_len))
        return text

    def _describe(self, *, brand: bool) -> Text:
        """The line up to the run folder's path."""
        text = Text(no_wrap=True, overflow="ellipsis")
        if brand:
            text.append("mnist-tui ", style="bold")
        if self.name_shown:
            text.append(f"{self.name_shown}  ", style="dim")
        text.append("● ", style=STATE_STYLES.get(self.state, "bold"))
        text.append(f"{self.state:<9}", style=STATE_STYLES.get(self.state, "bold"))
        if self.device:
            text.append("  device ", style="dim")
            text.append(self.device)
        if self.run_dir:
            text.append("   run folder ", style="dim")
        return text


def fit_path(path: str, width: int) -> str:
    """``path`` in ``width`` cells, its start cut, at a folder where it can
    (``…/runs/smoke-20261202-035316-f85e``): the run's own folder is what tells it apart. Left to
    Rich, a path too long for the bar's one row went to a second row, and the bar showed "run
    folder" with nothing after it."""
    if len(path) <= width:
        return path
    tail = path[len(path) - max(width - 1, 1):]
    cut = tail.find("/")
    return "…" + (tail[cut:] if 0 <= cut < len(tail) - 1 else tail)
