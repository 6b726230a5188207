"""QA on the Train view: the gallery's mistakes in sight, presets picked again, the form's range errors."""

from __future__ import annotations

import re

import pytest

from mnist_tui.engine.presets import load_preset
from textual.widgets import Input, Select

from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.field_values import format_value
from mnist_tui.tui.digit_gallery import DigitGallery
from tui_script import ScriptedSource, error_shown, laid_text, press, run_async, samples, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=2)


def visible_captions(gallery: DigitGallery) -> list[str]:
    """The captions on the lines the gallery's box shows, as on screen (a card's caption is its last line)."""
    return [caption for line in laid_text(gallery, in_view=True) if "→" in line for caption in re.split(r"\s{2,}", line.strip())]


@run_async
async def test_the_gallery_shows_its_mistakes_in_its_first_row() -> None:
    """At 120x40 one row of four cards shows: the mistake (a 5 taken for a 6) was the sixth card, below it."""
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        gallery = app.query_one(DigitGallery)
        gallery.show(samples("r", 500, wrong=(5,)))
        await pilot.pause()
        shown = visible_captions(gallery)
        assert 0 < len(shown) < 10, shown  # the test's premise: not every card fits
        assert "5 → 6 55%" in shown, shown
        assert gallery.border_title == "Predictions after epoch 500: 9/10 right, wrong ones first"
        assert gallery.max_scroll_y > 0  # the others a scroll away


@run_async
async def test_picking_the_shown_preset_again_loads_its_values() -> None:
    """smoke, edited (hidden 32, lr 0.0005), then smoke picked again from the menu: the fields stayed edited."""
    app = MnistApp(CONFIG, source=ScriptedSource(training_run()), preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.query_one(ConfigForm)
        app.query_one("#field-hidden", Input).value = "32"
        app.query_one("#field-lr", Input).value = "0.0005"
        await pilot.pause()
        assert form.summary == "smoke, edited"

        menu = app.query_one("#preset", Select)
        app.set_focus(menu)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")  # the highlighted option: smoke, the one shown
        await wait_until(pilot, lambda: form.summary == "smoke", what="smoke's values again")
        assert form.read() == load_preset("smoke")
        assert app.query_one("#field-hidden", Input).value == format_value(load_preset("smoke").hidden)


@run_async
async def test_range_errors_show_on_leaving_a_field_and_all_at_once_on_s() -> None:
    """hidden 32,-1 and dropout 1.5: s showed the hidden error alone, and dropout's only at the next s;
    leaving a field with lr -0.1 flagged nothing."""
    source = ScriptedSource(training_run(end=False))
    app = MnistApp(CONFIG, source=source, preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        lr = app.query_one("#field-lr", Input)
        app.set_focus(lr)
        await pilot.pause()
        lr.value = "-0.1"
        await pilot.pause()
        assert error_shown(app, "lr") is None  # not while typing: 0.001 is 0 for a moment
        await pilot.press("tab")
        await wait_until(pilot, lambda: error_shown(app, "lr") is not None, what="lr flagged on leaving it")
        assert error_shown(app, "lr") == "lr must be greater than 0, not -0.1"

        app.query_one("#field-hidden", Input).value = "32,-1"
        app.query_one("#field-dropout", Input).value = "1.5"
        app.set_focus(None)
        await press(pilot, "s")
        assert source.calls == [] and app.state == "idle"
        assert error_shown(app, "hidden") == "hidden sizes must be between 1 and 65536, not -1"
        assert error_shown(app, "dropout") == "dropout must be at least 0 and below 1, not 1.5"
        assert error_shown(app, "lr") == "lr must be greater than 0, not -0.1"
        await pilot.pause()  # the form's Changed messages handled before the app closes


@run_async
async def test_s_during_a_run_says_why_nothing_starts() -> None:
    source = ScriptedSource(training_run(end=False))
    app = MnistApp(CONFIG, source=source, preset="smoke")
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running")
        await press(pilot, "s")
        await pilot.pause()
        notes = [str(note.message) for note in app._notifications]
        assert "A run is in progress: stop it (x) before starting another run." in notes, notes
        assert len(source.calls) == 1
