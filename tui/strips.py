"""Widgets drawn from strips they keep (Textual's line API), their Rich styles worked out once.

Textual works out a widget's Rich style afresh at every refresh, walking its ancestors (about
0.1 ms a style on this project's machine): for a widget repainted every frame, most of its
repaint. Styles change only with the CSS or the theme, when Textual calls
``notify_style_update``; then the cached styles and the widget's strips are dropped.
"""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


class CachedStyles(Widget):
    """A widget whose :meth:`style_of` is cached until the CSS or the theme changes; subclasses
    drop the strips they keep in :meth:`forget_strips`."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._style_cache: dict[str | None, Style] = {}

    def style_of(self, component: str | None = None) -> Style:
        """The widget's own style, or a component's (``COMPONENT_CLASSES``) over it."""
        style = self._style_cache.get(component)
        if style is None:
            style = self.rich_style if component is None else self.style_of() + self.get_component_rich_style(component)
            self._style_cache[component] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache.clear()
        self.forget_strips()

    def forget_strips(self) -> None:
        """Drop every strip drawn with the old styles."""
