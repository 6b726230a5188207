"""Several runs' loss and accuracy curves overlaid: one colour and one legend entry per run.

Every plotext call of the runs browser lives here. The legend is the border title (plotext's own
legend would cover the curves). The figures are rebuilt only when the marked runs or the size
change: no timer runs, so the chart costs nothing while training goes on in another view.
"""

from __future__ import annotations

import math

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual_plotext import PlotextPlot

from ..table import printable
from .loss_chart import fit_ticks, loss_ticks, round_ticks, thin
from .run_curves import RunCurves

PALETTE = (
    (0, 215, 255), (255, 135, 0), (255, 95, 255), (95, 255, 95),
    (255, 255, 95), (95, 135, 255), (255, 95, 95), (208, 208, 208),
)
"""One colour per overlaid run, as RGB: plotext draws the curve and the legend names it in the same colour."""
Y_LABELS = 7
"""Cells plotext gives the y axis's labels and frame."""
EMPTY_TITLE = "Overlay: mark runs with space to compare their curves"


class _Curves(PlotextPlot):
    """One panel of the overlay (loss or accuracy); the overlay sets its runs and it redraws when told."""

    DEFAULT_CSS = "_Curves { width: 1fr; height: 1fr; }"

    def __init__(self, quantity: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.quantity = quantity
        self.runs: list[tuple[RunCurves, tuple[int, int, int]]] = []
        self.dirty = True
        self.redraws = 0

    def on_resize(self) -> None:
        # The y ticks that fit depend on the height; the first layout draws the first figure
        # (one at mount, before the panel had a size, was thrown away at once).
        self.dirty = True
        self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """Rebuild the figure if the runs or the size changed since the last build."""
        if not self.dirty:
            return
        self.dirty = False
        self.redraws += 1
        plt = self.plt
        plt.clear_figure()
        plt.title("training loss" if self.quantity == "loss" else "evaluation accuracy %")
        drawn = [(c, colour) for c, colour in self.runs if len(self._series(c))]
        if not drawn:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            self.refresh()
            return
        everything: list[float] = []
        xs_all: list[float] = []
        columns = max(2, self.content_size.width - Y_LABELS)  # one point per cell: lines join them
        for curves, colour in drawn:
            xs, ys = thin(*self._series(curves).points(), columns)
            xs_all += xs
            everything += ys
            if self.quantity == "loss":
                plt.plot(xs, [math.log10(y) for y in ys], marker="braille", color=colour)
            else:
                plt.plot(xs, ys, marker="braille", color=colour)
                plt.scatter(xs, ys, marker="●", color=colour)
        if self.quantity == "loss":
            low, high = min(everything), max(everything)
            ticks = fit_ticks(loss_ticks(low, high), rows=self.content_size.height - 4)
            # Stretch the axis to the round losses around a narrow range, or they would fall off it.
            plt.ylim(math.log10(min(low, *ticks)), math.log10(max(high, *ticks)))
            plt.yticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
        ticks = round_ticks(min(xs_all), max(xs_all))
        plt.xticks(ticks, [f"{t:g}" for t in ticks])
        self.refresh()

    def _series(self, curves: RunCurves):
        return curves.loss if self.quantity == "loss" else curves.accuracy


class OverlayChart(Horizontal):
    """Loss (left, logarithmic) and accuracy (right) of the marked runs against epochs."""

    DEFAULT_CSS = "OverlayChart { height: 1fr; min-height: 8; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[RunCurves] = []

    def compose(self) -> ComposeResult:
        yield _Curves("loss", id="overlay-loss")
        yield _Curves("accuracy", id="overlay-accuracy")

    def on_mount(self) -> None:
        self.border_title = EMPTY_TITLE

    def show(self, runs: list[RunCurves]) -> None:
        """Overlay ``runs`` (at most one per palette colour), in order; the legend follows."""
        self.runs = runs[: len(PALETTE)]
        coloured = list(zip(self.runs, PALETTE))
        for panel in self.query(_Curves):
            panel.runs = coloured
            panel.dirty = True
            panel.redraw()
        self.border_title = self.legend() or EMPTY_TITLE

    def legend(self) -> str:
        """Rich markup: one coloured entry per overlaid run (its name escaped: no markup, no control characters)."""
        return "  ".join(
            f"[{_hex(colour)}]⣿ {escape(printable(curves.run))}[/]" for curves, colour in zip(self.runs, PALETTE)
        )

    @property
    def legend_entries(self) -> list[str]:
        """The runs the legend names, in order (for the tests and the help)."""
        return [curves.run for curves in self.runs]


def _hex(colour: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{part:02x}" for part in colour)
