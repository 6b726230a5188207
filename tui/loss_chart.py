"""The loss chart: reported batch loss, a smoothed curve and the per-epoch evaluation loss.

Every plotext call of the project lives here (textual-plotext gives each widget its own plotext
figure, so there is no global plotext state). Points are collected as they arrive and the figure
is rebuilt on a timer, only when something changed.
"""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from .series import DecimatedSeries

REDRAW_SECONDS = 0.5
CAPACITY = 256
"""Points kept per curve. A braille chart 80 cells wide has 160 dot columns, so more would not
show, and each plotext build costs about 0.1 ms per point on the UI thread."""
BATCH_COLOR, SMOOTH_COLOR, EVAL_COLOR = "gray", "cyan", "orange"
LEGEND = (
    "Loss against epochs: [gray]⣿ batch[/] [cyan]⣿ smoothed[/] [#ff8700]● evaluation[/]"
)
"""The border title doubles as the legend (plotext's own legend would cover the curves)."""
SMOOTHING = 0.8
"""Weight of the past in the smoothed curve (an exponential moving average of reports)."""
MIN_LOSS = 1e-6
"""The y axis is logarithmic: a loss that rounded to 0 is drawn here."""


class LossChart(PlotextPlot):
    """Batch loss, its moving average and evaluation loss against epochs."""

    DEFAULT_CSS = """
    LossChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, *, capacity: int = CAPACITY, id: str | None = None) -> None:
        super().__init__(id=id)
        self.batch = DecimatedSeries(capacity)
        self.smooth = DecimatedSeries(capacity)
        self.evaluation = DecimatedSeries(capacity)
        self._average: float | None = None
        self._dirty = True
        self.redraws = 0
        """Figures built so far (the tests check that idle time builds none)."""

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = LEGEND
        self.set_interval(REDRAW_SECONDS, self._redraw_if_changed)
        self._redraw_if_changed()

    def on_resize(self) -> None:
        self._dirty = True  # the y ticks that fit depend on the height

    def reset(self) -> None:
        """Forget every point (a new run starts)."""
        for series in (self.batch, self.smooth, self.evaluation):
            series.clear()
        self._average = None
        self._dirty = True

    def add_batch(self, epochs: float, loss: float) -> None:
        """A reported mean batch loss at ``epochs`` (fractional epochs since the run began)."""
        if not math.isfinite(loss):
            return  # a diverged report ends the run; it has no place on the axis
        loss = max(loss, MIN_LOSS)
        self.batch.append(epochs, loss)
        self._average = loss if self._average is None else SMOOTHING * self._average + (1 - SMOOTHING) * loss
        self.smooth.append(epochs, self._average)
        self._dirty = True

    def add_evaluation(self, epoch: float, loss: float) -> None:
        """The evaluation loss at the end of ``epoch``."""
        if math.isfinite(loss):
            self.evaluation.append(epoch, max(loss, MIN_LOSS))
            self._dirty = True

    def _redraw_if_changed(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        plt = self.plt
        plt.clear_figure()
        if not len(self.batch):
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            self.refresh()
            return
        # Losses fall over decades: plotted as log10 on a linear axis whose ticks name the losses
        # (plotext's own log scale raised a math domain error on some resizes).
        xs, ys = self.batch.points()
        plt.plot(xs, _log(ys), marker="braille", color=BATCH_COLOR)
        low, high = min(ys), max(ys)
        xs, ys = self.smooth.points()
        plt.plot(xs, _log(ys), marker="braille", color=SMOOTH_COLOR)
        if len(self.evaluation):  # last: one marker per epoch, drawn over the curves
            xs, ys = self.evaluation.points()
            plt.scatter(xs, _log(ys), marker="●", color=EVAL_COLOR)
            low, high = min(low, *ys), max(high, *ys)
        # The plot's rows: the chart's height less plotext's frame, x axis and its labels.
        ticks = fit_ticks(loss_ticks(low, high), rows=self.content_size.height - 3)
        plt.yticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
        xs = self.batch.points()[0] + self.evaluation.points()[0]
        ticks = epoch_ticks(min(xs), max(xs))
        plt.xticks(ticks, [f"{t:g}" for t in ticks])
        self.refresh()


def _log(values: list[float]) -> list[float]:
    return [math.log10(v) for v in values]


def loss_ticks(low: float, high: float) -> list[float]:
    """Round losses (1, 2 and 5 per decade) spanning ``low`` to ``high``, for a logarithmic axis."""
    ticks: list[float] = []
    decade = math.floor(math.log10(low))
    while 10.0**decade <= high * 10:
        ticks += [m * 10.0**decade for m in (1, 2, 5)]
        decade += 1
    inside = [t for t in ticks if low <= t <= high]
    below = [t for t in ticks if t < low][-1:]
    above = [t for t in ticks if t > high][:1]
    chosen = inside if len(inside) >= 2 else below + inside + above  # ticks off the data fall outside the frame
    if len(chosen) > 8:  # many decades: powers of ten only, so the labels don't crowd a short axis
        chosen = [t for t in chosen if math.isclose(10 ** round(math.log10(t)), t)]
    return [float(f"{t:.6g}") for t in chosen]


def epoch_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round epoch positions (steps of 1, 2, 2.5 or 5 times a power of ten) from ``low`` to ``high``.

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

