"""``watch`` in the app, driven by Pilot: following a log another process writes, and the command file (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input

from mnist_tui.engine.events import Event, RunPaused, RunResumed, RunStopped
from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.key_bar import KeyBar
from mnist_tui.tui.steer_bar import SteerBar
from tui_script import ScriptedSource, batch, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=2, optimizer="sgd", lr=0.01, momentum=0.5)
RUN = "smoke-watched"
SIZE = (120, 40)


def run_folder(tmp_path: Path, events: list[Event]) -> Path:
    folder = tmp_path / RUN
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(CONFIG))
    append(folder, "".join(event.to_json() + "\n" for event in events))
    return folder


def append(folder: Path, text: str) -> None:
    with open(folder / "events.jsonl", "a", encoding="utf-8") as log:
        log.write(text)


def commands(folder: Path) -> list[dict]:
    path = folder / "commands.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def watcher(folder: Path) -> MnistApp:
    return MnistApp(CONFIG, source=ScriptedSource(), runs_dir=folder.parent, watch=folder)


@run_async
async def test_a_finished_run_is_shown_whole(tmp_path: Path) -> None:
    events = list(training_run()(CONFIG, RUN))
    folder = run_folder(tmp_path, events)
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "finished", what="the whole log")
        assert app.run_id == RUN and len(app.run_state.epochs) == 2
        assert app.run_state.events == len(events)
        # The watcher trains nothing: the form is the followed run's, only its live settings editable.
        assert app.query_one("#field-hidden").disabled and not app.query_one("#field-lr").disabled
        assert [key.key for key in app.query_one(KeyBar).keys][:5] == ["s", "p", "n", "x", "e"]
        assert not app.check_action("start", ())


@run_async
async def test_new_events_show_as_they_are_written_and_a_torn_line_waits(tmp_path: Path) -> None:
    script = list(training_run()(CONFIG, RUN))
    head = script[:5]  # started, the gallery, three reports
    folder = run_folder(tmp_path, head)
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.run_state.events == 5, what="the log so far")
        assert app.state == "running" and app.run_state.latest.step == 15  # type: ignore[union-attr]
        line = batch(RUN, 20).to_json() + "\n"
        append(folder, line[:30])  # the writer is caught mid-line
        await pilot.pause(0.6)
        assert app.run_state.events == 5
        append(folder, line[30:])
        await wait_until(pilot, lambda: app.run_state.events == 6, what="the completed line")
        assert app.run_state.latest.step == 20  # type: ignore[union-attr]
        append(folder, RunPaused(run_id=RUN, epoch=1, step=20).to_json() + "\n")
        await wait_until(pilot, lambda: app.state == "paused", what="the engine's pause")


@run_async
async def test_keys_write_commands_in_the_shared_format(tmp_path: Path) -> None:
    folder = run_folder(tmp_path, list(training_run()(CONFIG, RUN))[:5])
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        await pilot.press("p")
        (pause,) = commands(folder)
        assert set(pause) == {"id", "command", "time"} and pause["command"] == "pause"
        assert app.state == "running"  # until the engine says it paused
        await pilot.press("n")
        assert len(commands(folder)) == 1  # step: only while paused

        append(folder, RunPaused(run_id=RUN, epoch=1, step=15).to_json() + "\n")
        await wait_until(pilot, lambda: app.state == "paused", what="the pause")
        await pilot.press("n", "p")
        assert [c["command"] for c in commands(folder)] == ["pause", "step", "resume"]
        append(folder, RunResumed(run_id=RUN, epoch=1, step=20).to_json() + "\n")
        await wait_until(pilot, lambda: app.state == "running", what="the resume")

        await pilot.press("e")
        bar = app.query_one(SteerBar)
        assert bar.has_focus and bar.region.height == 1  # on screen, above the status line
        assert bar.region.y == app.query_one("#status").region.y - 1
        await pilot.press(*"lr=-1", "enter")
        assert len(commands(folder)) == 3 and bar.has_focus  # refused with the field's message
        bar.value = "lr=0.0001 momentum=0.9"
        await pilot.press("enter")
        change = commands(folder)[-1]
        assert (change["command"], change["values"]) == ("set", {"lr": 0.0001, "momentum": 0.9})
        assert not bar.has_focus and len({c["id"] for c in commands(folder)}) == 4

        app.query_one("#field-lr", Input).value = "0.02"
        app.query_one("#field-lr").focus()
        await pilot.press("enter")  # the form's live settings steer the followed run too
        change = commands(folder)[-1]
        assert (change["command"], change["values"]) == ("set", {"lr": 0.02})

        await pilot.press("x")
        assert commands(folder)[-1]["command"] == "stop" and app.state == "stopping"
        append(folder, RunStopped(run_id=RUN, epoch=1, step=25, epochs_completed=0).to_json() + "\n")
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        assert app.query_one("#field-hidden").disabled  # still the followed run's form, not a new run's
        assert app.exit_code == 0  # the watcher trained nothing: quitting it is no run's outcome


@run_async
async def test_a_log_rewritten_shorter_is_followed_again_from_its_start(tmp_path: Path) -> None:
    """A resume that drops a torn last line rewrites the log: the watcher starts over instead of doubling it."""
    script = list(training_run()(CONFIG, RUN))
    folder = run_folder(tmp_path, script[:8])
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.run_state.events == 8, what="the log")
        (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in script[:4]))
        await wait_until(pilot, lambda: app.run_state.events == 4, what="the log read again")
        assert app.run_state.latest.step == 10 and app.run_state.loss.batch.count == 2  # type: ignore[union-attr]
        append(folder, "".join(event.to_json() + "\n" for event in script[4:6]))
        await wait_until(pilot, lambda: app.run_state.events == 6, what="what follows")
        assert app.run_state.loss.batch.count == 4
