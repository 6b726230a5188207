"""The Runs table fitted to the terminal: columns refitted at a resize, run names cut where they
tell runs apart (run folders written from scripted events, no torch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from mnist_tui.engine.run_rows import row_cells
from mnist_tui.engine.presets import load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.runs_table import COMPACT_HEADERS, ORDER, RUN_MIN_WIDTH, RunsTable, fit_columns, shorten_run
from mnist_tui.tui.runs_view import RunsView
from test_tui_runs import write_run
from tui_script import ScriptedSource, run_async, wait_until

pytestmark = pytest.mark.timeout(60)

SMOKE = load_preset("smoke").replace(epochs=3)
FIRST = ("mark", "run", "state", "epochs", "final", "best", "time")
TRIALS = [f"live-t{n:04d}-20261202-123149-{suffix}" for n, suffix in enumerate(("fb9b", "f880", "0c1e"))]
LONG = "sigmoid-sgd-long-name-x-20261202-123527-ff2d"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """Three sweep trials started the same second, a long-named run stopped, a short one."""
    for n, folder in enumerate(TRIALS):
        write_run(tmp_path, folder, SMOKE.replace(name=f"live-t{n:04d}"), started=f"2026-12-02T12:31:4{n}+00:00")
    write_run(tmp_path, LONG, SMOKE.replace(name="sigmoid-sgd-long-name-x"), started="2026-12-02T12:35:27+00:00", stop_at=150)
    write_run(tmp_path, "smoke-a", SMOKE, started="2026-12-01T10:00:00+00:00")
    return tmp_path


def shown_run(table: RunsTable, folder: str) -> str:
    return str(table.get_row(folder)[1])


def first_columns_fit(table: RunsTable) -> bool:
    return sum(table.columns[key].get_render_width(table) for key in FIRST) <= table.scrollable_content_region.width


def run_column_fits_its_cells(table: RunsTable) -> bool:
    """The run column is as wide as its widest shown name (or header), not wider: no stale width."""
    widest = max(len(shown_run(table, entry.run)) for entry in table.shown)
    return table.columns["run"].get_render_width(table) - 2 == max(widest, len("run") + 1)  # type: ignore[index]


def test_a_cut_run_name_keeps_its_name_then_its_unique_end() -> None:
    """Cut in the middle, ``live-t00…1202-123149-fb9b`` lost the trial number and kept the date."""
    assert shorten_run(TRIALS[0], 24) == "live-t0000…123149-fb9b"
    assert shorten_run(TRIALS[0], 15) == "live-t0000…fb9b"
    assert shorten_run(TRIALS[0], 31) == TRIALS[0], "whole where it fits"
    assert shorten_run(LONG, 28) == "sigmoid-sgd-long-name-x…ff2d"
    cut = shorten_run(LONG, 24)
    assert len(cut) == 24 and cut.startswith("sigmoid-") and cut.endswith("-name-x…ff2d"), cut
    assert shorten_run("no-stamp-" + "x" * 40, 24).startswith("no-stamp-"), "no stamp: cut in the middle"
    for width in range(8, 40):
        assert len(shorten_run(LONG, width)) <= width


async def listed(app: MnistApp, pilot: Pilot) -> RunsTable:
    """The Runs view shown (key 4) once it has listed the runs folder; returns its table."""
    view = app.query_one(RunsView)
    await pilot.press("4")
    await wait_until(pilot, lambda: view.listed > 0, what="the listing")
    return app.query_one(RunsTable)


@run_async
async def test_widening_the_terminal_refits_the_columns_and_every_first_column_shows(runs_dir: Path) -> None:
    """At 80x24, then 120x40: the run column stayed as wide as at 80 columns (the widest cut name
    there) while names were cut to 24 cells, and best % was pushed out of view."""
    app = MnistApp(SMOKE, source=ScriptedSource(), preset="smoke", runs_dir=runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await listed(app, pilot)
        await wait_until(pilot, lambda: first_columns_fit(table) and run_column_fits_its_cells(table), what="fitted at 80x24")
        # The details go under the table: the name keeps its trial and its time and unique end,
        # with the training time in view (it was left out).
        assert shown_run(table, TRIALS[0]) == "live-t0000…123149-fb9b"
        assert "time" in [str(key.value) for key in table.columns]

        await pilot.resize_terminal(120, 40)  # the details go beside the table: it narrows
        await wait_until(pilot, lambda: app.size == (120, 40))
        await pilot.pause(0.3)
        await wait_until(pilot, lambda: first_columns_fit(table), what="state and accuracies in view at 120x40")
        assert run_column_fits_its_cells(table), (table.columns["run"].get_render_width(table), shown_run(table, LONG))
        shown = [shown_run(table, folder) for folder in TRIALS]
        assert [name[:10] for name in shown] == ["live-t0000", "live-t0001", "live-t0002"], shown
        assert [name[-4:] for name in shown] == ["fb9b", "f880", "0c1e"], shown

        await pilot.resize_terminal(200, 40)
        await wait_until(pilot, lambda: shown_run(table, LONG) == LONG, what="the whole name at 200 columns")
        await pilot.pause(0.3)
        assert first_columns_fit(table) and run_column_fits_its_cells(table)


def screen_lines(app: MnistApp) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_every_column_shown_fits_whole_and_the_rest_are_left_out(runs_dir: Path, size: tuple[int, int]) -> None:
    """At 120x40 the last columns ran past the table's edge (``trainin``, ``0.`` for a time) under
    a horizontal scroll bar whose thumb showed as a stray ``▍`` in the empty table; a long damaged
    folder's name cut best % to ``89.0``."""
    (runs_dir / "a-very-long-damaged-folder-name-copied-from-elsewhere").mkdir()
    app = MnistApp(SMOKE, source=ScriptedSource(), preset="smoke", runs_dir=runs_dir)
    async with app.run_test(size=size) as pilot:
        table = await listed(app, pilot)
        await wait_until(pilot, lambda: first_columns_fit(table), what="fitted")
        await pilot.pause(0.3)
        keys = [str(key.value) for key in table.columns]
        assert keys[: len(FIRST)] == list(FIRST), keys
        area = table.scrollable_content_region
        assert sum(column.get_render_width(table) for column in table.columns.values()) <= area.width, keys
        assert not table.show_horizontal_scrollbar
        lines = screen_lines(app)
        assert not any(glyph in line for line in lines[area.y : area.bottom + 1] for glyph in "▏▎▍▌▋▊▉")
        for row, entry in enumerate(table.shown[: area.height - 1]):
            line = lines[area.y + 1 + row][area.x : area.right]
            cells = row_cells(entry)
            for key in keys[2:]:  # past the mark and the (cut) run name: every value whole
                assert cells[key] in line, (key, cells[key], line)


def test_columns_are_kept_in_order_while_they_fit_whole() -> None:
    cells = {"run": "smoke-20261202-173623-b49f", "state": "finished", "epochs": "30/30", "final": "88.10",
             "best": "88.60", "time": "0.6s", "date": "2026-12-02 17:36", "preset": "smoke", "device": "cpu",
             "damage": ""}
    assert fit_columns([cells], 200) == (26, list(ORDER)), "all of them, the name whole"
    first = ["run", "state", "epochs", "final", "best", "time"]
    assert fit_columns([cells], 80) == (26, first), "the name whole, then the training time"
    assert fit_columns([cells], 76) == (22, first), "the name cut for the training time"
    assert fit_columns([cells], 76, COMPACT_HEADERS) == (26, first), "unless its header is shortened"
    run, keys = fit_columns([cells], 66)  # the table at 120x40, beside the details
    assert keys == first and run == RUN_MIN_WIDTH, (run, keys)
    assert fit_columns([cells], 60) == (RUN_MIN_WIDTH, first[:-1])
    assert fit_columns([cells], 60, COMPACT_HEADERS) == (RUN_MIN_WIDTH, first), "in view under its short header"
    run, keys = fit_columns([cells], 40)  # not even the first columns: the last ones go whole
    assert keys == ["run", "state", "epochs"] and run == RUN_MIN_WIDTH, (run, keys)


@run_async
async def test_after_the_terminal_was_too_small_the_table_has_its_keys_back(runs_dir: Path) -> None:
    """QA: shrunk below 80x24 and enlarged again, the Runs table lost focus: the arrows scrolled the
    details, and after tab, view keys were typed into the filter ("14")."""
    app = MnistApp(SMOKE, source=ScriptedSource(), preset="smoke", runs_dir=runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await listed(app, pilot)
        await wait_until(pilot, lambda: app.focused is table, what="the table focused")
        await pilot.press("down")
        row = table.cursor_row
        await pilot.resize_terminal(60, 20)
        await wait_until(pilot, lambda: app.screen.has_class("-too-small"), what="the too-small message")
        await pilot.pause(0.2)
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: not app.screen.has_class("-too-small"), what="the dashboard again")
        await wait_until(pilot, lambda: app.focused is table, what="the table focused again")
        await pilot.press("down")
        assert table.cursor_row == row + 1
