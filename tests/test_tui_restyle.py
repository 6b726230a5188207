"""A resize restyles the dashboard once: every widget's styles are worked out again for each
class the screen gains or loses (170-300 ms for its 276 widgets here), and crossing two size
thresholds at once did it twice, on the UI thread, as the terminal was dragged."""

from __future__ import annotations

from typing import Any

import pytest

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import FULL_GALLERY_HEIGHT, MIN_HEIGHT, MIN_WIDTH, SIDEBAR_WIDTH, MnistApp
from tui_script import ScriptedSource, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)


def counting_restyles(app: MnistApp) -> list[str]:
    """The nodes whose whole subtree the app restyles from now on (by name), as it restyles them."""
    restyled: list[str] = []
    update = app.update_styles

    def counted(node: Any, animate: bool = True) -> None:
        restyled.append("screen" if node is app.screen_stack[0] else str(node.id))
        update(node, animate=animate)

    app.update_styles = counted  # type: ignore[method-assign]
    return restyled


# (from, to, the screen's classes after): each crosses more than one threshold of the screen.
CROSSINGS = [
    ((120, 40), (80, 24), {"-narrow", "-short"}),
    ((80, 24), (120, 40), set()),
    ((120, 40), (70, 20), {"-narrow", "-short", "-too-small"}),
    ((70, 20), (120, 40), set()),
]


@pytest.mark.parametrize(("start", "end", "classes"), CROSSINGS)
@run_async
async def test_a_resize_across_several_thresholds_restyles_the_screen_once(
    start: tuple[int, int], end: tuple[int, int], classes: set[str]
) -> None:
    assert end[0] < SIDEBAR_WIDTH <= start[0] or start[0] < SIDEBAR_WIDTH <= end[0]
    assert end[1] < FULL_GALLERY_HEIGHT <= start[1] or start[1] < FULL_GALLERY_HEIGHT <= end[1]
    app = MnistApp(load_preset("smoke"), source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=start) as pilot:
        await pilot.pause()
        restyled = counting_restyles(app)
        await pilot.resize_terminal(*end)
        screen = app.main_screen
        await wait_until(pilot, lambda: app.size == end, what="the new size")
        await pilot.pause()
        assert {name for name in screen.classes if name in ("-narrow", "-short", "-too-small")} == classes
        assert restyled.count("screen") == 1, restyled
        # Nothing under the screen restyled on its own besides: the screen's pass covered it.
        assert restyled.count("main") == 0, restyled
        shown_small = screen.query_one("#too-small").display
        assert shown_small == (end[0] < MIN_WIDTH or end[1] < MIN_HEIGHT)


@run_async
async def test_a_start_styles_each_widget_once_when_it_mounts_and_not_before() -> None:
    """Working out a widget's styles checks every rule (about 1 ms a widget here). Textual's own
    widgets restyled themselves in their constructors, before any screen held them, and the
    screen's first showing restyled every widget again: 680 passes over 277 widgets a start, 56
    of them on widgets not mounted yet. Now each is styled as it mounts, and a Select again as it
    takes its value."""
    app = MnistApp(load_preset("smoke"), source=ScriptedSource(training_run()), preset="smoke")
    styled: list[tuple[Any, bool]] = []
    apply = app.stylesheet.apply

    def counted(node: Any, *args: Any, **kwargs: Any) -> None:
        styled.append((node, node.is_attached))
        apply(node, *args, **kwargs)

    app.stylesheet.apply = counted  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        widgets = set(app.main_screen.walk_children(with_self=True))
        before = len(styled)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: app.screen is not app.main_screen, what="the help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, what="the dashboard again")
        assert all(node not in widgets for node, _ in styled[before:]), "closing the help restyled the dashboard"
    passes = [(node, attached) for node, attached in styled[:before] if node in widgets]
    assert len(widgets) > 200
    assert [node for node, attached in passes if not attached] == []
    assert {node for node, _ in passes} == widgets, "every widget is styled"
    assert len(passes) <= 1.5 * len(widgets), f"{len(passes)} passes over {len(widgets)} widgets"
