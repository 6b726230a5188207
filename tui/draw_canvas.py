"""The Draw view's canvas: 28x28 pixels of ink, drawn with the mouse or the keyboard.

The left button draws and the right one erases, with a soft round brush whose grey rim looks like
the anti-aliased edges of MNIST's strokes; a drag draws a continuous stroke (the mouse is captured
while a button is down, so a stroke may leave the canvas and come back). Arrows move a cursor,
space paints under it, backspace erases, shift+arrows paint as they move.

The pixels are drawn with the project's half-block renderer, each pixel two cells wide and one
row high (56x28 cells), or, where the view is short, one cell wide and half a row high (28x14).
"""

from __future__ import annotations

import math

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from .pixels import half_block_rows

SIDE = 28
CORE, RIM = 0.9, 2.1
"""The brush: full ink within CORE pixels of its centre, fading to none at RIM (a stroke about
three pixels wide with grey edges, like MNIST's once fitted to 20x20)."""
STEP = 0.5
"""A drag stamps the brush every half pixel along its path, so fast moves leave no gaps."""
CURSOR_DARK, CURSOR_LIT = Color.from_rgb(190, 40, 40), Color.from_rgb(255, 150, 150)


def brush(distance: float) -> float:
    """The brush's ink at ``distance`` pixels from its centre: 1 in the core, 0 past the rim."""
    return min(1.0, max(0.0, (RIM - distance) / (RIM - CORE)))


def stamp(ink: list[float], x: float, y: float, *, erase: bool = False) -> bool:
    """Press the brush on ``ink`` (28x28, row by row) centred at ``(x, y)`` in pixels; True if any pixel changed.

    Pixel ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)``; drawing keeps the stronger of the ink and
    the brush, erasing clears every pixel the brush touches (a soft eraser would leave faint ink
    that still counts).
    """
    changed = False
    reach = math.ceil(RIM)
    for j in range(max(0, int(y) - reach), min(SIDE, int(y) + reach + 1)):
        for i in range(max(0, int(x) - reach), min(SIDE, int(x) + reach + 1)):
            amount = brush(math.hypot(i + 0.5 - x, j + 0.5 - y))
            if amount <= 0.0:
                continue
            index = j * SIDE + i
            old = ink[index]
            new = 0.0 if erase else max(old, amount)
            if new != old:
                ink[index] = new
                changed = True
    return changed


def stroke(ink: list[float], start: tuple[float, float], end: tuple[float, float], *, erase: bool = False) -> bool:
    """Stamp the brush along the segment from ``start`` to ``end`` (both included); True if any pixel changed."""
    (x0, y0), (x1, y1) = start, end
    count = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / STEP))
    changed = False
    for k in range(count + 1):
        t = k / count
        changed = stamp(ink, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, erase=erase) or changed
    return changed


def to_bytes(ink: list[float]) -> bytes:
    """Ink in [0, 1] as greyscale bytes (0 black, 255 white)."""
    return bytes(round(value * 255) for value in ink)


def enlarge(pixels: bytes, width: int, factor: int) -> bytes:
    """Each pixel repeated ``factor`` times across and down."""
    rows = []
    for y in range(len(pixels) // width):
        row = bytes(value for value in pixels[y * width : (y + 1) * width] for _ in range(factor))
        rows.append(row * factor)
    return b"".join(rows)


class DrawCanvas(Widget, can_focus=True):
    """28x28 ink: the mouse draws (left) and erases (right); arrows, space, backspace and shift+arrows draw too."""

    BINDINGS = [
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("shift+up", "move(0, -1, True)", "Draw up", show=False),
        Binding("shift+down", "move(0, 1, True)", "Draw down", show=False),
        Binding("shift+left", "move(-1, 0, True)", "Draw left", show=False),
        Binding("shift+right", "move(1, 0, True)", "Draw right", show=False),
        Binding("space", "paint", "Paint", show=False),
        Binding("backspace", "paint(True)", "Erase", show=False),
    ]
    DEFAULT_CSS = """
    DrawCanvas { width: 56; height: 28; }
    DrawCanvas.-compact { width: 28; height: 14; }
    """

    class Changed(Message):
        """The ink changed (a stroke, an erase, a clear)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ink: list[float] = [0.0] * (SIDE * SIDE)
        """The drawing: 784 ink values in [0, 1], row by row."""
        self.cursor = (SIDE // 2, SIDE // 2)
        """The keyboard's pixel (column, row)."""
        self.compact = False
        """One cell per pixel across and two pixels per row (28x14 cells) instead of 56x28."""
        self._erasing: bool | None = None
        """While a button is down: whether it erases (right) or draws (left)."""
        self._last: tuple[float, float] | None = None
        self._rows: list[list[Segment]] | None = None

    # --- reading and changing the ink -----------------------------------------------------

    @property
    def empty(self) -> bool:
        return not any(self.ink)

    def clear(self) -> None:
        """Erase everything."""
        if not self.empty:
            self.ink = [0.0] * (SIDE * SIDE)
            self._changed()

    def set_compact(self, compact: bool) -> None:
        """Draw 28x14 cells (half blocks) instead of 56x28."""
        if compact != self.compact:
            self.compact = compact
            self.set_class(compact, "-compact")
            self._rows = None
            self.refresh()

    def _changed(self) -> None:
        self._rows = None
        self.refresh()
        self.post_message(self.Changed())

    # --- the mouse ------------------------------------------------------------------------

    def pixel_at(self, x: int, y: int) -> tuple[float, float]:
        """The point in pixels under the middle of content cell ``(x, y)``."""
        if self.compact:
            return x + 0.5, (y + 0.5) * 2
        return (x + 0.5) / 2, y + 0.5

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if event.button not in (1, 3):
            return
        self._erasing = event.button == 3
        self.capture_mouse()
        point = self.pixel_at(*event.get_content_offset_capture(self))
        self._last = point
        if stamp(self.ink, *point, erase=self._erasing):
            self._changed()
        event.stop()

    def press_outside(self, button: int) -> None:
        """A press beside the canvas (on its margin): the stroke begins where the drag enters it."""
        if button in (1, 3):
            self._erasing, self._last = button == 3, None
            self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        erasing = self._erasing
        if erasing is None:  # no press on the canvas or its margin: a drag from elsewhere paints nothing
            return
        offset = event.get_content_offset_capture(self)
        if self._last is None and not self.content_region.contains(*event.screen_offset):
            return  # pressed on the margin, not yet over the canvas
        point = self.pixel_at(*offset)
        changed = stroke(self.ink, self._last or point, point, erase=erasing)
        self._last = point
        if changed:
            self._changed()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._erasing is not None:
            self._erasing, self._last = None, None
            self.release_mouse()
            event.stop()

    # --- the keyboard ---------------------------------------------------------------------

    def action_move(self, dx: int, dy: int, paint: bool = False) -> None:
        """Move the cursor one pixel; with ``paint``, paint where it lands."""
        x, y = self.cursor
        self.cursor = (min(SIDE - 1, max(0, x + dx)), min(SIDE - 1, max(0, y + dy)))
        if paint:
            self.action_paint()
        else:
            self._rows = None
            self.refresh()

    def action_paint(self, erase: bool = False) -> None:
        """Paint (or erase) with the brush centred on the cursor's pixel."""
        x, y = self.cursor
        if stamp(self.ink, x + 0.5, y + 0.5, erase=erase):
            self._changed()
        else:
            self.refresh()

    def on_focus(self) -> None:
        self._rows = None
        self.refresh()  # the cursor shows while the canvas has focus

    def on_blur(self) -> None:
        self._rows = None
        self.refresh()

    # --- drawing --------------------------------------------------------------------------

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return SIDE if self.compact else 2 * SIDE

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return SIDE // 2 if self.compact else SIDE

    def render_line(self, y: int) -> Strip:
        if self._rows is None:
            self._rows = self._draw()
        if y >= len(self._rows):
            return Strip.blank(self.size.width)
        return Strip(self._rows[y])

    def _draw(self) -> list[list[Segment]]:
        pixels = to_bytes(self.ink)
        if self.compact:
            rows = half_block_rows(pixels, SIDE)
        else:
            rows = half_block_rows(enlarge(pixels, SIDE, 2), 2 * SIDE)
        if self.has_focus:
            self._mark_cursor(rows)
        return rows

    def _mark_cursor(self, rows: list[list[Segment]]) -> None:
        """Colour the cursor's pixel: both halves of its two cells, or its half of one cell."""
        x, y = self.cursor
        colour = CURSOR_LIT if self.ink[y * SIDE + x] >= 0.5 else CURSOR_DARK
        if self.compact:
            row, cells = y // 2, (x, x + 1)
            mark = Style(color=colour) if y % 2 == 0 else Style(bgcolor=colour)
        else:
            row, cells = y, (2 * x, 2 * x + 2)
            mark = Style(color=colour, bgcolor=colour)
        width = Segment.get_line_length(rows[row])
        before, inside, after = Segment.divide(rows[row], [cells[0], cells[1], width])
        rows[row] = [*before, *(Segment(s.text, (s.style or Style()) + mark) for s in inside), *after]
