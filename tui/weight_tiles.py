"""The first hidden layer's incoming weights as tiles (blue negative, orange positive, zero dark), and per-layer statistics."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from ..engine.events import LayersMeasured, WeightsSampled
from .laid_lines import LaidLines, rich_lines
from .pane import same_inputs
from .pixels import NEGATIVE, POSITIVE, Block, TileGrid, caption, downsample, half_block_rows, tile_grid

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


def weight_grid(weights: WeightsSampled, columns: int) -> TileGrid:
    """The sampled units' weights as tiles, ``columns`` to a row, each named under its tile."""
    tiles = [
        (half_block_rows(downsample(image, 28, 2), TILE, "diverging"), caption([(f"unit {unit}", "")], TILE, "dim"))
        for unit, image in zip(weights.units, weights.images)
    ]
    return tile_grid(tiles, TILE, columns)


class WeightTiles(VerticalScroll, can_focus=False):
    """One tile per sampled unit of the first hidden layer, with a legend and the layers'
    statistics, scrolled where they are taller than the pane.

    Its lines are laid out once an epoch, and repaints draw the lines in view from strips
    (:class:`~.laid_lines.LaidLines`): as a ``Static`` of a Rich group, each repaint (the epoch's
    tiles, then its layers' table, the view shown) rendered all 32 tiles through Rich, 20 to 60 ms
    of the UI thread, and the tiles past the pane's height were cut off instead of scrolled.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines = LaidLines()
        self._shown: tuple[object, ...] | None = None
        self._grid: tuple[WeightsSampled, int, TileGrid] | None = None
        """The tiles last laid out, for the weights and the number of columns they were laid out for."""

    def compose(self) -> ComposeResult:
        yield self._lines

    @property
    def grid(self) -> TileGrid | None:
        """The tiles shown, as laid out for the pane's width (None: a note instead)."""
        if self._shown is None or self._shown[0] is None:
            return None
        self._lines.lines_at(self._lines.size.width)  # laid out for the width it has now
        return self._grid[2] if self._grid is not None else None

    @property
    def content(self) -> Block:
        """What the pane shows at its width, as a Rich renderable."""
        width = self._lines.size.width
        return Block(self._lines.lines_at(width), width)

    def show(self, weights: WeightsSampled | None, layers: LayersMeasured | None, *, note: str | None = None) -> None:
        """``note`` says why there are no ``weights`` where none will come (by default, they come after the first epoch)."""
        shown = (weights, layers, note)
        if same_inputs(self._shown, shown):
            return
        self._shown = shown
        self._lines.show_lines(lambda width: self._lay_out(width, weights, layers, note))

    def _lay_out(self, width: int, weights: WeightsSampled | None, layers: LayersMeasured | None, note: str | None) -> list[list[Segment]]:
        parts: list[RenderableType] = []
        if layers is not None:
            parts += [layer_table(layers), Text("")]
        grid: list[list[Segment]] = []
        if weights is None:
            parts.append(Text(note or "The first layer's weights appear after the first epoch.", style="dim"))
        else:
            parts.append(legend(weights.scale))
            columns = max(1, (width + 1) // (TILE + 1))
            if self._grid is None or self._grid[:2] != (weights, columns):
                self._grid = (weights, columns, weight_grid(weights, columns))
            grid = self._grid[2].lines
        return rich_lines(self.app, Group(*parts), width) + grid
