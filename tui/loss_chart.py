"""The loss chart: reported batch loss, a smoothed curve and the per-epoch evaluation loss.

Every plotext call of the project lives here (textual-plotext gives each widget its own plotext
figure, so there is no global plotext state). Points are collected as they arrive and the figure
is rebuilt on a timer, only when something changed.
"""

from __future__ import annotations

import math
import textwrap
import time

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual_plotext import PlotextPlot

from ..engine.events import BatchReported, EpochEnded, Event, RunDiverged, RunStarted, SettingsChanged, Terminal
from ..engine.steering import describe_step
from .pane import Pane, fit_border_title
from .run_state import LossCurves, RunState

REDRAW_SECONDS = 1.0
"""The figure is rebuilt at most once a second (when points arrived): a plotext build, its
decoding and the strips take 10 ms of the UI thread here (more on a slower machine), which
training on every core feels."""
SHARE = 0.006
"""Rebuilds are spaced so that they take at most this share of a core (of the UI thread's CPU
time, measured at each, about 10 ms): on this project's 2-core machine, one every 1.5-2 s while
training."""
LONGEST_WAIT = 4.0
"""...but never more than this apart while points arrive (on a slow, busy machine the share alone
spaced them 6 s and more, and a chart that still lags after 4 s looks stuck)."""
Y_LABELS = 8
"""Cells the y axis and its labels take from the chart's width (the rest is the plot)."""
BATCH_COLOR, SMOOTH_COLOR, EVAL_COLOR, CHANGE_COLOR = "gray", "cyan", "orange", "magenta"
LEGEND = (
    "Loss against epochs: [gray]⣿ batch[/] [cyan]⣿ smoothed[/] [#ff8700]● evaluation[/]"
)
"""The border title doubles as the legend (plotext's own legend would cover the curves)."""
CHANGE_LEGEND = " [magenta]│ setting changed[/]"
SHORT_LEGENDS = (
    ("Loss: [gray]⣿ batch[/] [cyan]⣿ smoothed[/] [#ff8700]● evaluation[/]", " [magenta]│ setting changed[/]"),
    ("Loss: [gray]⣿ batch[/] [cyan]⣿ smoothed[/] [#ff8700]● eval[/]", " [magenta]│ changed[/]"),
    ("[gray]⣿ batch[/] [cyan]⣿ mean[/] [#ff8700]● eval[/]", " [magenta]│ changed[/]"),
)
"""Shorter legends, for a chart too narrow for the whole one (80 columns): Textual cut it mid-word."""


class LossChart(Pane, PlotextPlot):
    """Batch loss, its moving average and evaluation loss against epochs; a line at each setting change."""

    EVENTS = (RunStarted, BatchReported, EpochEnded, SettingsChanged, Terminal)
    DEFAULT_CSS = """
    LossChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves = LossCurves()
        """The run's curves, kept by the run's state (attributes down: the app sets them)."""
        self._dirty = True
        self.redraws = 0
        """Figures built so far (the tests check that idle time builds none)."""
        self._next_redraw = 0.0
        self._strips: tuple[tuple[object, ...], list[Strip]] | None = None
        self._decoded = False  # a new figure was decoded during this render_lines
        self._build_cost = 0.0  # CPU seconds of the last frame() that built a figure
        self._changes_shown = False  # whether the legend names the setting changes' lines
        self.note = ""
        """What the chart says where it has no loss to draw and a bare frame would say nothing."""

    def on_mount(self) -> None:
        super().on_mount()
        self._show_legend()

    def on_resize(self) -> None:
        self._show_legend()
        # The y ticks that fit depend on the height. The first layout draws the empty chart at
        # once (drawing it at mount, before the chart had a size, cost a second figure a frame later).
        self._dirty = True
        self.frame()

    def show_event(self, event: Event, run: RunState) -> None:
        self.curves = run.loss
        self.note = empty_note(run)
        self._dirty = True  # drawn at the next frame: reports come many times a second
        if isinstance(event, SettingsChanged) and not self._changes_shown:
            self._changes_shown = True
            self._show_legend()
        elif isinstance(event, Terminal):  # the run's last points, at once rather than at the next spacing
            self.draw_now()

    def show_run(self, run: RunState) -> None:
        self.curves = run.loss
        self.note = empty_note(run)
        self._dirty = True
        self._changes_shown = bool(run.loss.changes)
        self._show_legend()

    def caught_up(self) -> None:
        """Back in view after points arrived unseen: drawn at once (QA: back in Train after a run ended
        in another view, the chart showed epochs 1-3 of 20 for three seconds, waiting out the
        spacing of its last figure)."""
        self.draw_now()

    def _show_legend(self) -> None:
        """The longest legend the top border holds."""
        legends = ((LEGEND, CHANGE_LEGEND), *SHORT_LEGENDS)
        fit_border_title(self, [legend + (changes if self._changes_shown else "") for legend, changes in legends])

    def draw_now(self) -> None:
        """Draw the points that arrived now, however recently the last figure was built."""
        self._next_redraw = 0.0
        self.frame()

    def frame(self) -> None:
        """Rebuild the figure if points arrived (the app's frame tick), at most every REDRAW_SECONDS.

        Not while a screen covers the chart's (the help): plotext builds a figure when it is first
        painted, so one made under the help was built in the frame that closed it, delaying the
        dashboard's return by 10 ms and more. The points wait for the next tick after it closes.
        """
        if not self._dirty or not self.display or time.monotonic() < self._next_redraw:
            return
        if self.is_attached and self.screen is not self.app.screen:
            return
        self._dirty = False
        self.redraws += 1
        started = time.thread_time()
        curves = self.curves
        plt = self.plt
        plt.clear_figure()
        if not len(curves.batch):
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            if self.note:
                self._write(self.note)
            self.refresh()
            return
        # Losses fall over decades: plotted as log10 on a linear axis whose ticks name the losses
        # (plotext's own log scale raised a math domain error on some resizes).
        # Only the points the plot can show: one per cell of its width (lines join them).
        columns = max(2, self.content_size.width - Y_LABELS)
        xs, ys = thin(*curves.batch.points(), columns)
        plt.plot(xs, _log(ys), marker="braille", color=BATCH_COLOR)
        low, high = min(ys), max(ys)
        xs, ys = thin(*curves.smooth.points(), columns)
        plt.plot(xs, _log(ys), marker="braille", color=SMOOTH_COLOR)
        if len(curves.evaluation):  # one marker per epoch, drawn over the curves
            xs, ys = curves.evaluation.points()
            plt.scatter(xs, _log(ys), marker="●", color=EVAL_COLOR)
            low, high = min(low, *ys), max(high, *ys)
        for at, _label in curves.changes:
            plt.vline(at, CHANGE_COLOR)
        # The plot's rows: the chart's height less plotext's frame, x axis and its labels.
        ticks = fit_ticks(loss_ticks(low, high), rows=self.content_size.height - 3)
        plt.yticks([math.log10(t) for t in ticks], tick_labels(ticks))
        xs = curves.batch.points()[0] + curves.evaluation.points()[0]
        if min(xs) == max(xs):  # one report: the epoch it lies in, not a tick of its fraction (0.15625)
            first = max(0, math.ceil(xs[0]) - 1)  # at 1.0, the end of epoch 1: 0 to 1 (QA: it drew 1 to 2)
            plt.xlim(first, first + 1)
            ticks = [first, first + 1]
        else:
            ticks = round_ticks(min(xs), max(xs))
        plt.xticks(ticks, tick_labels(ticks))
        self._build_cost = time.thread_time() - started
        self.refresh()

    def _write(self, note: str) -> None:
        """``note`` in the middle of the empty plot, wrapped to its width, with no ticks to read."""
        plt = self.plt
        plt.xticks([], [])
        plt.yticks([], [])
        width, height = self.content_size
        rows = max(1, height - 2)  # inside plotext's frame
        plt.ylim(0, rows - 1)  # one unit a row: the lines on rows next to each other
        lines = textwrap.wrap(note, max(10, width - 4))
        top = (rows - 1 + len(lines) - 1) // 2
        for row, line in enumerate(lines):
            plt.text(line, 0.5, top - row, alignment="center", color="red")

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the figure (Textual's line API: the border and title are Textual's)."""
        strips = self._figure_strips()
        if y < len(strips):
            return strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _figure_strips(self) -> list[Strip]:
        """The figure built by the last :meth:`frame` as strips, decoded once (a repaint for any
        other reason reuses them).

        plotext gives the figure as ANSI text; its segments go straight into strips. Through
        ``render()``, Textual's content pipeline added 3-4 ms to plotext's 5 ms build (at 80x10).
        """
        key = (self.size, self.redraws, self.app.theme)
        if self._strips is not None and self._strips[0] == key:
            return self._strips[1]
        figure = super().render()  # plotext's build, decoded by Rich (``Text.from_ansi``)
        assert isinstance(figure, Text)
        width, base, console = self.size.width, self.rich_style, self.app.console
        lines = Segment.split_lines(figure.render(console))  # plotext colours every cell itself
        strips = [Strip(line).crop_extend(0, width, base) for line in lines][: self.size.height]
        self._strips = (key, strips)
        self._decoded = True
        return strips

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's strips of the figure; after a new figure, the next rebuild is spaced by what
        building, decoding and these strips cost (:data:`SHARE`)."""
        started = time.thread_time()
        self._decoded = False
        lines = super().render_lines(crop)
        if self._decoded and self.redraws:  # a figure frame() built (not plotext's empty one before it)
            cost = self._build_cost + time.thread_time() - started
            self._next_redraw = time.monotonic() + min(max(REDRAW_SECONDS, cost / SHARE), LONGEST_WAIT)
        return lines


def empty_note(run: RunState) -> str:
    """What the chart of ``run`` says instead of a bare frame: a run that diverged before it reported
    a finite loss has none to draw (QA: it waited, empty, for epochs that would never come)."""
    terminal = run.terminal
    if not isinstance(terminal, RunDiverged) or len(run.loss.batch):
        return ""
    where = describe_step(terminal.epoch, terminal.step, run.started.steps_per_epoch if run.started else None)
    return f"Diverged at {where}, before it reported any loss to draw: try a smaller learning rate"


def tick_labels(ticks: list[float]) -> list[str]:
    """The ticks' labels, exponents short (``1e-5``): round ticks as they are, a lone one (a flat
    line's value, one report's) to three significant digits (QA: a one-report chart of a diverging
    run read ``7.50001e+14``; it reads ``7.5e14``)."""
    digits = 3 if len(ticks) == 1 else 6
    labels = []
    for tick in ticks:
        mantissa, exponent_mark, exponent = f"{tick:.{digits}g}".partition("e")
        labels.append(f"{mantissa}e{int(exponent)}" if exponent_mark else mantissa)
    return labels


def thin(xs: list[float], ys: list[float], most: int) -> tuple[list[float], list[float]]:
    """At most ``most`` points: the first and the newest as they are, means of neighbouring runs between."""
    if len(xs) <= most:
        return xs, ys
    inner, buckets = len(xs) - 2, most - 2
    out_x, out_y = [xs[0]], [ys[0]]
    for i in range(buckets):
        start, end = 1 + i * inner // buckets, 1 + (i + 1) * inner // buckets
        if end > start:
            out_x.append(sum(xs[start:end]) / (end - start))
            out_y.append(sum(ys[start:end]) / (end - start))
    return [*out_x, xs[-1]], [*out_y, ys[-1]]


def _log(values: list[float]) -> list[float]:
    return [math.log10(v) for v in values]


def loss_ticks(low: float, high: float) -> list[float]:
    """Round losses (1, 2 and 5 per decade) from ``low`` to ``high``, for a logarithmic axis;
    finer round steps where fewer than two of those fall between them."""
    ticks: list[float] = []
    decade = math.floor(math.log10(low))
    while 10.0**decade <= high * 10:
        ticks += [m * 10.0**decade for m in (1, 2, 5)]
        decade += 1
    chosen = [t for t in ticks if low <= t <= high]
    if len(chosen) < 2:
        # A narrow band (2.3 to 2.0): plotext frames the data, so a tick beside it is not drawn
        # and one at its edge sits on the axis's corner. Round steps inside it name the scale.
        return round_ticks(low, high, most=3)
    if len(chosen) > 8:  # many decades: powers of ten only, so the labels don't crowd a short axis
        chosen = [t for t in chosen if math.isclose(10 ** round(math.log10(t)), t)]
    return [float(f"{t:.6g}") for t in chosen]


def round_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round positions (steps of 1, 2, 2.5 or 5 times a power of ten) from ``low`` to ``high``:
    epochs, or losses in a narrow band.

    About ``most`` ticks (at most one more), so the labels under a narrow chart never run together.
    """
    span = high - low
    if span <= 0:
        return [float(f"{low:.6g}")]
    step = 10.0 ** math.floor(math.log10(span / most))
    for multiple in (1, 2, 2.5, 5, 10):
        if span / (step * multiple) <= most:
            step *= multiple
            break
    first = math.ceil(low / step - 1e-9)
    ticks = [(first + i) * step for i in range(int((high - first * step) / step + 1e-9) + 1)]
    return [float(f"{t:.6g}") for t in ticks] or [float(f"{low:.6g}")]


def fit_ticks(ticks: list[float], rows: int) -> list[float]:
    """At most one tick per two plot rows, evenly picked, the lowest and highest kept where two fit.

    On a short chart plotext would otherwise put neighbouring labels on one row, or out of order.
    """
    room = max(1, (rows + 1) // 2)
    if len(ticks) <= room:
        return ticks
    if room == 1:
        return [ticks[len(ticks) // 2]]
    last = len(ticks) - 1
    return [ticks[round(i * last / (room - 1))] for i in range(room)]

