"""Progress of the current epoch and of the whole run, with throughput and time left."""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path
from typing import Callable

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.console import Console
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from ..engine.events import (
    BatchReported,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    SettingsChanged,
    Terminal,
)
from ..engine.steering import describe_step
from .pane import Pane
from .quick_text import QuickText
from .run_state import RunState
from .saved_model import has_checkpoint
from .thin_bar import ThinBar

RATE_SMOOTHING = 0.8
EPOCHS_TIMED = 10
"""The time left counts the wall time of recent epochs, evaluation, probes and checkpoints included
(QA: training throughput alone put a smoke run's last 16 s at 4): at least this many of them..."""
SECONDS_TIMED = 30.0
"""...and at least as many as took this long: ten epochs of a fast run are a second, and a
one-second stall moved its time left fivefold from one second to the next (QA)."""
HOLD = "\u00a0"
"""A no-break space, between a number and its unit where the pane's text is built ("97.90 %",
"epoch 3"): :func:`wrap_held` breaks lines at other spaces only, and shows it as a space."""
UNIT_SPACE = re.compile(r"(?<=\d) (?=%)|(?<=\bepoch) (?=\d)|(?<=\bstep) (?=\d)|(?<=\bloss) (?=\S)")
"""The spaces :func:`hold_units` holds in an outcome: a number and its "%", "epoch 3", "step 150", "loss nan"."""
MIN_BAR = 10
"""Cells a progress bar keeps beside its caption: its percentage and four of bar."""
IDLE_TEXT = "No run yet: pick a preset or edit the form, then press s."
BRIEF_WORDING = (
    ("Finished: final accuracy ", "Finished: "),
    ("the last checkpoint resumes it", "resumable"),
    ("a resume starts it again from its config", "a resume restarts it"),
    ("try a smaller learning rate", "try a smaller lr"),
)
"""Shorter words for how a run ended, where the pane is too narrow for the whole of it (beside the
form at 80x24, 20 cells wide, its last line was cut); the notification says it in full."""


def describe_interrupted(run: RunState) -> tuple[str, str]:
    """Where a run whose writer died stopped, and its style: shown in place of a time left. One
    killed before its first checkpoint (none in its folder, and not resumed from one) starts again
    from its config when resumed (QA: it was said to resume from "the last checkpoint")."""
    latest = run.latest
    where = f" at {describe_step(latest.epoch, latest.step, latest.steps_per_epoch)}" if latest is not None else ""
    folder = Path(run.run_dir) if run.run_dir else None
    resumed = run.started is not None and bool(run.started.start_epoch or run.started.start_step)
    if folder is not None and not resumed and not has_checkpoint(folder):
        return f"Interrupted{where}\na resume starts it again from its config", "bold red"
    return f"Interrupted{where}\nthe last checkpoint resumes it", "bold red"


def describe_end(event: Terminal, steps_per_epoch: int | None = None) -> tuple[str, str]:
    """How a run ended, as a headline and a detail line, and its style; a stop or a divergence
    names its step within the epoch (``steps_per_epoch``: the run's, from its start event)."""
    if isinstance(event, RunFinished):
        return (
            f"Finished: final accuracy {event.final_accuracy:.2f} %\n"
            f"best {event.best_accuracy:.2f} % at epoch {event.best_epoch}",
            "bold green",
        )
    if isinstance(event, RunStopped):
        where = describe_step(event.epoch, event.step, steps_per_epoch)
        return f"Stopped at {where}\nthe last checkpoint resumes it", "bold yellow"
    if isinstance(event, RunDiverged):
        where = describe_step(event.epoch, event.step, steps_per_epoch)
        return f"Diverged at {where} (loss {event.loss})\ntry a smaller learning rate", "bold red"
    if isinstance(event, RunFailed):
        return f"Failed: {event.error}", "bold red"
    return event.status, "bold"


def hold_units(outcome: str) -> str:
    """``outcome`` (:func:`describe_end`'s, in plain spaces as the notification shows it) with a
    :data:`HOLD` wherever a number and its unit or label must stay on one line."""
    return UNIT_SPACE.sub(HOLD, outcome)


def fit_outcome(outcome: str, width: int, rows: int, console: Console) -> str:
    """``outcome`` as it fits ``rows`` lines of ``width`` cells, wrapped by :func:`wrap_held`:
    whole, else in brief, else its first lines with the last one ending in "…" (a long error).
    Where Rich wraps it alike, it is returned unbroken and the widget wraps it."""
    for wording in (outcome, brief(outcome)):
        lines = wrap_held(wording, width)
        if len(lines) <= rows:
            plain = wording.replace(HOLD, " ")
            if [line.plain.rstrip() for line in Text(plain).wrap(console, width)] == lines:
                return plain
            return "\n".join(lines)
    shown = lines[:rows]
    shown[-1] = set_cell_size(shown[-1], width - 1).rstrip() + "…"
    return "\n".join(shown)


def wrap_held(text: str, width: int) -> list[str]:
    """``text``'s lines wrapped to ``width`` cells at its spaces, never at a :data:`HOLD`, which
    shows as a space; a word wider than ``width`` is folded. Rich's wrapping (QuickText's) breaks
    at a no-break space too: at 100 columns "97.90" ended a line and "%" stood alone on the next.
    The lines it returns fit, so QuickText wraps them no further."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            joined = f"{line} {word}" if line else word
            if line and cell_len(joined) > width:
                lines.append(line.rstrip())
                line = word
            else:
                line = joined
            if cell_len(line) > width > 0:  # one word wider than the pane
                *folded, line = chop_cells(line, width)
                lines.extend(folded)
        lines.append(line.rstrip())
    return [line.replace(HOLD, " ") for line in lines]


def brief(outcome: str) -> str:
    """``outcome`` in :data:`BRIEF_WORDING`."""
    for long, short in BRIEF_WORDING:
        outcome = outcome.replace(long, short)
    return outcome


CAPTION_FORMS = ("full", "brief", "compact")
"""The epoch bar's captions, widest first: the first that leaves the bar :data:`MIN_BAR` cells is shown."""


def compact_count(count: int) -> str:
    """``count`` in at most four characters: whole below 10,000, else in thousands rounded down
    (``12k``: 12,000 to 12,999 done; ``100k``)."""
    return str(count) if count < 10_000 else f"{count // 1000}k"


def epoch_caption(epoch: int, epochs: int, form: str) -> str:
    """Where a run is, as ``epoch 3/100000`` (full), ``3/100000`` (brief) or ``3/100k`` (compact)."""
    if form == "compact":
        return f"{compact_count(epoch)}/{compact_count(epochs)}"
    count = f"{epoch}/{epochs}"
    return f"epoch {count}" if form == "full" else count


def caption_width(epochs: int, form: str) -> int:
    """Cells for the widest caption of a run of ``epochs`` in ``form`` and the space after it
    (a compact 9999 is wider than 10k); a full one takes the "run" caption's 10 at least."""
    widest = max(len(epoch_caption(epoch, epochs, form)) for epoch in (epochs, min(epochs, 9_999))) + 1
    return max(10, widest) if form == "full" else widest


def format_duration(seconds: float) -> str:
    """``0:42`` or ``1:02:03``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RunProgress(Pane, Vertical):
    """Two bars (epoch, run), then step, time left, samples/s and learning rate; at the end, how it ended."""

    EVENTS = (RunStarted, BatchReported, EpochEnded, RunPaused, RunResumed, SettingsChanged, Terminal)
    WAITED = (RunStarted,)  # sizing the captions relays out the pane

    DEFAULT_CSS = """
    RunProgress { height: auto; }
    RunProgress Horizontal { height: 1; }
    RunProgress .caption { width: 10; }
    RunProgress ThinBar { width: 1fr; }
    RunProgress #numbers { height: 3; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps_per_epoch = 0
        self.epochs = 0
        self.batch_size = 0
        self.step = 0
        self.rate: float | None = None
        """Smoothed training samples per second."""
        self._run = RunState()
        """The shown run: its last epoch's evaluation time counts in the time left."""
        self._unpainted: BatchReported | None = None
        self._painted_any = False
        self._outcome: tuple[str, str] | None = None
        """How the shown run ended and its style, fitted to the pane at each resize."""
        self._caption_form = "full"
        self._epoch = self._epoch_step = 0
        self._numbers_text = IDLE_TEXT
        """What the numbers under the bars say, before :func:`wrap_held` fits it to the width."""
        self.clock: Callable[[], float] = time.monotonic
        self._ends: deque[tuple[int, float, float]] = deque()
        """(epoch, when its end was shown, on the clock less the time paused, and the seconds its
        event says it trained and evaluated) of the latest epochs that span :data:`EPOCHS_TIMED`
        epochs and :data:`SECONDS_TIMED` seconds."""
        self._paused_since: float | None = None
        self._paused = 0.0
        """Seconds the run was paused (since its start was shown): no epoch's time."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("epoch", id="epoch-caption", classes="caption")
            yield ThinBar(id="epoch-bar")
        with Horizontal():
            yield Label("run", classes="caption")
            yield ThinBar(id="run-bar")
        yield QuickText(IDLE_TEXT, id="numbers")

    def on_mount(self) -> None:
        # Looked up once: a report's paint, twice a second, should not search the DOM.
        self._epoch_bar = self.query_one("#epoch-bar", ThinBar)
        self._run_bar = self.query_one("#run-bar", ThinBar)
        self._numbers = self.query_one("#numbers", QuickText)
        self._epoch_caption = self.query_one("#epoch-caption", Label)

    def on_resize(self) -> None:
        # A run's end shows the form again at 80-109 columns, and the pane narrows (after finish).
        if self.steps_per_epoch:  # a run is shown
            self.fit_captions()
            self._bars(self._epoch, self._epoch_step)
        if self._outcome is None:
            self._show_numbers(self._numbers_text)  # wrapped again to the new width
        self._show_outcome()

    def fit_captions(self) -> None:
        """Captions as wide as this run's longest, so the bars line up and never move (up to
        "epoch 100000/100000"); set at the start and at a resize, the reports then update them
        without a relayout. Where that leaves the bar too few cells, the epoch's caption is its
        numbers alone, then those numbers in thousands (beside the form at 80x24 the pane has 20
        cells: "100000/100000" left the bars only their percentages)."""
        room = self.content_size.width
        fits = [form for form in CAPTION_FORMS if room - caption_width(self.epochs, form) >= MIN_BAR]
        self._caption_form = "full" if not room else fits[0] if fits else CAPTION_FORMS[-1]
        width = caption_width(self.epochs, self._caption_form)
        for caption in self.query(".caption"):
            if caption.styles.width is None or caption.styles.width.cells != width:
                caption.styles.width = width

    def show_event(self, event: Event, run: RunState) -> None:
        self._run = run
        if isinstance(event, (BatchReported, EpochEnded, RunResumed)):
            self._unpaused()  # a report trains again: a step while paused (n) has no resume
        if isinstance(event, BatchReported):
            self.advance(event)
            if run.state != "running":
                self.paint()  # a report that arrives as the run pauses or stops is shown at once
        elif isinstance(event, (RunPaused, EpochEnded)):
            if isinstance(event, EpochEnded):
                self._epoch_timed(event)
            elif self._paused_since is None:
                self._paused_since = self.clock()  # a pause is no epoch's time
            # An epoch's end shows at once in the accuracy table and the gallery: the bars reach it
            # with them (QA: fast epochs left the pane four epochs behind until the next frame).
            self.paint()
        elif isinstance(event, SettingsChanged):
            if "lr" in event.changes and run.latest is not None and run.terminal is None:
                # The lr in use now: while paused no report would show it until the run goes on.
                self._unpainted = self._unpainted or run.latest
                self.paint()
        elif isinstance(event, RunStarted):
            self.start(event)
        elif isinstance(event, Terminal):
            self.finish(*describe_end(event, self.steps_per_epoch))

    def show_run(self, run: RunState) -> None:
        self._run = run
        self._outcome = None
        if run.started is None:
            self.steps_per_epoch = self.step = 0
            self._unpainted, self._painted_any = None, False
            self._epoch_bar.update(total=1, progress=0)
            self._run_bar.update(total=1, progress=0)
            self._show_numbers(IDLE_TEXT if run.state == "idle" else "Starting…")
            return
        self.start(run.started)
        if run.latest is not None:
            self.advance(run.latest)
            self.paint()
        if run.terminal is not None:
            self.finish(*describe_end(run.terminal, self.steps_per_epoch))
        elif run.state == "interrupted":
            self.finish(*describe_interrupted(run))

    def start(self, event: RunStarted) -> None:
        """A run (new or resumed) begins."""
        self.steps_per_epoch = event.steps_per_epoch
        self.epochs = int(event.config["epochs"])
        self.batch_size = int(event.config["batch_size"])
        self.step = event.start_epoch * event.steps_per_epoch + event.start_step
        self.rate = None
        self._ends.clear()
        self._paused_since, self._paused = None, 0.0
        self._unpainted, self._painted_any = None, False
        self._outcome = None
        self.fit_captions()
        self._bars(event.start_epoch + 1, event.start_step)
        self._show_numbers(
            f"{event.train_size:,}{HOLD}training digits · {event.parameters:,}{HOLD}parameters · starting…"
        )

    def advance(self, event: BatchReported) -> None:
        """A loss report: count it now; the bars and numbers show it at the next :meth:`paint`
        (the run's first report at once). Reports come several times a second, and each repaint
        takes the UI thread's time from training."""
        self.step = event.step
        rate = event.samples_per_second
        self.rate = rate if self.rate is None else RATE_SMOOTHING * self.rate + (1 - RATE_SMOOTHING) * rate
        self._unpainted = event
        if not self._painted_any:
            self.paint()

    def frame(self) -> None:
        self.paint()

    def paint(self) -> None:
        """Show the latest report, if one is not shown yet."""
        event, self._unpainted = self._unpainted, None
        if event is None:
            return
        self._painted_any = True
        self._bars(event.epoch, event.epoch_step)
        left = self._time_left(event)
        lr = self._run.lr if self._run.lr is not None else event.lr
        self._show_numbers(
            f"step{HOLD}{event.epoch_step:,}/{event.steps_per_epoch:,} · ≈{HOLD}{format_duration(left)}{HOLD}left\n"
            f"{self.rate:,.0f}{HOLD}samples/s · lr{HOLD}{lr:.3g}",
            layout=False,  # a fixed-size box: no relayout of the whole screen at every report
        )

    def _epoch_timed(self, ended: EpochEnded) -> None:
        """Note when the epoch ``ended``, and forget the ends the time left no longer needs."""
        ends = self._ends
        ends.append((ended.epoch, self.clock() - self._paused, ended.seconds + ended.eval_seconds))
        while len(ends) > EPOCHS_TIMED + 1 and ends[-1][1] - ends[1][1] >= SECONDS_TIMED:
            ends.popleft()

    def _unpaused(self) -> None:
        if self._paused_since is not None:
            self._paused += self.clock() - self._paused_since
            self._paused_since = None

    def _time_left(self, event: BatchReported) -> float:
        """Seconds to the run's end: its epochs to go at the wall time recent epochs took, paused
        time left out, once two ends were seen (not across the view hidden: a catch-up starts
        over); until then training throughput plus the last epoch's evaluation."""
        to_go = self.epochs * self.steps_per_epoch - event.step
        (first, since, _), (last, until, _) = (self._ends[0], self._ends[-1]) if self._ends else ((0, 0.0, 0.0),) * 2
        if last > first:
            # An epoch's wall time is never less than the seconds its event says it trained and
            # evaluated: a watcher reads a run's past in one burst, its epochs' ends a moment apart
            # on this clock (QA: "≈ 0:03 left" for half a minute to go).
            recorded = sum(own for epoch, _, own in self._ends if epoch > first)
            return to_go / self.steps_per_epoch * max(until - since, recorded) / (last - first)
        left = to_go * self.batch_size / self.rate if self.rate else 0.0
        ended = self._run.epochs[-1] if self._run.epochs else None
        if ended is not None:
            left += max(0, self.epochs - ended.epoch) * ended.eval_seconds
        return left

    def finish(self, outcome: str, style: str) -> None:
        """The run ended: how, in ``style``, where the numbers were (the bars show its last report)."""
        self.paint()
        self._outcome = (outcome, style)
        self._show_outcome()

    def _show_numbers(self, text: str, *, layout: bool = False) -> None:
        """Show ``text`` under the bars, wrapped to the width where it is laid out (else at the resize that lays it out)."""
        self._numbers_text = text
        width = self._numbers.content_size.width
        self._numbers.update("\n".join(wrap_held(text, width)) if width else text.replace(HOLD, " "), layout=layout)

    def _show_outcome(self) -> None:
        if self._outcome is None:
            return
        outcome, style = self._outcome
        width, rows = self._numbers.content_size
        if width and rows:  # laid out: else in full, until the resize that lays it out
            outcome = fit_outcome(hold_units(outcome), width, rows, self.app.console)
        self._numbers.update(Text(outcome.replace(HOLD, " "), style=style), layout=False)

    def _bars(self, epoch: int, epoch_step: int) -> None:
        self._epoch, self._epoch_step = epoch, epoch_step
        caption = epoch_caption(min(epoch, self.epochs), self.epochs, self._caption_form)
        if str(self._epoch_caption.content) != caption:  # once an epoch, in a box sized by start()
            self._epoch_caption.update(caption, layout=False)
        self._epoch_bar.update(total=self.steps_per_epoch, progress=epoch_step)
        self._run_bar.update(
            total=self.epochs * self.steps_per_epoch, progress=self.step
        )
