"""Opening a recorded run replays it, and its long-answered commands pop nothing up (QA: a refusal
of long ago showed as "Not changed: …" each time the run was opened)."""

from __future__ import annotations

from pathlib import Path

from mnist_tui.engine.events import CommandAnswered
from test_tui_runs import SMOKE, SIZE, make_app, notices, press_on, write_run
from tui_script import run_async, wait_until


@run_async
async def test_a_recorded_refusal_is_drawn_but_not_told_again(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "smoke-refused", SMOKE, started="2026-11-20T10:00:00+00:00")
    log = folder / "events.jsonl"
    *lines, end = log.read_text().splitlines(keepends=True)
    refused = CommandAnswered(
        run_id="smoke-refused", command_id="c1", command="set", accepted=False,
        message="the adam optimizer has no momentum setting", source="file",
    )
    log.write_text("".join([*lines, refused.to_json() + "\n", end]))
    app, notified = make_app(tmp_path), []
    async with app.run_test(size=SIZE, message_hook=notices(notified)) as pilot:
        await press_on(pilot, app, "smoke-refused", "enter")
        await wait_until(pilot, lambda: app.run_id == "smoke-refused" and app.state == "finished", what="the replay")
        await pilot.pause()
        assert app.run_state.answers == [refused]  # replayed into the run's state
        assert [note for note in notified if "momentum" in str(note)] == []
