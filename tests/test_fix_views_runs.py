"""QA: the Runs view's details showed a run's starting lr only, though it trained most epochs at others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Static

from mnist_tui.tui.run_details import RunDetails
from test_tui_runs import SMOKE, SIZE, make_app, runs_view, select, write_run
from tui_script import run_async

pytestmark = pytest.mark.timeout(60)

CHANGES = [
    {"epoch": 2, "step": 210, "changes": {"lr": [0.003, 0.0001]}, "source": "inbox"},
    {"epoch": 3, "step": 377, "changes": {"lr": [0.0001, 0.002], "momentum": [0.0, 0.9]}, "source": "file"},
]


def changed_run(root: Path, changes: object) -> None:
    """A smoke run whose summary lists ``changes`` (as the engine writes them, or not)."""
    folder = write_run(root, "smoke-steered", SMOKE, started="2026-11-20T10:00:00+00:00")
    summary = json.loads((folder / "summary.json").read_text())
    (folder / "summary.json").write_text(json.dumps({**summary, "changes": changes}))


def details_text(details: RunDetails) -> str:
    group = details.query_one("#details", Static).content
    return "\n".join(part.plain for part in group.renderables if hasattr(part, "plain"))  # type: ignore[union-attr]


async def shown_details(tmp_path: Path, changes: object) -> tuple[str, str]:
    """The details pane's text and caption for a run whose summary lists ``changes``, selected in the Runs view."""
    changed_run(tmp_path, changes)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = await runs_view(pilot, app)
        await select(pilot, table, "smoke-steered")
        details = app.query_one(RunDetails)
        return details_text(details), details.caption


@run_async
async def test_a_run_steered_mid_run_lists_its_setting_changes_before_its_starting_values(tmp_path: Path) -> None:
    text, caption = await shown_details(tmp_path, CHANGES)
    assert caption == "differs from preset smoke in: epochs"  # the comparison is of its start
    assert (
        "changed while it trained (the table has the values it started with):\n"
        "epoch 2: lr 0.003 -> 0.0001\n"
        "epoch 3: lr 0.0001 -> 0.002, momentum 0 -> 0.9"
    ) in text, text


@pytest.mark.parametrize("changes", ["lr 0.001", [{"epoch": 2, "changes": {"lr": "fast"}}], [{"changes": {}}], 7])
@run_async
async def test_changes_not_as_the_engine_writes_them_are_named_and_the_rest_still_shows(
    tmp_path: Path, changes: object
) -> None:
    text, caption = await shown_details(tmp_path, changes)
    assert "summary.json's setting changes cannot be read" in text, text
    assert caption == "differs from preset smoke in: epochs"


@run_async
async def test_a_run_never_steered_says_nothing_of_changes(tmp_path: Path) -> None:
    text, _ = await shown_details(tmp_path, [])
    assert "changed" not in text
