"""The prediction gallery repaints what an epoch changed, and nothing out of view costs a frame."""

from __future__ import annotations

import dataclasses

import pytest
from rich.segment import Segment
from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.digit_gallery import DigitGallery
from mnist_tui.tui.laid_lines import LaidLines
from tui_script import ScriptedSource, laid_text, run_async, samples, training_run

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=2)


class Lines(App[None]):
    def compose(self) -> ComposeResult:
        yield LaidLines()


def numbered(count: int, changed: dict[int, str] | None = None) -> list[list[Segment]]:
    return [[Segment((changed or {}).get(y, f"line {y}"))] for y in range(count)]


@run_async
async def test_laid_lines_repaint_only_the_lines_that_changed() -> None:
    app = Lines()
    async with app.run_test(size=(40, 12)) as pilot:
        lines = app.query_one(LaidLines)
        lines.show_lines(lambda width: numbered(6))
        await pilot.pause()
        strips = list(lines._lay_out(lines.size.width)[2])
        calls: list[tuple[tuple[Region, ...], bool]] = []
        original = lines.refresh
        lines.refresh = lambda *regions, layout=False, **k: (  # type: ignore[method-assign]
            calls.append((regions, layout)), original(*regions, layout=layout, **k)
        )[1]

        lines.show_lines(lambda width: numbered(6, {1: "one", 2: "two", 4: "four"}))
        assert calls == [((Region(0, 1, 40, 2), Region(0, 4, 40, 1)), False)]
        kept = lines._lay_out(40)[2]
        assert [kept[y] is strips[y] for y in range(6)] == [True, False, False, True, False, True]
        await pilot.pause()
        assert [strip.text for strip in app.screen._compositor.render_strips()[:6]] == [
            text.ljust(40) for text in ("line 0", "one", "two", "line 3", "four", "line 5")
        ]

        calls.clear()  # the same lines again: nothing to repaint
        lines.show_lines(lambda width: numbered(6, {1: "one", 2: "two", 4: "four"}))
        assert calls == []

        lines.show_lines(lambda width: numbered(7))  # another height: the screen is laid out again
        assert calls == [((), True)]
        await pilot.pause()
        assert lines.size.height == 7


@run_async
async def test_an_epochs_captions_repaint_their_lines_only_and_nothing_out_of_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With one widget per card, the cards out of view (six of ten at 120x40) were repainted at
    every epoch's new captions, and a widget repainted out of view makes Textual arrange the whole
    screen again: 5 ms of the UI thread, 0.5 % of a core at one-second epochs."""
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        gallery = app.query_one(DigitGallery)
        gallery.show(samples("r", 1))
        await pilot.pause()
        assert gallery.max_scroll_y > 0  # the premise: cards out of view
        lines = gallery.query_one(LaidLines)
        regions: list[Region] = []
        original = lines.refresh
        lines.refresh = lambda *r, **k: (regions.extend(r), original(*r, **k))[1]  # type: ignore[method-assign]
        hidden: list[Widget] = []  # repainted while out of view: Textual then arranges the whole screen again
        update = Compositor.update_widgets
        monkeypatch.setattr(
            Compositor, "update_widgets",
            lambda self, widgets: (hidden.extend(w for w in widgets if w not in self.visible_widgets), update(self, widgets))[1],
        )

        epoch_2 = samples("r", 2)
        gallery.show(dataclasses.replace(epoch_2, confidences=tuple(c - 0.1 for c in epoch_2.confidences)))
        await pilot.pause()
        # The same digits, right and wrong as before: only the three rows' captions changed.
        assert [(region.y, region.height) for region in regions] == [(14, 1), (29, 1), (44, 1)]
        mine = [w for w in hidden if w is gallery or gallery in w.ancestors]
        assert not mine, f"repainted out of view: {mine}"
        text = laid_text(gallery)
        assert "3 → 4 45%" in text[14] and "6 → 6 87%" in text[29]
        assert gallery.border_title == "Predictions after epoch 2: 8/10 right, wrong ones first"
