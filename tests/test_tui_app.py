"""The dashboard driven by Pilot and fed by a scripted event source: no torch, no data, no training."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.pilot import Pilot

from mnist_tui.tui.quick_text import QuickText
from mnist_tui.tui.thin_bar import ThinBar as ProgressBar

from mnist_tui.engine.config import FIELDS, MAX_EPOCHS, Config
from mnist_tui.engine.events import Event, RunFailed, RunFinished, RunStarted
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.accuracy_table import BEST, AccuracyTable
from mnist_tui.tui.app import ACTIVE, VIEWS, MnistApp
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.digit_gallery import Card, DigitGallery
from mnist_tui.tui.help_screen import HelpScreen
from mnist_tui.tui import app as app_module, engine_feed, loss_chart
from mnist_tui.tui.loss_chart import LONGEST_WAIT, REDRAW_SECONDS, LossChart
from mnist_tui.tui.priority import ENGINE_NICE, lower_this_thread
from mnist_tui.tui.run_progress import RunProgress
from mnist_tui.tui.source import EngineEvent
from mnist_tui.tui.status_bar import StatusBar
from tui_script import (
    RUN_DIR,
    STEPS_PER_EPOCH,
    Script,
    ScriptedSource,
    batch,
    endless_reports,
    epoch_ended,
    failing_run,
    press,
    raising_run,
    run_async,
    samples,
    started,
    training_run,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)
"""Three epochs of 100 steps, a report every 5 steps: 60 reports."""
SIZE = (120, 40)


def make_app(source: ScriptedSource, config: Config = CONFIG) -> MnistApp:
    return MnistApp(config, source=source, preset="smoke")


async def start_reporting(pilot: Pilot, app: MnistApp) -> None:
    """Start a run and wait until its reports show."""
    await press(pilot, "s")
    await wait_until(pilot, lambda: app.query_one(RunProgress).step > 3, what="reports")


def outcome(app: MnistApp) -> str:
    """How the run ended, as the progress pane shows it ("" while idle or active), asserted wholly on screen."""
    if app.state == "idle" or app.state in ACTIVE:
        return ""
    numbers = app.query_one("#numbers", QuickText)
    pane = app.query_one(RunProgress).content_region
    assert pane.contains_region(numbers.region), f"the outcome at {numbers.region} is outside {pane}"
    return str(numbers.content)


def form_locked(app: MnistApp) -> bool:
    """Whether the form is locked for a run: every field but the optimizer's live settings disabled."""
    form = app.query_one(ConfigForm)
    locked = {name for name in FIELDS if form.query_one(f"#field-{name}").disabled}
    return form.query_one("#preset").disabled and locked == set(FIELDS) - set(form.live) and bool(form.live)


def caption(card: Card) -> Text:
    """The caption under a card's pixel art."""
    return card.caption


def test_the_dashboard_and_its_test_script_import_no_torch() -> None:
    """Everything these tests import (the app, every widget, the script) loads no torch, so they run without it."""
    code = textwrap.dedent(
        """
        import sys
        import tui_script
        import mnist_tui.tui.app
        from mnist_tui.engine.presets import load_preset
        mnist_tui.tui.app.MnistApp(load_preset("smoke"), source=tui_script.ScriptedSource())
        loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "torchvision", "numpy"))
        assert not loaded, loaded
        assert "textual" in sys.modules and "mnist_tui.tui.digit_gallery" in sys.modules
        print("no torch")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no torch"


@run_async
async def test_a_run_fills_the_chart_progress_table_gallery_and_status() -> None:
    source = ScriptedSource(training_run())
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the run to finish")

        assert len(source.calls) == 1 and source.last.run_id == app.run_id
        reports = 3 * STEPS_PER_EPOCH // CONFIG.report_every
        chart = app.query_one(LossChart)
        assert chart.curves.batch.count == chart.curves.smooth.count == reports
        xs, ys = chart.curves.batch.points()
        assert xs[:2] == [5 / STEPS_PER_EPOCH, 10 / STEPS_PER_EPOCH] and xs[-1] == 3.0
        assert ys[0] == pytest.approx(2.3 / (1 + 5 / 20))
        assert chart.curves.evaluation.points()[0] == [1, 2, 3]

        progress = app.query_one(RunProgress)
        assert progress.step == 300
        run_bar = app.query_one("#run-bar", ProgressBar)
        assert (run_bar.progress, run_bar.total) == (300, 300)
        epoch_bar = app.query_one("#epoch-bar", ProgressBar)
        assert (epoch_bar.progress, epoch_bar.total) == (100, 100)
        assert outcome(app) == "Finished: final accuracy 96.75 %\nbest 97.25 % at epoch 2"

        table = app.query_one(AccuracyTable)
        assert table.row_count == 3
        assert table.shown == ("epoch", "train_acc", "eval_acc", "eval_loss")
        assert [str(table.get_cell(str(epoch), "epoch")) for epoch in (1, 2, 3)] == ["1", "2", "3"]
        accuracies = [str(table.get_cell(str(epoch), "eval_acc")) for epoch in (1, 2, 3)]
        assert accuracies == ["95.50", f"97.25 {BEST}", "96.75"]  # the star moved from epoch 1 to the best, epoch 2

        gallery = app.query_one(DigitGallery)
        cards = gallery.cards
        assert len(cards) == 10
        assert [card.wrong for card in cards] == [True, True] + [False] * 8  # the wrong ones first
        assert caption(cards[2]).plain.split() == ["0", "→", "0", "97%"]
        assert caption(cards[0]).plain.split() == ["3", "→", "4", "55%"]
        assert "red" in str(caption(cards[0]).spans[-1].style)
        assert "green" in str(caption(cards[2]).spans[-1].style)
        assert gallery.border_title == "Predictions after epoch 3: 8/10 right, wrong ones first"

        status = app.query_one(StatusBar)
        assert (status.state, status.device, status.run_dir) == ("finished", "cpu", RUN_DIR)
        assert not form_locked(app)


@run_async
async def test_a_run_folder_too_long_for_the_status_bar_shows_its_end() -> None:
    """A path longer than the bar's row went to a second row, and "run folder" showed nothing."""
    long_dir = "/home/someone/experiments/" + "deep/" * 20 + "runs/smoke-20261202-035316-f85e"
    events = [dataclasses.replace(started("r", CONFIG), run_dir=long_dir)]
    app = make_app(ScriptedSource(lambda config, run_id: [dataclasses.replace(e, run_id=run_id) for e in events]))
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "s")
        status = app.query_one(StatusBar)
        await wait_until(pilot, lambda: status.run_dir == long_dir, what="the run's folder")
        await pilot.pause()
        row = "".join(segment.text for segment in status.render_line(0))
        assert row.rstrip().endswith("/runs/smoke-20261202-035316-f85e"), row
        assert "run folder …" in row, row


@run_async
async def test_during_a_run_stale_events_and_a_second_start_change_nothing() -> None:
    """Mid-run (the script played out, the run goes on): running, form locked, every pane filled.

    Then a stale run's events (run id not the app's) and a second s leave every pane as it was.
    """
    source = ScriptedSource(training_run(end=False))
    app = make_app(source, CONFIG.replace(epochs=2))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, source.played_out.is_set, what="the script")
        chart, table, progress = app.query_one(LossChart), app.query_one(AccuracyTable), app.query_one(RunProgress)
        gallery, status = app.query_one(DigitGallery), app.query_one(StatusBar)
        await wait_until(pilot, lambda: table.row_count == 2 and getattr(gallery.samples, "epoch", None) == 2)
        assert app.state == "running" and status.state == "running"
        assert form_locked(app)
        assert progress.step == 200
        # The bars show the latest report at the next UI tick, with the chart.
        await wait_until(pilot, lambda: app.query_one("#run-bar", ProgressBar).progress == 200)
        assert chart.curves.batch.count == 40
        assert gallery.border_title == "Predictions after epoch 2: 8/10 right, wrong ones first"
        assert (status.device, status.run_dir) == ("cpu", RUN_DIR)

        def panes() -> tuple[object, ...]:
            return (
                chart.curves.batch.count, len(chart.curves.evaluation), table.row_count, progress.step, gallery.samples,
                status.device, status.run_dir, app.state, outcome(app),
            )

        before = panes()
        stale = "smoke-20200101-000000-dead"
        assert stale != app.run_id
        for event in (
            dataclasses.replace(started(stale, CONFIG), device="cuda:1", run_dir="runs/stale", start_epoch=2),
            batch(stale, 7),
            epoch_ended(stale, 1, 3, (99.0,)),
            samples(stale, 1, wrong=()),
            RunFailed(run_id=stale, error="left over", reason="error"),
        ):
            app.post_message(EngineEvent(event))
        await press(pilot, "s")
        await pilot.pause()
        assert panes() == before
        assert len(source.calls) == 1

        # The same kind of event with the current run id does land (so the check above can fail).
        app.post_message(EngineEvent(batch(app.run_id, 205)))
        await wait_until(pilot, lambda: chart.curves.batch.count == before[0] + 1)


@run_async
async def test_pause_holds_the_step_still_resume_moves_it_on_and_stop_ends_the_run() -> None:
    source = ScriptedSource(endless_reports, pace=0.02)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        progress = app.query_one(RunProgress)
        await press(pilot, "s")
        await wait_until(pilot, lambda: progress.step > 10, what="reports")

        await press(pilot, "p")  # the engine pauses after its batch, and says so
        await wait_until(pilot, lambda: app.state == "paused", what="the paused event")
        assert app.query_one(StatusBar).state == "paused"
        held = progress.step
        bar = app.query_one("#epoch-bar", ProgressBar).progress
        await pilot.pause(0.3)
        assert progress.step == held
        assert app.query_one("#epoch-bar", ProgressBar).progress == bar
        assert not source.last.stop.is_set()

        await press(pilot, "p")
        await wait_until(pilot, lambda: app.state == "running" and progress.step > held + 5, what="the run to go on")

        await press(pilot, "x")
        assert app.state in ("stopping", "stopped")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        assert source.last.stop.is_set()
        assert app.query_one(StatusBar).state == "stopped"
        step = progress.step
        # Counted within its epoch (a busy CI machine took the run past its first epoch before the stop).
        epoch, within = divmod(step - 1, STEPS_PER_EPOCH)
        assert outcome(app) == f"Stopped at epoch {epoch + 1}, step {within + 1:,}\nthe last checkpoint resumes it"
        assert not form_locked(app)


@run_async
async def test_a_failure_shows_the_failed_state_and_its_error_and_a_new_run_can_start() -> None:
    """A RunFailed event, a source that raises, one that raises while stopping, then a run that finishes."""
    source = ScriptedSource(failing_run("CUDA error: out of memory"))
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "failed", what="the failure")
        assert app.query_one(StatusBar).state == "failed"
        assert outcome(app) == "Failed: CUDA error: out of memory"
        assert not form_locked(app)

        source.script = raising_run(RuntimeError("data folder vanished"))
        await press(pilot, "s")
        await wait_until(pilot, lambda: outcome(app).startswith("Failed: Runtime"), what="the second failure")
        assert outcome(app) == "Failed: RuntimeError: data folder vanished"
        assert app.state == "failed" and app.query_one(StatusBar).state == "failed"

        # A source that raises once stopped: the worker is cancelled by then and reports no error.
        source.script = training_run(end=False)
        source.fail_on_stop = OSError("No space left on device")
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "running" and source.played_out.is_set())
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "failed", what="the failure after the stop")
        assert outcome(app) == "Failed: OSError: No space left on device"

        source.script, source.fail_on_stop = training_run(), None
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the last run")
        assert len(source.calls) == 4 and len({call.run_id for call in source.calls}) == 4
        assert app.query_one(LossChart).curves.batch.count == 60  # the failed runs' reports were forgotten


@run_async
async def test_quit_during_a_paused_run_stops_the_source_and_exits() -> None:
    """The paused engine waits between two batches; quitting sets its stop flag, which it polls while paused."""
    source = ScriptedSource(endless_reports, pace=0.02)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.query_one(RunProgress).step > 5)
        await press(pilot, "p")
        await wait_until(pilot, lambda: app.state == "paused", what="the paused event")
        started_at = time.monotonic()
        await press(pilot, "q")
        while app.return_value is None and time.monotonic() - started_at < 5:
            await asyncio.sleep(0.01)
    assert app.return_value == 130, "quitting mid-run stops the run: exit 130, as Ctrl+C does headless"
    assert source.last.stop.is_set()
    assert app.state == "stopped"  # it exited once the engine had stopped, not on the grace timer


@pytest.mark.parametrize(
    ("scripts", "code"),
    [
        ((), 0),
        ((training_run(),), 0),
        ((failing_run(),), 1),
        ((training_run(), failing_run()), 1),
        ((failing_run(), training_run()), 0),
    ],
    ids=["idle", "finished", "failed", "finished-then-failed", "failed-then-finished"],
)
@run_async
async def test_quitting_exits_with_the_last_runs_outcome(scripts: tuple, code: int) -> None:
    """After the runs end, q exits as headless would have for the last of them (0 with none)."""
    source = ScriptedSource()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        for number, script in enumerate(scripts, 1):
            source.script = script
            await press(pilot, "s")
            await wait_until(
                pilot, lambda: len(source.calls) == number and app.state in ("finished", "failed"), what="the run's end"
            )
        await press(pilot, "q")
        await wait_until(pilot, lambda: app.return_value is not None, what="the exit")
    assert app.return_value == code


@run_async
async def test_q_closes_the_help_first_then_quits_the_idle_app_at_once() -> None:
    source = ScriptedSource()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "q")
        assert not isinstance(app.screen, HelpScreen) and app.return_value is None
        await press(pilot, "q")
        await pilot.pause()
    assert app.return_value == 0
    assert source.calls == []


@run_async
async def test_a_terminal_smaller_than_80x24_shows_the_too_small_message() -> None:
    """At start, and after each resize: just big enough, one column short, one row short."""
    app = make_app(ScriptedSource())
    async with app.run_test(size=(70, 20)) as pilot:
        for size in (None, (80, 24), (79, 24), (80, 23)):
            if size is not None:
                await pilot.resize_terminal(*size)
                await wait_until(pilot, lambda: app.size == size)
            small = app.size.width < 80 or app.size.height < 24
            assert app.screen.has_class("-too-small") is small, app.size
            assert app.query_one("#too-small").display is small, app.size
            assert app.query_one("#views").display is not small, app.size


@run_async
async def test_at_80x24_the_accuracy_pane_shows_the_newest_epoch_of_a_long_run() -> None:
    """Beside the chart at 80x24, the pane has one row for epochs: a horizontal scrollbar (the
    columns of a 120-epoch run are wider than the pane) took it, and no epoch showed."""
    app = make_app(ScriptedSource(training_run(end=False)), CONFIG.replace(epochs=120, report_every=50))
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "s")
        table = app.query_one(AccuracyTable)
        await wait_until(pilot, lambda: table.row_count == 120, what="the run's epochs")
        await pilot.pause(0.2)
        assert not table.show_horizontal_scrollbar
        rows = table.scrollable_content_region.height - 1  # less the header
        assert rows >= 1
        newest = table.row_count - 1
        assert table.scroll_offset.y <= newest < table.scroll_offset.y + rows, "the newest epoch is in view"


def shown_rows(table: AccuracyTable) -> list[str]:
    """The table's rows as the screen shows them: its header, then the epochs in view, less the scrollbar's cells."""
    width = table.scrollable_content_region.width
    return [table.render_line(y).crop(0, width).text for y in range(table.scrollable_content_region.height)]


def shown_lines(widget: Any) -> list[str]:
    """What a line-API widget (progress's numbers and bars, the status bar) shows in its box."""
    width, height = widget.content_size
    return [widget.render_line(y).crop(0, width).text.rstrip() for y in range(height)]


def new_bests(epochs: int, count: int = 20) -> Script:
    """A run's last ``count`` epochs of ``epochs``, each a new best (the newest starred); it stays running."""

    def script(config: Config, run_id: str) -> Iterator[Event]:
        yield started(run_id, config)
        for epoch in range(epochs - count + 1, epochs + 1):
            accuracy = 90.0 + 9.0 * epoch / epochs
            yield dataclasses.replace(epoch_ended(run_id, 1, epochs, (accuracy,)), epoch=epoch, best_epoch=epoch)

    return script


@pytest.mark.parametrize("epochs", [120, MAX_EPOCHS])
@run_async
async def test_at_80x24_every_accuracy_column_and_the_star_fit_up_to_the_most_epochs(epochs: int) -> None:
    """Beside the chart (38 cells), from epoch 100 on the star's column was cut off at the pane's right."""
    app = make_app(ScriptedSource(new_bests(epochs)), CONFIG.replace(epochs=epochs))
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "s")
        table = app.query_one(AccuracyTable)
        await wait_until(pilot, lambda: table.row_count == 20 and table.show_vertical_scrollbar, what="the epochs")
        await pilot.pause(0.2)
        assert app.query_one("#main").has_class("-beside") and table.outer_size.width == 40
        assert not table.show_horizontal_scrollbar
        header, *rows = shown_rows(table)
        assert BEST in rows[-1], rows
        assert rows[-1].split() == [str(epochs), "98.00", "99.00", BEST, "0.4000"], rows
        assert header.split() == ["epoch", "train", "eval", "eval", "loss"], header
        assert sum(column.get_render_width(table) for column in table.columns.values()) <= len(header)
        assert len(table.border_title or "") <= table.outer_size.width - 6, "the title whole in the border"


@run_async
async def test_at_80x24_a_finished_run_shows_whole_in_the_narrow_panes_beside_the_form() -> None:
    """The form comes back at the run's end: progress and accuracy share 48 cells. Progress lost
    its last line ("epoch 1" of the best), accuracy every column but the epoch and the training
    accuracy (the star among them), and the status bar cut the run folder's own name."""
    run_dir = "/home/someone/mnist/runs/smoke-20261202-060353-757c"

    def script(config: Config, run_id: str) -> Iterator[Event]:
        for event in training_run()(config, run_id):
            yield dataclasses.replace(event, run_dir=run_dir) if isinstance(event, RunStarted) else event

    app = make_app(ScriptedSource(script), load_preset("smoke"))
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the run's end")
        await pilot.pause(0.3)
        assert app.query_one("#sidebar").display and app.query_one("#main").has_class("-cramped")

        numbers = app.query_one("#numbers", QuickText)
        assert " ".join(" ".join(shown_lines(numbers)).split()) == "Finished: 95.50 % best 95.50 % at epoch 1"
        for bar in ("#epoch-bar", "#run-bar"):
            assert shown_lines(app.query_one(bar, ProgressBar))[0].endswith("━ 100%")

        table = app.query_one(AccuracyTable)
        header, row, *_ = shown_rows(table)
        assert BEST in row, row
        assert header.split() == ["epoch", "eval"] and row.split() == ["1", "95.50", BEST], (header, row)
        assert table.border_title == "Accuracy per epoch"

        (line,) = shown_lines(app.query_one(StatusBar))
        assert line.endswith("● finished   device cpu   run folder …/runs/smoke-20261202-060353-757c"), line


@run_async
async def test_at_80x24_a_long_run_stopped_keeps_its_bars_and_says_where_it_stopped() -> None:
    """120 epochs: "epoch 1/120" left the bars beside the form no cells, and the stop's last line was cut."""
    source = ScriptedSource(endless_reports, pace=0.02)
    app = make_app(source, CONFIG.replace(epochs=120))
    async with app.run_test(size=(80, 24)) as pilot:
        await start_reporting(pilot, app)
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        await pilot.pause(0.3)
        progress = app.query_one(RunProgress)
        assert app.query_one("#sidebar").display and progress.content_size.width == 20
        epoch_bar, run_bar = (shown_lines(app.query_one(bar, ProgressBar))[0] for bar in ("#epoch-bar", "#run-bar"))
        assert epoch_bar.count("━") >= 4 and run_bar.count("━") >= 4, (epoch_bar, run_bar)
        assert str(app.query_one("#epoch-caption").content) == "1/120"
        step = progress.step
        shown = " ".join(" ".join(shown_lines(app.query_one("#numbers", QuickText))).split())
        assert shown == f"Stopped at epoch 1, step {step:,} resumable"


def reports_in(epoch: int) -> Script:
    """A run resumed at the start of ``epoch`` that reports forever (until stopped), never past
    that epoch's end (a million steps)."""
    steps = 1_000_000

    def script(config: Config, run_id: str) -> Iterator[Event]:
        yield dataclasses.replace(started(run_id, config, steps_per_epoch=steps), start_epoch=epoch - 1)
        step = (epoch - 1) * steps
        while True:
            step += 1
            yield batch(run_id, step, steps_per_epoch=steps, loss=1.0)

    return script


def epoch_shown(app: MnistApp) -> tuple[str, str, str]:
    """The epoch bar's caption, asserted whole on screen, and the two bars as shown."""
    caption = app.query_one("#epoch-caption")
    text = str(caption.content)
    assert caption.content_region.width >= len(text), f"{text!r} cut to {caption.content_region.width} cells"
    epoch_bar, run_bar = (shown_lines(app.query_one(bar, ProgressBar))[0] for bar in ("#epoch-bar", "#run-bar"))
    return text, epoch_bar, run_bar


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize(("epoch", "in_thousands"), [(3, "3/100k"), (12_345, "12k/100k")])
@run_async
async def test_a_run_of_a_hundred_thousand_epochs_shows_where_it_is_and_its_bars_at_every_width(
    size: tuple[int, int], epoch: int, in_thousands: str
) -> None:
    """Beside the form at 80x24 (20 cells) "100000/100000" left both bars only their percentages:
    there the count goes to thousands; wherever it fits it stays whole, with "epoch"."""
    app = make_app(ScriptedSource(reports_in(epoch), pace=0.02), CONFIG.replace(epochs=MAX_EPOCHS))
    async with app.run_test(size=size) as pilot:
        await start_reporting(pilot, app)
        await pilot.pause(0.1)
        running = epoch_shown(app)
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        await pilot.pause(0.3)
        stopped = epoch_shown(app)
        beside_the_form = app.query_one(RunProgress).content_size.width
    narrow = size == (80, 24)
    assert beside_the_form == (20 if narrow else 36)
    whole = f"epoch {epoch}/100000"
    for (caption, epoch_bar, run_bar), wanted in ((running, whole), (stopped, in_thousands if narrow else whole)):
        assert caption == wanted
        assert epoch_bar.endswith("%") and run_bar.endswith("%")
        assert all(bar.count("━") + bar.count("╸") >= 4 for bar in (epoch_bar, run_bar)), (epoch_bar, run_bar)


@run_async
async def test_notifications_stand_above_the_status_bar_and_the_key_bar() -> None:
    """A stop's notification covered the status bar's end, the run folder, for 8 seconds."""
    from mnist_tui.tui.key_bar import KeyBar

    source = ScriptedSource(endless_reports, pace=0.02)
    app = make_app(source)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:  # tests show none by default
        await start_reporting(pilot, app)

        def toasts() -> list[Any]:
            return [toast for toast in app.screen.query("Toast") if toast.region]

        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped" and len(toasts()) == 1, what="the stop's notification")
        app.notify("Trial 3: " + "a long error " * 8, severity="error")  # another, stacked above it
        await wait_until(pilot, lambda: len(toasts()) == 2, what="the second notification")
        await pilot.pause(0.1)
        status, keys = app.query_one(StatusBar).region, app.query_one(KeyBar).region
        shown = toasts()
        assert "Stopped at epoch" in str(shown[0].render()) and "Trial 3" in str(shown[1].render())
        assert not shown[0].region.overlaps(shown[1].region)
        for toast in shown:
            assert app.screen.region.contains_region(toast.region), toast.region
            assert not toast.region.overlaps(status) and not toast.region.overlaps(keys), (toast.region, status)


@run_async
async def test_the_chart_redraws_only_when_new_points_arrived() -> None:
    app = make_app(ScriptedSource())
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        await pilot.pause(REDRAW_SECONDS * 1.5)
        idle = chart.redraws
        assert idle >= 1  # the empty chart was drawn once
        await pilot.pause(REDRAW_SECONDS * 2.5)
        assert chart.redraws == idle

        for step in range(1, 51):  # many points between two ticks make one redraw
            app.run_state.loss.add_batch(step / 100, 1 / step)
            chart.show_run(app.run_state)
        await wait_until(pilot, lambda: chart.redraws > idle, timeout=LONGEST_WAIT + 2)
        await pilot.pause(REDRAW_SECONDS * 2.5)
        assert chart.redraws == idle + 1


@run_async
async def test_the_chart_builds_no_figure_under_the_help_and_draws_the_waiting_points_after_it() -> None:
    """plotext builds a figure when it is first painted: one made while the help covered the chart
    was built in the frame that closed the help, which then took twice as long."""
    app = make_app(ScriptedSource())
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        await pilot.pause(REDRAW_SECONDS * 1.5)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        drawn = chart.redraws
        for step in range(1, 51):
            app.run_state.loss.add_batch(step / 100, 1 / step)
            chart.show_run(app.run_state)
        chart.draw_now()
        await pilot.pause(LONGEST_WAIT + 1)
        assert chart.redraws == drawn and chart._dirty

        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)
        await wait_until(pilot, lambda: chart.redraws == drawn + 1 and not chart._dirty, what="the waiting points")


@run_async
async def test_the_runs_end_draws_its_last_points_at_once_and_no_wait_exceeds_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loss_chart, "SHARE", 1e-9)  # as if building a figure cost a slow machine ages
    app = make_app(ScriptedSource())
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        for step in range(1, 51):
            app.run_state.loss.add_batch(step / 100, 1 / step)
        chart.show_run(app.run_state)
        chart.draw_now()
        await wait_until(pilot, lambda: chart._next_redraw > 0, what="the figure's paint")  # it spaces the next
        drawn = chart.redraws
        assert time.monotonic() < chart._next_redraw <= time.monotonic() + LONGEST_WAIT

        app.run_state.loss.add_batch(0.51, 0.01)
        chart.show_run(app.run_state)
        chart.frame()  # the app's tick: too soon after the last figure
        assert chart.redraws == drawn and chart._dirty
        end = RunFinished(run_id="r", final_accuracy=90.0, best_accuracy=90.0, best_epoch=1, epochs_completed=1, train_seconds=1.0)
        chart.show_event(end, app.run_state)
        assert chart.redraws == drawn + 1 and not chart._dirty


@run_async
async def test_the_chart_shown_again_draws_what_arrived_unseen_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """QA at 80x24: back in Train after the run ended in Inspect, the chart showed epochs 1-3 of 20 for
    three seconds (the spacing of its last figure), beside a Progress pane at 20/20."""
    monkeypatch.setattr(loss_chart, "SHARE", 1e-9)  # each figure spaces the next by the longest wait
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        await press(pilot, "s")
        await wait_until(pilot, lambda: chart.redraws >= 2 and chart._next_redraw > time.monotonic(), what="a figure of reports")
        await press(pilot, "2")
        await wait_until(pilot, lambda: app.current_view == "InspectView", what="the Inspect view")
        seen = len(chart.curves.batch)
        await wait_until(pilot, lambda: len(app.run_state.loss.batch) > seen + 5, what="reports the chart does not see")
        drawn = chart.redraws
        await press(pilot, "1")
        await wait_until(pilot, lambda: app.current_view == "TrainView", what="the Train view")
        assert chart.redraws > drawn, "drawn at once, not after the spacing of its last figure"
        assert len(chart.curves.batch) > seen
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")


@run_async
async def test_loss_reports_repaint_without_relaying_out_the_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relayout of the whole dashboard per report was most of the UI's cost during training.

    The captions are sized once at the start for the run's longest ("epoch 12000/12000" here),
    shown whole, and the reports after that only repaint.
    """
    from textual.screen import Screen

    layouts: list[int] = []
    original = Screen._refresh_layout

    def counted(self: Screen, *args: object, **kwargs: object) -> None:
        layouts.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    source = ScriptedSource(endless_reports, pace=0.01)
    app = make_app(source, CONFIG.replace(epochs=12_000))
    async with app.run_test(size=SIZE) as pilot:
        progress = app.query_one(RunProgress)
        await press(pilot, "s")
        await wait_until(pilot, lambda: progress.step > 5, what="reports")
        before = -1
        for _ in range(20):  # the start's own relayouts settle: none in 0.3 s
            if len(layouts) == before:
                break
            before = len(layouts)
            await pilot.pause(0.3)
        before, step = len(layouts), progress.step
        await wait_until(pilot, lambda: progress.step > step + 40, what="40 more reports")
        await pilot.pause(0.1)
        assert len(layouts) == before, f"{len(layouts) - before} relayouts during {progress.step - step} reports"
        caption = app.query_one("#epoch-caption")
        epoch = app.run_state.latest.epoch if app.run_state.latest else 1  # reports may have crossed into epoch 2
        assert str(caption.content) == f"epoch {epoch}/12000"
        assert caption.content_region.width >= len("epoch 12000/12000")
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")


def test_the_dashboard_runs_with_a_short_gil_switch_interval_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine thread gets the GIL back within 0.1 ms of the UI's Python (bench/README.md)."""
    import sys

    from mnist_tui.gil import SWITCH_INTERVAL

    seen: list[float] = []

    def run(self: MnistApp) -> int:
        seen.append(sys.getswitchinterval())
        return 0

    monkeypatch.setattr(MnistApp, "run", run)
    before = sys.getswitchinterval()
    code = app_module.run_dashboard(CONFIG, preset="smoke", autostart=False, data_dir=None, runs_dir="runs")
    assert code == 0
    assert seen == [pytest.approx(SWITCH_INTERVAL)] and SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before


@run_async
async def test_the_key_bar_greys_keys_that_do_nothing_and_a_click_runs_a_key() -> None:
    from mnist_tui.tui.key_bar import KeyBar

    source = ScriptedSource(endless_reports, pace=0.02)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(KeyBar)
        assert [key.key for key in bar.keys] == ["s", "p", "n", "x", "e", "?", f"{VIEWS[0].KEY}-{VIEWS[-1].KEY}", "q"]
        assert bar.enabled == (True, False, False, False, False, True, True, True)  # idle: nothing to pause, step, stop or set

        def column(key: str) -> int:
            """A cell inside the key's label (the bar has one cell of padding)."""
            return 1 + next(x for x in range(200) if bar.key_at(x) and bar.key_at(x).key == key) + 1

        await pilot.click(KeyBar, offset=(column("p"), 0))
        assert app.state == "idle"  # a greyed key does nothing
        await pilot.click(KeyBar, offset=(column("s"), 0))
        await wait_until(pilot, lambda: app.state == "running", what="the run to start")
        assert bar.enabled == (False, True, False, True, True, True, True, True)  # n steps only while paused
        assert "p Pause/Resume" in str(bar.render())
        await pilot.click(KeyBar, offset=(column("p"), 0))
        await wait_until(pilot, lambda: app.state == "paused", what="the pause")
        assert bar.enabled == (False, True, True, True, True, True, True, True)

        await pilot.click(KeyBar, offset=(column("x"), 0))
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        assert bar.enabled == (True, False, False, False, False, True, True, True)


@run_async
async def test_opening_and_closing_the_help_during_a_run_repaints_without_a_relayout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual's Footer recomposed at every screen switch: most of the help's time to close."""
    from textual.screen import Screen

    layouts: list[str] = []
    original = Screen._refresh_layout

    def counted(self: Screen, *args: object, **kwargs: object) -> None:
        layouts.append("dashboard" if self is app.main_screen else type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    source = ScriptedSource(endless_reports, pace=0.05)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await start_reporting(pilot, app)
        await press(pilot, "question_mark")  # the first opening composes the help screen once
        await pilot.pause(0.2)
        await press(pilot, "escape")
        await pilot.pause(0.2)
        layouts.clear()
        for _ in range(3):
            await press(pilot, "question_mark")
            await pilot.pause(0.1)
            assert isinstance(app.screen, HelpScreen)
            await press(pilot, "escape")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, HelpScreen)
        # The dashboard is never laid out again; the help's own box (two widgets), taller than the
        # screen since it lists every view's keys, settles its scrollbar once.
        assert "dashboard" not in layouts and layouts.count("HelpScreen") <= 1, layouts
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")


@run_async
async def test_a_new_epoch_row_repaints_the_accuracy_table_without_a_relayout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DataTable's growth asked for a layout of the whole screen, 40-150 ms at every epoch's end.
    The table has a fixed height: past its last visible row it scrolls, its scrollbar shown, the
    newest epoch in view."""
    from textual.screen import Screen

    layouts: list[str] = []
    original = Screen._refresh_layout

    def counted(self: Screen, *args: object, **kwargs: object) -> None:
        layouts.append("dashboard" if self is app.main_screen else type(self).__name__)
        original(self, *args, **kwargs)

    epochs = 24
    source = ScriptedSource(training_run(end=False), pace=0.002)
    app = make_app(source, CONFIG.replace(epochs=epochs))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccuracyTable)
        await press(pilot, "s")
        await wait_until(pilot, lambda: len(table.epochs) == 2, what="two epochs")
        await pilot.pause(0.3)
        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        shown = table.size.height - 1  # under the header
        await wait_until(pilot, lambda: len(table.epochs) == epochs, timeout=30, what="every epoch")
        await pilot.pause(0.5)
        assert epochs > shown, "more rows than the table shows"
        # Not one a row (21 here before): the scrollbar's appearing asks for one, and on a busy
        # machine one more came along (CI); the rows themselves ask for none.
        assert layouts.count("dashboard") <= 2, layouts
        assert table.show_vertical_scrollbar and table.max_scroll_y > 0
        assert table.scroll_y == table.max_scroll_y, "scrolled to the end"
        visible = [table.render_line(y).text for y in range(table.scrollable_content_region.height)]
        assert any(line.split()[:1] == [str(epochs)] for line in visible), visible
        assert not any(line.split()[:1] == ["1"] for line in visible[1:]), "the first epochs scrolled away"
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_the_help_is_rendered_ahead_for_the_width_it_opens_at(size: tuple[int, int]) -> None:
    """Its Markdown took 13-18 ms to render, and its first opening 50-65 ms while training."""
    from mnist_tui.tui import help_screen

    help_screen._rendered.clear()
    app = make_app(ScriptedSource())
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: bool(help_screen._rendered), what="the help rendered ahead")
        ahead = set(help_screen._rendered)
        await press(pilot, "question_mark")
        await pilot.pause(0.2)
        width = app.screen.query_one(help_screen.HelpText).content_size.width
        assert width in ahead, (width, ahead)
        assert set(help_screen._rendered) == ahead, "the opening rendered nothing more"


@run_async
async def test_whole_screen_repaints_run_without_the_garbage_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening and closing the help repaint the whole screen with the collector paused, and it is
    on again once they are painted (a full collection in the middle held the key 30 ms or more)."""
    import gc

    from textual._compositor import Compositor

    during: list[bool] = []
    original = Compositor.render_full_update

    def watched(self: Compositor, *args: object, **kwargs: object) -> object:
        during.append(gc.isenabled())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Compositor, "render_full_update", watched)
    source = ScriptedSource(endless_reports, pace=0.05)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await start_reporting(pilot, app)
        for key in ("question_mark", "escape"):
            during.clear()
            await press(pilot, key)
            await wait_until(pilot, lambda: bool(during), what="the whole screen's repaint")
            assert during[0] is False
            await wait_until(pilot, gc.isenabled, what="the collector back on")
        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
    assert gc.isenabled()


@run_async
async def test_in_a_short_terminal_the_panes_stand_beside_the_chart_when_there_is_width() -> None:
    """At 80x24 under the chart the loss kept no plot row, and beside the form progress kept 6 cells;
    with the form shown, the panes stay under the chart and the gallery hides instead."""
    source = ScriptedSource(endless_reports, pace=0.02)
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        main, chart = app.query_one("#main"), app.query_one(LossChart)
        progress, accuracy = app.query_one("#progress"), app.query_one("#accuracy")
        gallery = app.query_one("#gallery")
        await pilot.pause(0.1)
        assert app.query_one("#sidebar").display  # idle: the form takes 32 of the 80 columns
        assert not main.has_class("-beside") and main.has_class("-cramped")
        assert progress.region.width >= 20 and accuracy.region.width >= 20
        # The gallery gives its rows to the chart, which kept only its axes under the form's side.
        assert not gallery.display and chart.region.height >= 12

        await start_reporting(pilot, app)
        await pilot.pause(0.1)
        assert not app.query_one("#sidebar").display  # running on a narrow terminal: no form
        assert main.has_class("-beside") and gallery.display
        assert chart.region.height >= 10 and chart.region.width >= 36
        assert progress.region.x >= chart.region.right and accuracy.region.y >= progress.region.bottom

        await press(pilot, "x")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        await pilot.pause(0.1)
        assert not main.has_class("-beside") and progress.region.width >= 20
        assert not gallery.display and chart.region.height >= 12

        await pilot.resize_terminal(112, 26)  # the form beside even while running, 74 columns left
        await pilot.pause(0.2)
        assert not main.has_class("-beside") and not gallery.display and chart.region.height >= 12

        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert not main.has_class("-beside") and not main.has_class("-cramped")
        assert accuracy.region.width == 42 and gallery.display


@run_async
async def test_training_waits_until_the_start_and_each_gallery_are_on_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine thread resumes after a run's start and after predictions only once the screen
    shows them: their relayout and pixel art are painted before training competes for the cores.
    (The wait's bound is lifted here: on a loaded machine the first frame took over its 1 s.)"""
    monkeypatch.setattr(engine_feed, "PAINT_WAIT", 60.0)
    app: MnistApp
    seen: list[tuple[str, object]] = []

    def script(config: Config, run_id: str):
        yield started(run_id, config)
        seen.append(("started", app.query_one(StatusBar).state))
        yield samples(run_id, 0, wrong=(1, 2))
        seen.append(("samples", getattr(app.query_one(DigitGallery).samples, "epoch", None)))
        yield batch(run_id, 5)

    app = make_app(ScriptedSource(script))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.query_one(RunProgress).step == 5, what="the first report")
    assert seen == [("started", "running"), ("samples", 0)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
@run_async
async def test_the_engine_thread_trains_at_a_lower_priority_than_the_ui() -> None:
    """Keys and frames preempt training: the engine's thread runs at ENGINE_NICE, the UI's at its own."""
    seen: list[int] = []

    class Recording(ScriptedSource):
        def _play(self, *args: Any, **kwargs: Any) -> Iterator[Event]:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            yield from super()._play(*args, **kwargs)

    ui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    app = make_app(Recording(training_run()))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the run to finish")
    assert seen == [max(ui, ENGINE_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ui, "the UI's thread keeps its priority"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_lowering_a_thread_never_raises_its_priority() -> None:
    """A thread already nicer than ENGINE_NICE stays as it is (raising priority needs privileges anyway)."""
    results: list[tuple[bool, int]] = []

    def thread() -> None:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, ENGINE_NICE + 2)
        results.append((lower_this_thread(), os.getpriority(os.PRIO_PROCESS, me)))

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join()
    assert results == [(True, ENGINE_NICE + 2)]


@run_async
async def test_the_time_left_counts_the_evaluations_still_to_come() -> None:
    """It counted training alone: a small run evaluating half as many digits as it trains on was
    told a third of its time."""
    from textual.app import App

    from mnist_tui.tui.run_progress import RunProgress, format_duration
    from mnist_tui.tui.run_state import RunState
    from tui_script import batch, epoch_ended, started

    config = load_preset("smoke").replace(epochs=4, batch_size=64)

    class Alone(App):
        def compose(self):  # type: ignore[no-untyped-def]
            yield RunProgress(id="progress")

    app = Alone()
    async with app.run_test(size=(80, 12)) as pilot:
        progress = app.query_one(RunProgress)
        state = RunState()
        report = batch("r", 150)  # halfway through epoch 2 of 4, at 12,800 samples/s
        ended = dataclasses.replace(epoch_ended("r", 1, 4, (90.0,)), eval_seconds=30.0)
        for event in (started("r", config), ended, report):
            state.apply(event)
            progress.show_event(event, state)
        progress.paint()
        await pilot.pause()
        training = (4 * report.steps_per_epoch - 150) * 64 / 12_800
        text = str(progress.query_one("#numbers").content)
        assert f"≈ {format_duration(training + 3 * 30.0)} left" in text, text


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@run_async
async def test_the_loss_charts_legend_shows_whole_in_its_border_with_the_setting_changes(size: tuple[int, int]) -> None:
    """At 80x24 Textual cut the legend mid-word ("⣿ smoothed ●…"): a shorter one is chosen that fits."""
    source = ScriptedSource(training_run(end=False))
    app = make_app(source)
    async with app.run_test(size=size) as pilot:
        await press(pilot, "s")
        chart = app.query_one(LossChart)
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        legends = []
        for changed in (False, True):
            if changed:
                source.last.inbox.put("set", {"lr": 0.01})
                await wait_until(pilot, lambda: "│" in str(chart.border_title), what="the change's legend")
            await pilot.pause(0.1)
            (top,) = [strip.text for strip in chart.render_lines(Region(0, 0, chart.outer_size.width, 1))]
            legend = Text.from_markup(str(chart.border_title)).plain
            assert legend in top and "…" not in top, (legend, top)
            legends.append(legend)
        assert "│" not in legends[0] and legends[1].endswith(("│ setting changed", "│ changed"))
        assert all("⣿ batch" in legend and "● eval" in legend for legend in legends)
        if size == (120, 40):
            assert legends[0] == Text.from_markup(loss_chart.LEGEND).plain  # room for the whole one


@run_async
async def test_a_loss_falling_in_a_narrow_band_still_has_a_scale() -> None:
    """From 2.3 to 2.05 (sigmoid-sgd's first epoch) no 1-2-5 loss lies inside: the chart named
    only 2, on its axis's corner, so its height could not be read."""
    app = make_app(ScriptedSource())
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        for step in range(1, 101):
            app.run_state.loss.add_batch(step / 100, 2.3 - 0.25 * step / 100)
        chart.show_run(app.run_state)
        chart.draw_now()
        await pilot.pause()
        axis = re.compile(r"^\s*([0-9.]+)┤")
        labels = [
            float(found.group(1)) for line in shown_lines(chart) if (found := axis.match(line))
        ]
        assert len(labels) >= 2, shown_lines(chart)
        assert all(2.05 <= label <= 2.3 for label in labels), labels


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_an_evaluation_set_of_one_digit_says_so_in_the_accuracy_title(size: tuple[int, int]) -> None:
    """A holdout of 0.00002 evaluates on one digit: the table showed its 100.00 % with no word of it (QA).
    Where the title has no room for the set's name too, the few digits win over the name."""

    def script(config: Config, run_id: str) -> Iterator[Event]:
        for event in training_run()(config, run_id):
            if isinstance(event, RunStarted):
                event = dataclasses.replace(event, eval_size=1, eval_name="0.002 % holdout of training set")
            yield event

    app = make_app(ScriptedSource(script), CONFIG)
    async with app.run_test(size=size) as pilot:
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the run's end")
        await pilot.pause(0.2)
        table = app.query_one(AccuracyTable)
        title = str(table.border_title)
        assert "only 1 eval" in title and "digit" in title, title
        assert len(title) <= table.outer_size.width - 6, "the title whole in the border"
        if size == (120, 40):  # the form is back beside the panes
            assert title == "Accuracy · only 1 evaluation digit", title
        else:
            assert title == "only 1 eval digit", title


@run_async
async def test_a_run_without_a_gallery_says_so_in_its_place() -> None:
    """QA: with gallery_size = 0 the pane was titled "Predictions after epoch 2: 0/0 right" over nothing."""
    from mnist_tui.tui.digit_gallery import GALLERY_OFF, DigitGallery

    app = make_app(ScriptedSource(), CONFIG.replace(gallery_size=0))
    async with app.run_test(size=SIZE) as pilot:
        gallery = app.query_one(DigitGallery)
        await press(pilot, "s")
        await wait_until(pilot, lambda: app.state == "finished", what="the run's end")
        await pilot.pause()
        assert gallery.note == GALLERY_OFF and not gallery.cards
        assert str(gallery.border_title) == "Predictions"
