"""The Sweep view's charts: every trial's accuracy by epoch, and accuracy against each searched field.

The plotext calls of the Sweep view live here (as the loss chart's live in ``loss_chart.py``);
each widget keeps its own plotext figure. A figure is rebuilt only when its trials changed.
"""

from __future__ import annotations

import math
from typing import Any

from textual_plotext import PlotextPlot

from ..engine.trial_rows import TrialRow, accuracy_of, best_of, format_param

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
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("epoch")
        if not curves:
            plt.xlim(0, 1)
            plt.ylim(0, 100)
        longest = max((len(accuracies) for _, accuracies, _ in curves), default=1)
        ticks = list(range(1, longest + 1, max(1, longest // 8)))
        plt.xticks(ticks, [str(t) for t in ticks])  # whole epochs
        _span_one_accuracy(plt, {y for _, accuracies, _ in curves for y in accuracies})
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
        plt = self.plt
        plt.clear_figure()
        for kind, color, marker in (("pruned", PRUNED, "•"), ("complete", COMPLETE, "●"), ("best", BEST, "★")):
            if points[kind]:
                xs, ys = zip(*points[kind])
                plt.scatter(list(xs), list(ys), color=color, marker=marker)
        _span_one_accuracy(plt, {y for kind in points.values() for _, y in kind})
        self._axis()
        self.refresh()

    def on_resize(self) -> None:
        if "choices" in self.dimension:
            self._axis()  # whether the choices' labels fit depends on the width

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


def _span_one_accuracy(plt: Any, accuracies: set[float]) -> None:
    """A y range for a chart of one accuracy: plotext spans one value by half of it either side (45 to 135 %)."""
    if len(accuracies) == 1:
        (y,) = accuracies
        plt.ylim(max(0.0, y - 5), min(100.0, y + 5))


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
