"""Panes and views: how the dashboard routes each event to the widgets that show it.

A pane is a widget that declares the event types it shows (``EVENTS``) and those whose showing
the engine should wait for (``WAITED``: a relayout or pixel art, tens of milliseconds). The app
applies each event to the run's :class:`~.run_state.RunState`, then hands it to the panes that
want it. A pane in a hidden view gets nothing: it is marked stale and catches up from the state
when its view is shown, so hidden views cost nothing while training.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, ClassVar, Iterable, Sequence

from rich.console import RenderableType
from rich.text import Text
from textual.containers import Container
from textual.geometry import Size
from textual.widget import Widget

from ..engine.events import EVENT_TYPES, Event
from .laid_lines import LaidLines, rich_lines
from .run_state import RunState


def set_border_title(widget: Widget, title: str | None) -> None:
    """``widget.border_title = title`` where it says something else: each setting repaints the
    widget's whole content (Textual's own), which for a pane of pixel art is milliseconds of the
    UI thread, and panes set their titles on every event they show."""
    if widget.border_title != title:
        widget.border_title = title


def set_border_subtitle(widget: Widget, subtitle: str | None) -> None:
    """``widget.border_subtitle = subtitle`` where it says something else (see :func:`set_border_title`)."""
    if widget.border_subtitle != subtitle:
        widget.border_subtitle = subtitle


def same_inputs(last: tuple[object, ...] | None, now: tuple[object, ...]) -> bool:
    """Whether a pane's ``show`` was last given the inputs it is given ``now`` (each the same
    object, or equal): the same epoch's products again, as another of its events arrives."""
    return last is not None and len(last) == len(now) and all(a is b or a == b for a, b in zip(last, now))


def fit_border_title(widget: Widget, titles: Sequence[str]) -> None:
    """Give ``widget`` the first of ``titles`` (Rich markup, longest first) that its top border
    holds whole, between ``╭─ `` and `` ─╮``, else the last: Textual cuts a longer one mid-word."""
    room = widget.outer_size.width - 6
    set_border_title(widget, next((title for title in titles if Text.from_markup(title).cell_len <= room), titles[-1]))


class Pane:
    """Mixin for a widget that shows some of a run's events (declared, not wired in the app)."""

    EVENTS: ClassVar[tuple[type[Event], ...]] = ()
    """Event types this pane shows (subclasses included: ``Terminal`` covers every ending)."""
    WAITED: ClassVar[tuple[type[Event], ...]] = ()
    """Of those, the ones whose showing training waits for (at most a moment)."""

    def show_event(self, event: Event, run: RunState) -> None:
        """Show one new event; ``run`` already includes it. By default, redraw from the state."""
        self.show_run(run)

    def show_run(self, run: RunState) -> None:
        """Show the run as ``run`` describes it now: after a new run starts, a replay, or being hidden."""
        raise NotImplementedError

    def caught_up(self) -> None:
        """After :meth:`show_run` brought the pane back up to date as its view is shown again; by
        default nothing more (its next frame paints)."""

    def frame(self) -> None:
        """Paint what arrived since the last frame (the app's frame tick, while the pane is visible).

        Frequent events (loss reports) only update a pane's data; the repaint waits for the frame,
        so a second's reports cost one wake-up of the UI thread and one screen update.
        """


class FitsWidth(LaidLines):
    """Base of a pane whose ``show`` lays its content out for its width (bars, columns of cards):
    when its width changes (a resize, a view shown after one) it shows again what it last showed.

    The content, a Rich renderable, is rendered once per update into lines (a
    :class:`~.laid_lines.LaidLines`), and only the lines that changed are repainted: as a
    ``Static``, Textual rendered it again through its content pipeline at every repaint, and laid
    the screen out whenever it could not tell the height was the same.
    """

    content: RenderableType = ""
    """What the pane shows, as given to :meth:`update_content`."""
    _redraw: Callable[[], None] | None = None
    _fitted_width = 0
    _shown: tuple[object, ...] | None = None

    def same_as_shown(self, *inputs: object) -> bool:
        """Whether ``show`` was last given these ``inputs`` at this width, so that it would draw the
        same again: the Inspect view redraws its panes on each of an epoch's four events, and each
        pane changes with one of them (QA: 14 % of a core with the view shown during a fast run)."""
        shown = (self.size.width, *inputs)
        last, self._shown = self._shown, shown
        return same_inputs(last, shown)

    def update_content(self, content: RenderableType) -> None:
        """Show ``content``; the screen is laid out again only where it takes another number of lines."""
        self.content = content
        self.show_lines(lambda width: rich_lines(self.app, content, width))

    def fit_to_width(self, redraw: Callable[[], None]) -> int:
        """Keep ``redraw`` (the ``show`` being made) for :meth:`show_again`; returns the content width to lay it out for."""
        self._redraw, self._fitted_width = redraw, self.size.width
        return self._fitted_width

    def show_again(self) -> None:
        """Show what was last shown, laid out for the width (or the lines) now."""
        self._shown = None  # drawn again, whatever :meth:`same_as_shown` would say
        if self._redraw is not None:
            self._redraw()

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width:
            self.show_again()


class FitsRoom:
    """Mixin of a view that sizes its panes for the room it has (its ``_fit``): when shown (the
    view calls ``_fit`` in ``on_show_view``), on a resize, and whenever the screen's layout changes
    while it is hidden. Shown only after a resize, or after one while hidden, a view may get no
    Resize of its own (QA saw the Draw view's full canvas at 80x24), so :meth:`follow_room`, called
    from ``on_mount``, compares the room on each relayout: no work per frame."""

    _fitted = Size(0, 0)
    """The room the panes were last sized for (``_fit`` sets it from :meth:`_room`)."""

    def follow_room(self) -> None:
        self.screen.screen_layout_refresh_signal.subscribe(self, self._terminal_changed, immediate=True)  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        self._fit()

    def _terminal_changed(self, screen: object) -> None:
        if self._fitted != self._room():
            self._fit()

    def _room(self) -> Size:
        """The size the view has when shown: the switcher's (its own is stale while it is hidden)."""
        parent = self.parent  # type: ignore[attr-defined]
        return parent.content_size if isinstance(parent, Widget) else self.size  # type: ignore[attr-defined]

    def _fit(self) -> None:
        raise NotImplementedError


class View(Container):
    """One of the dashboard's views (Train, Inspect, …); the number keys and the view bar switch them."""

    KEY: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""

    def on_show_view(self) -> None:
        """Called after the view became the visible one (focus a widget, say)."""


class Router:
    """Which panes take which event types, and which panes missed events while hidden."""

    def __init__(self, panes: Iterable[Widget]) -> None:
        self.panes: list[Widget] = [p for p in panes if isinstance(p, Pane)]
        self.routes: dict[type[Event], list[Widget]] = defaultdict(list)
        for kind in EVENT_TYPES.values():
            for pane in self.panes:
                if issubclass(kind, pane.EVENTS):  # type: ignore[attr-defined]
                    self.routes[kind].append(pane)
        self.stale: set[Widget] = set()

    def route(self, event: Event, run: RunState, visible: set[Widget] | None) -> bool:
        """Show ``event`` on the visible panes that take it (``visible=None``: all); True if any waits for it."""
        waited = False
        for pane in self.routes.get(type(event), ()):
            if visible is not None and pane not in visible:
                self.stale.add(pane)
                continue
            pane.show_event(event, run)  # type: ignore[attr-defined]
            waited = waited or isinstance(event, pane.WAITED)  # type: ignore[attr-defined]
        return waited

    def catch_up(self, run: RunState, visible: set[Widget]) -> None:
        """Redraw the stale panes that are visible now from the state."""
        for pane in [p for p in self.stale if p in visible]:
            self.stale.discard(pane)
            pane.show_run(run)  # type: ignore[attr-defined]
            pane.caught_up()  # type: ignore[attr-defined]

    def frame(self, visible: set[Widget]) -> None:
        """A frame tick: every visible pane paints what arrived."""
        for pane in self.panes:
            if pane in visible:
                pane.frame()  # type: ignore[attr-defined]

    def show_all(self, run: RunState, visible: set[Widget]) -> None:
        """Every visible pane from the state (a new run, a replay); the others become stale."""
        self.stale = {p for p in self.panes if p not in visible}
        for pane in self.panes:
            if pane in visible:
                pane.show_run(run)  # type: ignore[attr-defined]
