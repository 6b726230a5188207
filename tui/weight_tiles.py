"""The first hidden layer's incoming weights as tiles (blue negative, orange positive, zero dark), and per-layer statistics."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..engine.events import LayersMeasured, WeightsSampled
from .pane import FitsWidth
from .pixels import NEGATIVE, POSITIVE, PixelArt, downsample

TILE = 14
"""Each unit's 28x28 weights are drawn as 14x14 means (7 rows), so many units fit."""


def legend(scale: float) -> Text:
    text = Text(no_wrap=True)
    text.append(f"−{scale:.2g} ", style="dim")
    for i in range(8, 0, -1):
        r, g, b = (round(c * i / 8) for c in NEGATIVE)
        text.append(" ", style=f"on rgb({r},{g},{b})")
    text.append(" 0 ", style="dim")
    for i in range(1, 9):
        r, g, b = (round(c * i / 8) for c in POSITIVE)
        text.append(" ", style=f"on rgb({r},{g},{b})")
    text.append(f" +{scale:.2g}", style="dim")
    return text


def layer_table(layers: LayersMeasured) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="dim")
    for name in ("layer", "units", "dead", "|W|", "|∇W|"):
        table.add_column(name, justify="right", no_wrap=True)
    for index, (size, dead, weight, grad) in enumerate(
        zip(layers.sizes, layers.dead, layers.weight_norms, layers.grad_norms), 1
    ):
        dead_text = "–" if dead is None else Text(f"{dead:.0%}", style="red" if dead >= 0.1 else "")
        table.add_row(str(index), f"{size:,}", dead_text, f"{weight:.3g}", f"{grad:.3g}")
    return table


class WeightTiles(FitsWidth, Static):
    """One tile per sampled unit of the first hidden layer, with a legend and the layers' statistics."""

    def show(self, weights: WeightsSampled | None, layers: LayersMeasured | None, *, note: str | None = None) -> None:
        """``note`` says why there are no ``weights`` where none will come (by default, they come after the first epoch)."""
        if self.same_as_shown(weights, layers, note):
            return
        width = self.fit_to_width(lambda: self.show(weights, layers, note=note))
        parts: list[object] = []
        if layers is not None:
            parts += [layer_table(layers), Text("")]
        if weights is None:
            parts.append(Text(note or "The first layer's weights appear after the first epoch.", style="dim"))
            self.update(Group(*parts))
            return
        parts.append(legend(weights.scale))
        columns = max(1, (width + 1) // (TILE + 1)) if width else 3
        grid = Table.grid(padding=(0, 1))
        for _ in range(min(columns, len(weights.images))):
            grid.add_column(width=TILE)
        tiles = [
            Group(PixelArt(downsample(image, 28, 2), TILE, palette="diverging"), Text(f"unit {unit}", style="dim", justify="center"))
            for unit, image in zip(weights.units, weights.images)
        ]
        for start in range(0, len(tiles), columns):
            grid.add_row(*tiles[start : start + columns])
        parts.append(grid)
        self.update(Group(*parts))
