"""The Sweep view's charts: every trial's accuracy by epoch, and accuracy against each searched field.

The plotext calls of the Sweep view live here (as the loss chart's live in ``loss_chart.py``);
each widget keeps its own plotext figure. A figure is rebuilt only when its trials changed.
"""

from __future__ import annotations

import math
from typing import Any

from textual_plotext import PlotextPlot

from ..engine.trial_rows import TrialRow, accuracy_of, best_of, format_param
from .loss_chart import round_ticks

FAINT, BEST, COMPLETE, PRUNED = "gray", "green", "cyan", "gray"
UNITS = "accuracy %"
"""A field plot's lower border: what its y axis measures."""


class TrialCurves(PlotextPlot):
    """Evaluation accuracy against epochs for every trial: the best trial's curve bright, the others faint."""

    DEFAULT_CSS = """
    TrialCurves { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: tuple[TrialRow, ...] = ()
        self.curves: list[tuple[int, list[float], str]] = []
        """What the figure shows: each trial's number, accuracies and colour (the best last)."""

    def show(self, rows: tuple[TrialRow, ...]) -> None:
        if rows == self.rows and self.curves:
            return
        self.rows = rows
        best = best_of(rows)
        curves = [(r.number, list(r.accuracies), FAINT) for r in rows if r.accuracies and r is not best]
        if best is not None and best.accuracies:
            curves.append((best.number, list(best.accuracies), BEST))  # drawn last: on top
        self.curves = curves
        self._draw()

    def on_resize(self) -> None:
        if self.rows or self.curves:
            self._draw()  # the ticks that fit depend on the size

    def _draw(self) -> None:
        curves = self.curves
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("epoch")
        if not curves:
            plt.xlim(0, 1)
        y_labels = _accuracy_axis(plt, {y for _, accuracies, _ in curves for y in accuracies}, self.size.height - 4)
        longest = max((len(accuracies) for _, accuracies, _ in curves), default=1)
        ticks = epoch_ticks(longest, self.size.width - y_labels - 2)  # less the frame's two columns
        plt.xticks(ticks, [str(t) for t in ticks])  # whole epochs
        for _, accuracies, color in curves:
            epochs = list(range(1, len(accuracies) + 1))
            marker = "braille" if color == FAINT else "hd"
            if len(epochs) == 1:
                plt.scatter(epochs, accuracies, marker="●" if color != FAINT else "•", color=color)
            else:
                plt.plot(epochs, accuracies, marker=marker, color=color)
        self.refresh()


class FieldPlot(PlotextPlot):
    """Accuracy against one searched field's value: complete trials in colour, pruned faint, the best marked."""

    DEFAULT_CSS = """
    FieldPlot { width: 1fr; height: 1fr; }
    """

    def __init__(self, field: str, dimension: dict[str, Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.field = field
        self.dimension = dimension
        self.rows: tuple[TrialRow, ...] = ()
        self.points: dict[str, list[tuple[float, float]]] = {}
        """Plotted positions by kind (complete, pruned, best), x as drawn (log10 or choice index)."""

    @property
    def title(self) -> str:
        return f"{self.field} (log)" if self.dimension.get("log") else self.field

    def position(self, value: Any) -> float | None:
        """Where ``value`` goes on the x axis: a choice's index, log10 on a log range, else itself."""
        if "choices" in self.dimension:
            stored = [_stored(c) for c in self.dimension["choices"]]
            return float(stored.index(value)) if value in stored else None
        if not isinstance(value, (int, float)):
            return None
        if self.dimension.get("log"):
            return math.log10(value) if value > 0 else None
        return float(value)

    def show(self, rows: tuple[TrialRow, ...]) -> None:
        if rows == self.rows and self.points:
            return
        self.rows = rows
        best = best_of(rows)
        points: dict[str, list[tuple[float, float]]] = {"complete": [], "pruned": [], "best": []}
        for row in rows:
            x, y = self.position(row.params.get(self.field)), accuracy_of(row)
            if x is None or y is None or row.state not in ("complete", "pruned"):
                continue
            kind = "best" if row is best else row.state
            points[kind].append((x, y))
        self.points = points
        self._draw()

    def _draw(self) -> None:
        points = self.points
        plt = self.plt
        plt.clear_figure()
        for kind, color, marker in (("pruned", PRUNED, "•"), ("complete", COMPLETE, "●"), ("best", BEST, "★")):
            if points[kind]:
                xs, ys = zip(*points[kind])
                plt.scatter(list(xs), list(ys), color=color, marker=marker)
        _accuracy_axis(plt, {y for kind in points.values() for _, y in kind}, self.size.height - 3)
        self._axis()
        self.refresh()

    def on_resize(self) -> None:
        if self.points:
            self._draw()  # the accuracies' ticks that fit depend on the height, the choices' labels on the width

    def _axis(self) -> None:
        plt = self.plt
        if "choices" in self.dimension:
            names = [format_param(_stored(c)) for c in self.dimension["choices"]]
            labels = choice_labels(names, self.size.width)
            legend = letter_legend(names) if labels != names else None
            self.border_subtitle = legend or UNITS
            self.tooltip = f"{self.field}: {legend}" if legend else None  # the whole of it, on hover
            plt.xlim(-0.5, len(labels) - 0.5)
            plt.xticks(list(range(len(labels))), labels)
            return
        low, high = float(self.dimension["low"]), float(self.dimension["high"])
        if self.dimension.get("log"):
            decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
            plt.xlim(math.log10(low), math.log10(high))
            plt.xticks(list(decades), [f"{10.0 ** d:g}" for d in decades])
        else:
            plt.xlim(low, high)


def _accuracy_axis(plt: Any, accuracies: set[float], rows: int) -> int:
    """The y axis of accuracies on a plot ``rows`` rows high: round ticks, every one labelled; returns
    the labels' width. plotext's own ticks were no round numbers, and it left out a label that would
    share a row with its neighbour (at 80x24 88.20 was missing between 88.60 and 87.80).

    A chart of one accuracy spans 5 % either side (plotext spanned it by half of it, 45 to 135 %);
    one of none 0 to 100 %."""
    if len(accuracies) == 1:
        (y,) = accuracies
        low, high = max(0.0, y - 5), min(100.0, y + 5)
        plt.ylim(low, high)
    elif accuracies:
        low, high = min(accuracies), max(accuracies)
    else:
        low, high = 0.0, 100.0
        plt.ylim(low, high)
    ticks = accuracy_ticks(low, high, rows)
    labels = accuracy_labels(ticks)
    plt.yticks(ticks, labels)
    return max(map(len, labels))


def accuracy_ticks(low: float, high: float, rows: int) -> list[float]:
    """Round accuracies from ``low`` to ``high``, at most one per two of the plot's ``rows``: as
    many as fit, each on a row of its own."""
    room = max(1, (rows + 1) // 2)
    # round_ticks gives about ``most``, at most one more: the finest step that fits is among these.
    fitting = (ticks for most in range(room + 1, 0, -1) if len(ticks := round_ticks(low, high, most)) <= room)
    return next(fitting, [float(f"{(low + high) / 2:.3g}")])


def accuracy_labels(ticks: list[float]) -> list[str]:
    """The ticks with as many decimals as the finest of them needs (``87.5 88.0 88.5``)."""
    decimals = max((len(f"{t:.10g}".partition(".")[2]) for t in ticks), default=0)
    return [f"{t:.{decimals}f}" for t in ticks]


EPOCH_STEPS = tuple(
    step for power in range(7) for multiple in (1, 2, 2.5, 5) if (step := multiple * 10**power) == int(step)
)
"""Whole round steps between epoch ticks: 1, 2, 5, 10, 20, 25, 50, 100, ..."""


def epoch_ticks(longest: int, width: int) -> list[int]:
    """Whole epochs from 1 to ``longest`` under a canvas ``width`` cells wide: 1 and the multiples of
    the smallest round step whose labels stand a space apart (plotext left out a label that would
    touch its neighbour: ``109`` stood next to ``145``, 127 missing)."""
    if longest < 2:
        return [1]
    cells = max(1, width - 1) / (longest - 1)  # per epoch
    room = len(str(longest)) + 2  # a label, a space, and a cell for plotext's rounding of where it goes
    step = next((int(step) for step in EPOCH_STEPS if step * cells >= room), longest)
    ticks = list(range(step, longest + 1, step))
    if step > 1 and (not ticks or (ticks[0] - 1) * cells >= room):
        ticks.insert(0, 1)
    return ticks


Y_AXIS_CELLS = 7
"""Cells left of a plot's canvas: the accuracy labels ("100.00") and the axis."""


def choice_labels(labels: list[str], width: int) -> list[str]:
    """The choices' labels as they fit under a canvas ``width`` cells wide, else a letter each.

    plotext leaves out a label that would overlap its neighbour, so too narrow a plot showed one
    choice's name under several columns of points. Letters fit any plot the points fit in.
    """
    slot = (width - Y_AXIS_CELLS) / max(1, len(labels))
    if width <= 0 or max(map(len, labels), default=0) < slot:
        return labels
    return [_letter(i) for i in range(len(labels))]


def letter_legend(labels: list[str]) -> str:
    """``a 512,256 · b 256`` : what each letter stands for, for the plot's lower border."""
    return " · ".join(f"{_letter(i)} {label}" for i, label in enumerate(labels))


def _letter(index: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[index] if index < 26 else str(index + 1)


def _stored(choice: Any) -> Any:
    """A choice as Optuna stores it: hidden sizes as text ("512,256"), anything else as it is."""
    return ",".join(str(v) for v in choice) if isinstance(choice, (list, tuple)) else choice
