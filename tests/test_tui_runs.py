"""The Runs view, driven by Pilot over run folders written from scripted events (no torch)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from textual.notifications import Notify
from textual.widgets import Input

from mnist_tui.engine.run_rows import DESCENDING, row_cells
from mnist_tui.engine.config import Config
from mnist_tui.engine.events import Event, RunStopped
from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.tui.accuracy_table import AccuracyTable
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.confusion_grid import ConfusionGrid
from mnist_tui.tui.overlay_chart import PALETTE, OverlayChart
from mnist_tui.tui.run_details import RunDetails
from mnist_tui.tui.runs_table import SHOWN_COLUMNS, RunsTable
from mnist_tui.tui import runs_view as runs_view_module
from mnist_tui.tui.runs_view import SORT_CYCLE, RunsView
from mnist_tui.tui.status_bar import StatusBar
from tui_script import ACCURACIES, ScriptedSource, batch, confusion, epoch_ended, run_async, started, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

SMOKE = load_preset("smoke").replace(epochs=3)
SIZE = (140, 45)


def write_run(
    root: Path, run: str, config: Config, *, started: str, preset: str | None = "smoke", stop_at: int | None = None
) -> Path:
    """A run folder as the engine leaves it: config, every event of a scripted run, and its summary."""
    folder = root / run
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(config))
    events: list[Event] = list(training_run(end=stop_at is None, until_step=stop_at)(config, run))
    epochs = [e for e in events if e.kind == "epoch"]
    if stop_at is not None:
        events.append(RunStopped(run_id=run, epoch=len(epochs) + 1, step=stop_at, epochs_completed=len(epochs)))
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    best = max(epochs, key=lambda e: e.eval_accuracy, default=None)
    summary = {
        "name": config.name, "preset": preset, "started": started, "status": events[-1].kind,
        "epochs": config.epochs, "final_test_accuracy": epochs[-1].eval_accuracy if epochs else None,
        "best_test_accuracy": best.eval_accuracy if best else None, "best_epoch": best.epoch if best else None,
        "epochs_completed": len(epochs), "train_seconds": 3.5 * len(epochs), "device": "cpu",
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """Four runs, oldest first: smoke (3 epochs), sgd (2 epochs, lr 0.1), a stopped one, and a damaged folder."""
    write_run(tmp_path, "smoke-a", SMOKE, started="2026-11-20T10:00:00+00:00")
    sgd = SMOKE.replace(name="sgd", optimizer="sgd", lr=0.1, momentum=0.9, epochs=2)
    write_run(tmp_path, "sgd-b", sgd, started="2026-11-21T10:00:00+00:00", preset=None)
    write_run(tmp_path, "smoke-halted", SMOKE, started="2026-11-22T10:00:00+00:00", stop_at=150)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    return tmp_path


def make_app(runs_dir: Path, source: ScriptedSource | None = None) -> MnistApp:
    return MnistApp(SMOKE, source=source or ScriptedSource(), preset="smoke", runs_dir=runs_dir)


async def runs_view(pilot, app: MnistApp) -> RunsTable:  # type: ignore[no-untyped-def]
    """Switch to the Runs view and wait for its listing."""
    view = app.query_one(RunsView)
    listed = view.listed
    await pilot.press("4")
    await wait_until(pilot, lambda: view.listed > listed, what="the listing")
    return app.query_one(RunsTable)


async def select(pilot, table: RunsTable, run: str) -> None:  # type: ignore[no-untyped-def]
    table.move_cursor(row=[e.run for e in table.shown].index(run))
    await pilot.pause()


async def press_on(pilot, app: MnistApp, run: str, key: str) -> RunsTable:  # type: ignore[no-untyped-def]
    """In the Runs view, press ``key`` on ``run`` (enter opens it, r resumes it); returns the table."""
    table = await runs_view(pilot, app)
    await select(pilot, table, run)
    await pilot.press(key)
    return table


def shown(table: RunsTable) -> list[str]:
    return [entry.run for entry in table.shown]


@run_async
async def test_runs_are_listed_newest_first_with_the_damaged_one_and_its_reason(runs_dir: Path) -> None:
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        assert app.current_view == "RunsView" and app.focused is table
        assert shown(table)[1:] == ["smoke-halted", "sgd-b", "smoke-a"]
        assert shown(table)[0] == "broken"  # no start time: its folder's, made last
        assert "damaged" in [str(cell) for cell in table.get_row("broken")]
        # Its reason is in the details (the damage column, last, shows only where it fits whole).
        assert app.query_one(RunDetails).caption.startswith("damaged: summary.json is corrupt")
        await pilot.resize_terminal(300, 45)  # every column in view
        await wait_until(pilot, lambda: "preset" in [key.value for key in table.columns], what="every column")
        cells = dict(zip([key.value for key in table.columns], [str(cell) for cell in table.get_row("smoke-halted")]))
        assert [cells[key] for key in ("run", "preset", "state", "epochs")] == ["smoke-halted", "smoke", "stopped", "1/3"]


@run_async
async def test_sorting_by_keys_and_columns_and_filtering(runs_dir: Path) -> None:
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        await pilot.press("o")  # the next column: the final accuracy, highest first
        assert table.sort_key == "final"
        # smoke-a ends at 96.75, sgd-b at 97.25 (its second epoch), the stopped run at 95.5 after one.
        assert shown(table) == ["sgd-b", "smoke-a", "smoke-halted", "broken"]
        table.sort_by("final")  # the same column again: lowest first, blanks still last
        assert shown(table) == ["smoke-halted", "smoke-a", "sgd-b", "broken"]
        assert "final %▲" in str(table.columns["final"].label)  # type: ignore[index]
        table.sort_by("run")
        assert shown(table) == ["broken", "sgd-b", "smoke-a", "smoke-halted"]

        await pilot.press("slash")
        await pilot.press(*"smoke")
        assert shown(table) == ["smoke-a", "smoke-halted"]
        await pilot.press("space", *"stop")  # every word must match
        assert shown(table) == ["smoke-halted"]
        await pilot.press("x")  # no match: the details say so, not the last run's configuration
        assert shown(table) == [] and app.query_one(RunDetails).caption == ""
        assert "No run matches the filter." in str(app.query_one("#details").render())
        await pilot.press("backspace")
        assert shown(table) == ["smoke-halted"]
        await pilot.press("enter")
        assert app.focused is table
        assert "1 of 4 runs" in str(app.query_one("#runs-table-box").border_subtitle)

        # The damage is searched too, and the hint says so (QA: it named run, preset, state, device only).
        filter_input = app.query_one("#runs-filter", Input)
        assert filter_input.placeholder.startswith("filter: words in the run's name, preset, state, device or damage")
        filter_input.value = "corrupt"
        await wait_until(pilot, lambda: shown(table) == ["broken"], what="the damaged run found by its damage")


def caption(app: MnistApp) -> str:
    return str(app.query_one("#runs-table-box").border_subtitle)


def headers(table: RunsTable) -> str:
    """The header row as the screen shows it (only what fits the table's width)."""
    return "".join(segment.text for segment in table.render_line(0))


async def click_header(pilot, table: RunsTable, key: str) -> None:  # type: ignore[no-untyped-def]
    before = list(table.columns)[: list(table.columns).index(key)]  # type: ignore[arg-type]
    x = sum(table.columns[k].get_render_width(table) for k in before) + 1
    await pilot.click(table, offset=(x, 0))
    await pilot.pause()


@run_async
async def test_escape_from_the_filter_gives_the_table_the_keys_and_keeps_the_filter(runs_dir: Path) -> None:
    """Escape left focus nowhere: space, o, r and the arrows did nothing until a click."""
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        await pilot.press("slash", *"smoke")
        assert app.focused is app.query_one("#runs-filter")
        await pilot.press("escape")
        assert app.focused is table
        assert app.query_one("#runs-filter", Input).value == "smoke" and shown(table) == ["smoke-halted", "smoke-a"]
        await pilot.press("down")
        assert table.selected is not None and table.selected.run == "smoke-a"
        await pilot.press("o")
        assert table.sort_key == "final" and shown(table) == ["smoke-a", "smoke-halted"]
        await pilot.press("escape")  # on the table already: it keeps the keys
        assert app.focused is table


@run_async
async def test_a_header_click_names_the_new_order_in_the_caption_as_the_sort_key_does(runs_dir: Path) -> None:
    """A click sorted the table but the caption still said "by date"."""
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        assert caption(app) == "4 of 4 runs, by started, descending ▼"
        await click_header(pilot, table, "best")
        assert table.sort_key == "best" and caption(app) == "4 of 4 runs, by best %, descending ▼"
        await click_header(pilot, table, "best")  # the same column again: lowest first
        assert caption(app) == "4 of 4 runs, by best %, ascending ▲"
        assert shown(table) == ["smoke-halted", "sgd-b", "smoke-a", "broken"]  # a tie at 97.25: newest first

        await click_header(pilot, table, "date")
        assert caption(app) == "4 of 4 runs, by started, descending ▼"
        await pilot.press("o")  # the key's next column, final, as its header's click shows it
        await pilot.pause()
        by_key = (shown(table), caption(app), headers(table))
        await click_header(pilot, table, "date")
        await click_header(pilot, table, "final")
        assert (shown(table), caption(app), headers(table)) == by_key
        assert by_key[1] == "4 of 4 runs, by final %, descending ▼" and "final %▼" in by_key[2]


@run_async
async def test_every_column_shows_its_sort_arrow_clicked_or_reached_with_o(runs_dir: Path) -> None:
    """The arrow was cut off wherever the header was the column's widest text (epochs, final %,
    best %, training, preset, device): the column kept the width of the header without it."""
    app = make_app(runs_dir)
    async with app.run_test(size=(300, 45)) as pilot:  # every column in view
        table = await runs_view(pilot, app)
        clicked: dict[str, tuple[list[str], str, str]] = {}
        for key, header, _ in SHOWN_COLUMNS:
            await click_header(pilot, table, key)
            arrow = "▼" if key in DESCENDING else "▲"
            line = headers(table)
            assert table.sort_key == key and f"{header}{arrow}" in line, (key, line)
            assert line.count("▲") + line.count("▼") == 1, line
            assert caption(app).startswith(f"4 of 4 runs, by {header}, "), caption(app)
            clicked[key] = (shown(table), caption(app), headers(table))
        assert set(SORT_CYCLE) <= set(clicked)
        for key in ("date", *SORT_CYCLE[1:]):  # o from the last clicked column (damage, not in its cycle)
            await pilot.press("o")
            await pilot.pause()
            assert table.sort_key == key and (shown(table), caption(app), headers(table)) == clicked[key], key


@run_async
async def test_marking_two_runs_overlays_their_curves_with_two_legend_entries(runs_dir: Path) -> None:
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        overlay = app.query_one(OverlayChart)
        view = app.query_one(RunsView)
        await select(pilot, table, "smoke-a")
        await pilot.press("space")
        await select(pilot, table, "sgd-b")
        await pilot.press("space")
        await wait_until(pilot, lambda: len(overlay.legend_entries) == 2, what="both curves")
        assert overlay.legend_entries == ["smoke-a", "sgd-b"]
        title = str(overlay.border_title)
        assert title.count("⣿") == 2 and "⣿ smoke-a" in title and "⣿ sgd-b" in title
        assert "[#00d7ff]⣿ smoke-a" in title and "[#ff8700]⣿ sgd-b" in title  # one colour each
        a, b = view.curves["smoke-a"], view.curves["sgd-b"]
        # Every report of the logs (a report every 5 of 100 steps), against epochs; accuracy per epoch.
        assert (a.loss.count, b.loss.count) == (60, 40)
        assert a.accuracy.points() == ([1.0, 2.0, 3.0], list(ACCURACIES))
        assert b.accuracy.points() == ([1.0, 2.0], list(ACCURACIES[:2]))
        assert a.loss.points()[0][-1] == pytest.approx(3.0)
        panels = overlay.query("_Curves")
        await wait_until(pilot, lambda: all(p.redraws and not p.dirty for p in panels), what="the redraw")

        await select(pilot, table, "smoke-a")
        await pilot.press("space")  # unmarked: its curves are dropped, the legend follows
        await wait_until(pilot, lambda: overlay.legend_entries == ["sgd-b"], what="one curve")
        assert set(view.curves) == {"sgd-b"}


def notices(into: list[str]):  # type: ignore[no-untyped-def]
    """A ``message_hook`` that keeps every notification's text (a shown one expires in seconds)."""
    return lambda message: into.append(message.notification.message) if isinstance(message, Notify) else None


@run_async
async def test_a_damaged_run_is_refused_once_and_takes_none_of_the_overlay_slots(runs_dir: Path) -> None:
    """QA: junkdir (no events.jsonl) got the mark, "Cannot overlay junkdir" came again at each
    later mark, and it counted among the 8 runs the overlay takes."""
    for n in range(len(PALETTE) - 3):  # with the fixture's three, as many good runs as the overlay takes
        write_run(runs_dir, f"extra-{n}", SMOKE, started=f"2026-11-19T10:0{n}:00+00:00")
    app, notified = make_app(runs_dir), []
    async with app.run_test(size=SIZE, message_hook=notices(notified)) as pilot:
        table = await runs_view(pilot, app)
        await select(pilot, table, "broken")
        await pilot.press("space")
        await pilot.pause()
        assert table.marked == []
        assert notified == [f"Cannot overlay broken: it is damaged ({table.shown[0].damage})."]
        good = [entry.run for entry in table.shown if not entry.damage]
        assert len(good) == len(PALETTE)
        for run in good:
            await select(pilot, table, run)
            await pilot.press("space")
        overlay = app.query_one(OverlayChart)
        await wait_until(pilot, lambda: len(overlay.legend_entries) == len(PALETTE), what="every curve")
        assert table.marked == good
        assert len(notified) == 1, notified


@run_async
async def test_a_run_whose_log_went_after_the_listing_is_unmarked_and_named_once(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_view_module, "REFRESH_SECONDS", 600.0)  # no listing sees the log gone
    app, notified = make_app(runs_dir), []
    async with app.run_test(size=SIZE, message_hook=notices(notified)) as pilot:
        table = await runs_view(pilot, app)
        (runs_dir / "sgd-b" / "events.jsonl").unlink()  # listed whole, its log gone before it is marked
        view = app.query_one(RunsView)
        await select(pilot, table, "sgd-b")
        await pilot.press("space")
        await wait_until(pilot, lambda: notified, what="the message")
        await wait_until(pilot, lambda: table.marked == [], what="sgd-b unmarked")
        assert str(table.get_row("sgd-b")[0]) == ""
        assert notified == ["Cannot overlay sgd-b: no events.jsonl; unmarked it."]
        for run in ("smoke-a", "smoke-halted"):
            await select(pilot, table, run)
            await pilot.press("space")
        overlay = app.query_one(OverlayChart)
        await wait_until(pilot, lambda: overlay.legend_entries == ["smoke-a", "smoke-halted"], what="both curves")
        assert len(notified) == 1, notified
        assert set(view.curves) == {"smoke-a", "smoke-halted"}


@run_async
async def test_a_selected_run_shows_its_config_and_its_difference_from_a_marked_run_or_its_preset(
    runs_dir: Path,
) -> None:
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        details = app.query_one(RunDetails)
        await select(pilot, table, "smoke-a")
        # Against its preset, smoke: only the epochs differ (3 instead of 1).
        assert details.differences == {"epochs": [3, 1]}
        assert details.caption == "differs from preset smoke in: epochs"
        await select(pilot, table, "sgd-b")
        await pilot.press("space")
        await select(pilot, table, "smoke-a")
        assert details.differences == {
            "name": ["smoke", "sgd"], "optimizer": ["adam", "sgd"], "lr": [0.003, 0.1], "momentum": [0.0, 0.9],
            "epochs": [3, 2],
        }
        assert details.caption == "differs from sgd-b in: name, optimizer, lr, momentum, epochs"
        await select(pilot, table, "broken")
        assert details.caption.startswith("damaged: summary.json is corrupt")


@run_async
async def test_opening_a_run_replays_it_into_train_and_inspect(runs_dir: Path) -> None:
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await press_on(pilot, app, "sgd-b", "enter")
        await wait_until(pilot, lambda: app.run_id == "sgd-b", what="the replay")
        assert app.current_view == "TrainView" and app.state == "finished"
        assert [e.eval_accuracy for e in app.run_state.epochs] == list(ACCURACIES[:2])
        # Its folder is the one opened, not the one its log names (``runs/scripted-run`` here, as a
        # copied or moved folder's log names where it was written): the status bar and the Draw
        # view's checkpoint take it.
        assert app.run_state.run_dir == str(runs_dir / "sgd-b")
        assert app.query_one(StatusBar).run_dir == str(runs_dir / "sgd-b")
        assert [e.epoch for e in app.query_one(AccuracyTable).epochs] == [1, 2]
        form = app.query_one("#form")
        assert form.read().optimizer == "sgd" and form.read().lr == 0.1  # type: ignore[attr-defined]
        await pilot.press("2")
        assert app.query_one(ConfusionGrid).matrix == confusion("sgd-b", 2).matrix

        await pilot.press("4")
        await select(pilot, table, "broken")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.run_id == "sgd-b"  # a damaged run does not open

        await select(pilot, table, "smoke-halted")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.run_id == "smoke-halted", what="the stopped run")
        assert app.state == "stopped" and app.exit_code == 0  # quitting now exited 130: nothing ran here


@run_async
async def test_r_resumes_a_stopped_run_and_only_a_stopped_one(runs_dir: Path) -> None:
    source = ScriptedSource(training_run())
    app = make_app(runs_dir, source)
    async with app.run_test(size=SIZE) as pilot:
        table = await press_on(pilot, app, "smoke-a", "r")
        await pilot.pause(0.1)
        assert source.calls == [] and app.state == "idle"  # finished: nothing to resume
        await select(pilot, table, "smoke-halted")
        await pilot.press("r")
        await wait_until(pilot, lambda: source.calls, what="the resume")
        call = source.last
        assert call.resume == runs_dir / "smoke-halted" and call.run_id == "smoke-halted"
        assert call.config == SMOKE and call.preset == "smoke"
        assert app.current_view == "TrainView"
        await wait_until(pilot, lambda: app.state == "finished", what="the resumed run's end")


def resumed_at(epoch: int, *, report: int):  # type: ignore[no-untyped-def]
    """A resume's script: the run starts again after ``epoch``, reports step ``report``, and trains on."""

    def resumed(config: Config, run_id: str):  # type: ignore[no-untyped-def]
        yield dataclasses.replace(started(run_id, config), start_epoch=epoch, start_step=epoch * 100)
        yield batch(run_id, report)

    return resumed


@run_async
async def test_a_resumed_run_shows_its_whole_history_not_only_what_it_trains_since(runs_dir: Path) -> None:
    """smoke-halted stopped at step 150, after epoch 1: resumed, its chart starts at the first
    report and its accuracy table at epoch 1, as watch shows it; epochs after the checkpoint it
    resumes from are not kept."""
    source = ScriptedSource(resumed_at(1, report=110))
    app = make_app(runs_dir, source)
    async with app.run_test(size=SIZE) as pilot:
        await press_on(pilot, app, "smoke-halted", "r")
        await wait_until(pilot, lambda: app.run_state.latest is not None and app.run_state.latest.step == 110, what="the resumed report")
        assert app.state == "running" and app.run_id == "smoke-halted"
        assert [e.epoch for e in app.run_state.epochs] == [1]
        xs, _ = app.run_state.loss.batch.points()
        assert xs[0] < 0.2 and xs[-1] == 1.1, "the first reports of the run, then the resumed one"
        assert app.query_one(AccuracyTable).row_count == 1
        assert app.run_state.terminal is None


@run_async
async def test_a_long_run_name_is_cut_in_its_middle_and_the_state_and_accuracies_stay_in_view(runs_dir: Path) -> None:
    """A 64-character name (the longest allowed) made an 88-character run column at 120x40:
    state, epochs and accuracies were off screen for every run."""
    name = "b" * 64
    folder = f"{name}-20261202-031500-ab12"
    write_run(runs_dir, folder, SMOKE.replace(name=name), started="2026-11-23T10:00:00+00:00")
    app = make_app(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await runs_view(pilot, app)
        shown = str(table.get_row(folder)[1])
        assert "…" in shown and shown.startswith("bbbb") and shown.endswith("…ab12"), shown
        widths = sum(table.columns[key].get_render_width(table) for key in ("mark", "run", "state", "epochs", "final", "best"))
        assert widths <= table.scrollable_content_region.width
        assert [key.value for key in list(table.columns)[:6]] == ["mark", "run", "state", "epochs", "final", "best"]
        assert str(table.get_row("smoke-a")[1]) == "smoke-a", "a short name shows whole"

        await pilot.resize_terminal(80, 24)  # the details go under the table

        def first_columns_fit() -> bool:
            keys = ("mark", "run", "state", "epochs", "final", "best")
            return sum(table.columns[key].get_render_width(table) for key in keys) <= table.scrollable_content_region.width

        await wait_until(pilot, first_columns_fit, what="state and accuracies in view at 80x24")

        await pilot.resize_terminal(200, 40)
        await wait_until(pilot, lambda: str(table.get_row(folder)[1]) == folder, what="the whole name at 200 columns")


@run_async
async def test_at_80x24_a_dozen_sweep_trials_list_with_their_best_accuracy_whole(runs_dir: Path) -> None:
    """Trials' long folder names at 80x24: the run column was cut to what the table left before the
    rows brought its scrollbar, which then covered the best column's end (78.00 read 78.0), and the
    table listed 2 of 13 runs."""
    for n in range(13):
        folder = f"smoke-space-trial-{n:03d}-20261202-10{n:02d}00-ab{n:02d}"
        write_run(runs_dir, folder, SMOKE, started=f"2026-11-23T10:{n:02d}:00+00:00")
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await runs_view(pilot, app)
        await pilot.pause()
        await pilot.pause()
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        area = table.scrollable_content_region
        best = table.columns["best"]
        best_x = area.x + sum(table.columns[key].get_render_width(table) for key in ("mark", "run", "state", "epochs", "final"))
        listed = []
        for y in range(area.y + 1, area.bottom):  # under the header
            row = y - area.y - 1 + int(table.scroll_y)
            if row >= len(table.shown):
                break
            entry = table.shown[row]
            cell = lines[y][best_x : best_x + best.get_render_width(table)]
            assert cell.strip() == row_cells(entry)["best"], (y, lines[y])
            if entry.run.startswith("smoke-space-trial"):  # shortened: its name (the trial) and unique end kept
                shown = lines[y][area.x:].split()[0]
                assert "…" in shown and shown.startswith(entry.run[:21]) and shown.endswith(entry.run[-4:]), lines[y]
            listed.append(entry.run)
        assert best_x + best.get_render_width(table) <= area.right
        assert len(listed) >= 4, f"{len(listed)} of {len(table.shown)} runs in view"


@run_async
async def test_resume_from_the_command_line_shows_the_runs_own_settings_in_the_form(runs_dir: Path) -> None:
    """``mnist-tui --resume RUN`` locked the form on the default preset's settings (hidden
    512,256, preset custom) while the run trained its own."""
    from mnist_tui.engine.config import Config as Default
    from mnist_tui.tui.config_form import ConfigForm

    source = ScriptedSource(training_run(end=False))
    app = MnistApp(Default(), source=source, preset=None, autostart=True, resume=runs_dir / "smoke-halted", runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: source.calls, what="the resume")
        form = app.query_one(ConfigForm)
        assert app.query_one("#field-hidden").value == "64"
        assert form.preset == "smoke" and form.running == SMOKE
        assert source.last.resume == runs_dir / "smoke-halted" and source.last.config == SMOKE


@run_async
async def test_control_characters_in_a_folder_name_are_shown_escaped(runs_dir: Path) -> None:
    """As ``mnist-tui runs`` shows them: a name cannot recolour or move the view's text."""
    write_run(runs_dir, "esc\x1b[31mred", SMOKE, started="2026-11-23T10:00:00+00:00")
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        assert str(table.get_row("esc\x1b[31mred")[1]) == "esc\\x1b[31mred"
        await select(pilot, table, "esc\x1b[31mred")
        details = app.query_one(RunDetails).query_one("#details")

        def title() -> str:
            content = details.content
            return content.renderables[0].plain if hasattr(content, "renderables") else str(content)

        await wait_until(pilot, lambda: title().startswith("esc\\x1b[31mred"), what="the details")
        await pilot.press("space")  # marked: the overlay's legend names it, escaped, as no markup
        overlay = app.query_one(OverlayChart)
        await wait_until(pilot, lambda: "esc" in str(overlay.border_title), what="the legend")
        assert "\x1b" not in str(overlay.border_title) and "esc\\x1b[31mred" in str(overlay.border_title)
        await pilot.press("enter")  # opened: the status bar names its folder, escaped
        status = app.query_one(StatusBar)
        await wait_until(pilot, lambda: "run folder" in "".join(seg.text for seg in status.render_line(0)), what="the folder")
        assert "\x1b" not in "".join(seg.text for seg in status.render_line(0))


def copied_and_resumed(root: Path) -> Path:
    """A run stopped after epoch 1, copied to ``copy``, resumed there and stopped after epoch 2:
    its log's second session has the copy's name as its id."""
    folder = root / "copy"
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(SMOKE))
    events: list[Event] = [started("orig", SMOKE), batch("orig", 50), epoch_ended("orig", 1, 3, ACCURACIES)]
    events.append(RunStopped(run_id="orig", epoch=2, step=100, epochs_completed=1))
    events += [dataclasses.replace(started("copy", SMOKE), start_epoch=1, start_step=100), batch("copy", 150)]
    events += [epoch_ended("copy", 2, 3, ACCURACIES), RunStopped(run_id="copy", epoch=3, step=200, epochs_completed=2)]
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    summary = {"name": "smoke", "preset": "smoke", "started": "2026-11-23T10:00:00+00:00", "status": "stopped",
               "epochs": 3, "epochs_completed": 2, "device": "cpu"}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@run_async
async def test_a_copied_run_resumed_twice_shows_every_session_opened_and_resumed(runs_dir: Path) -> None:
    """Only the log's first id was read: the sessions of the copy (its folder's name as their id)
    were dropped, and epoch 2 was missing from the chart and the table."""
    copied_and_resumed(runs_dir)

    source = ScriptedSource(resumed_at(2, report=210))
    app = make_app(runs_dir, source)
    async with app.run_test(size=SIZE) as pilot:
        await press_on(pilot, app, "copy", "enter")
        await wait_until(pilot, lambda: app.run_id == "copy", what="the opened run")
        assert [e.epoch for e in app.run_state.epochs] == [1, 2] and app.state == "stopped"

        await runs_view(pilot, app)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.run_state.latest is not None and app.run_state.latest.step == 210, what="the resume")
        assert [e.epoch for e in app.run_state.epochs] == [1, 2] and app.state == "running"


@run_async
async def test_a_killed_run_opened_shows_interrupted_and_the_dashboard_stays_free(runs_dir: Path) -> None:
    """A log that ends mid-run (its writer killed) left the dashboard "running": s, x and opening
    another run did nothing."""
    folder = runs_dir / "killed"
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(SMOKE))
    events = [started("killed", SMOKE), batch("killed", 50), epoch_ended("killed", 1, 3, ACCURACIES), batch("killed", 150)]
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    summary = {"name": "smoke", "preset": "smoke", "started": "2026-11-23T10:00:00+00:00", "status": "running",
               "epochs": 3, "epochs_completed": 1, "device": "cpu"}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "last.pt").write_bytes(b"")  # its first epoch's checkpoint
    source = ScriptedSource(training_run(end=False))
    app = make_app(runs_dir, source)
    async with app.run_test(size=SIZE) as pilot:
        await press_on(pilot, app, "killed", "enter")
        await wait_until(pilot, lambda: app.run_id == "killed", what="the opened run")
        assert app.state == "interrupted"
        assert str(app.query_one("#numbers").content) == "Interrupted at epoch 2, step 50\nthe last checkpoint resumes it"
        await pilot.press("s")
        await wait_until(pilot, lambda: source.calls, what="a new run")


@run_async
async def test_a_new_run_tells_the_engine_its_preset(runs_dir: Path) -> None:
    """The preset reaches summary.json, where the Runs view compares a run with it."""
    source = ScriptedSource(training_run())
    app = make_app(runs_dir, source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: source.calls, what="the start")
        assert (source.last.preset, source.last.resume) == ("smoke", None)


@run_async
async def test_the_shown_runs_view_lists_again_by_itself_and_a_hidden_one_reads_nothing(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that appears, or changes state, in another process shows without g; hidden, no listing runs."""
    monkeypatch.setattr(runs_view_module, "REFRESH_SECONDS", 0.2)
    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        view = app.query_one(RunsView)
        assert "smoke-new" not in shown(table)
        await select(pilot, table, "sgd-b")
        write_run(runs_dir, "smoke-new", SMOKE, started="2026-11-23T10:00:00+00:00", stop_at=100)
        await wait_until(pilot, lambda: "smoke-new" in shown(table), what="the new run, unasked")
        assert table.selected is not None and table.selected.run == "sgd-b", "the cursor stays on its run"

        summary = json.loads((runs_dir / "smoke-new" / "summary.json").read_text())
        (runs_dir / "smoke-new" / "summary.json").write_text(json.dumps({**summary, "status": "finished"}))
        await wait_until(
            pilot, lambda: {e.run: e.state for e in table.entries}["smoke-new"] == "finished", what="its new state"
        )

        listed = view.listed
        unchanged = table.entries
        await pilot.pause(0.7)
        assert view.listed > listed and table.entries is unchanged, "an unchanged folder leaves the table alone"

        await pilot.press("1")
        await pilot.pause(0.3)
        await wait_until(pilot, lambda: not view._listing, what="a listing begun before the view was hidden to end")
        hidden_at = view.listed
        await pilot.pause(1.0)
        assert view.listed == hidden_at, "a hidden Runs view lists nothing"


@run_async
async def test_an_opened_trial_fills_the_form_as_a_run_of_its_own_and_a_run_named_like_one_keeps_its_name(runs_dir: Path) -> None:
    """A trial is told by the ``sweep`` entry its summary gains, not by its name: ``exp-t1000`` is a
    user's name, which the form kept as ``custom`` when trials were told by the shape of theirs."""
    trial = write_run(runs_dir, "S-t0003-x", SMOKE.replace(name="S-t0003", lr=0.02), started="2026-11-23T10:00:00+00:00")
    summary = json.loads((trial / "summary.json").read_text())
    summary["sweep"] = {"study": "S", "trial": 3, "state": "complete", "outcome": "finished", "params": {"lr": 0.02}}
    (trial / "summary.json").write_text(json.dumps(summary))
    write_run(runs_dir, "exp-t1000-y", SMOKE.replace(name="exp-t1000"), started="2026-11-24T10:00:00+00:00")
    from mnist_tui.tui.config_form import ConfigForm

    app = make_app(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        table = await press_on(pilot, app, "S-t0003-x", "enter")
        await wait_until(pilot, lambda: app.run_id == "S-t0003-x", what="the trial opened")
        assert form.read() == SMOKE.replace(lr=0.02) and form.preset == "smoke"  # named as smoke's runs, not as the trial
        assert form.summary == "smoke, edited" and form.edited() == ["lr", "epochs"]  # QA: it said "custom"

        await pilot.press("4")
        await select(pilot, table, "exp-t1000-y")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.run_id == "exp-t1000-y", what="the user's run opened")
        assert form.read().name == "exp-t1000" and form.preset == "smoke"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_the_help_lists_every_key_of_every_view_from_its_bindings(runs_dir: Path, size: tuple[int, int]) -> None:
    """The help had the Runs view's keys as ``(Runs: o / space enter r)``, nothing of g, of what
    space does, of the Sweep view or of the watcher's e. Its key table is made from the bindings:
    each key shows with what it does, and the help scrolls on a small terminal."""
    from textual.containers import VerticalScroll

    from mnist_tui.tui.help_screen import KEYS, HelpText, action_row, key_name, view_bindings

    app = make_app(runs_dir)
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.screen.query_one(HelpText)
        box = app.screen.query_one(VerticalScroll)
        rendered = [strip.text for strip in text._lines(text.content_size.width)]
        whole = " ".join(" ".join(line.replace("│", " ").split()) for line in rendered)
        for view, bindings in view_bindings():
            for binding in bindings:
                if binding.action.startswith("view("):
                    continue
                what = " ".join(KEYS[action_row(view, binding.action)].replace("`", "").split())
                assert what.split(":")[0].split("(")[0].strip() in whole, (view, binding.key, what)
                key = key_name(binding)
                for arrow in ("up", "down", "left", "right"):  # the four arrows are one row: arrows
                    key = key.replace(arrow, "arrows") if key.endswith(arrow) else key
                assert f" {key} " in f" {whole.replace(',', ' ')} ", binding.key
        for needed in ("Runs: list the runs folder again", "Runs: filter", "Runs: mark or unmark", "Sweep: open the chosen",
                       "during a run: type new settings"):
            assert needed in whole.replace("**", ""), needed
        assert app.screen.region.contains_region(box.region), "the help's box is on screen"
        if size == (80, 24):
            assert box.max_scroll_y > 0, "the help scrolls at 80x24"


@run_async
async def test_a_run_followed_live_whose_trainer_dies_is_let_go_and_r_resumes_it(runs_dir: Path) -> None:
    """QA: opened while another process trained it, then that process was killed: the dashboard
    showed "interrupted" but kept following it, and r said it "follows the trial" until another
    run was opened."""
    import socket
    import subprocess
    import sys

    folder = runs_dir / "elsewhere"
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(SMOKE))
    events = [started("elsewhere", SMOKE), batch("elsewhere", 50), epoch_ended("elsewhere", 1, 3, ACCURACIES), batch("elsewhere", 150)]
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    (folder / "last.pt").write_bytes(b"")
    summary = {"name": "smoke", "preset": "smoke", "started": "2026-11-23T10:00:00+00:00", "status": "running",
               "epochs": 3, "epochs_completed": 1, "device": "cpu"}
    (folder / "summary.json").write_text(json.dumps(summary))
    holds_the_lock = "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print(flush=True); time.sleep(60)"
    trainer = subprocess.Popen([sys.executable, "-c", holds_the_lock, str(folder / ".lock")], stdout=subprocess.PIPE)
    (folder / ".lock").write_text(f"{trainer.pid} {socket.gethostname()}\n")
    assert trainer.stdout is not None and trainer.stdout.readline() == b"\n"  # the lock is held
    source = ScriptedSource(training_run(end=False))
    app = make_app(runs_dir, source)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await press_on(pilot, app, "elsewhere", "enter")
            await wait_until(pilot, lambda: app.watching == folder and app.state == "running", what="the run followed live")
            trainer.kill()
            trainer.wait()
            await wait_until(pilot, lambda: app.state == "interrupted", what="the trainer's death noticed")
            await wait_until(pilot, lambda: app.watching is None and not app.trial_followed, what="the run let go")
            await press_on(pilot, app, "elsewhere", "r")
            await wait_until(pilot, lambda: source.calls, what="the resume")
            assert source.last.resume == folder
    finally:
        trainer.kill()
