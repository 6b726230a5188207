"""``watch`` in the app, driven by Pilot: following a log another process writes, and the command file (no torch)."""

from __future__ import annotations

import dataclasses
import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from mnist_tui.engine.commands import NOT_REPLAYED
from mnist_tui.engine.raw_files import FILE_SIZES
from mnist_tui.engine.events import CommandAnswered, Event, RunPaused, RunResumed, RunStopped
from mnist_tui.engine.lock import RunLock
from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.key_bar import KeyBar
from mnist_tui.tui.quick_text import QuickText
from mnist_tui.tui.run_progress import IDLE_TEXT
from mnist_tui.tui.status_bar import StatusBar
from mnist_tui.tui.steer_bar import SteerBar
from mnist_tui.tui.watching import resume_hint
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


def progress_text(app: MnistApp) -> str:
    """What the Progress pane says under its bars."""
    return str(app.query_one("#numbers", QuickText).content)


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
        # Nothing brings a finished run's keys back: they are left off the bar, not greyed (QA: p, x
        # and e were offered and did nothing).
        bar = app.query_one(KeyBar)
        assert [key.key for key in bar.keys][:5] == ["s", "p", "n", "x", "e"]
        assert not {"s", "p", "n", "x", "e"} & {key.key for key, shown in zip(bar.keys, bar.shown) if shown}
        assert app.check_action("start", ()) is False


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


@run_async
async def test_a_run_resumed_in_its_cut_back_log_is_running_again_and_steerable(tmp_path: Path) -> None:
    """A resume cuts the log to its checkpoint and appends in place, past where the watcher had
    read: it read half a line, lost the resume's start, and stayed "stopped" with steering off."""
    script = list(training_run(end=False)(CONFIG, RUN))
    folder = run_folder(tmp_path, script[:12] + [RunStopped(run_id=RUN, epoch=1, step=60, epochs_completed=0)])
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "stopped", what="the stop")
        kept = "".join(event.to_json() + "\n" for event in script[:10])
        resumed = dataclasses.replace(script[0], start_step=50)
        with open(folder / "events.jsonl", "r+", encoding="utf-8") as log:
            log.truncate(len(kept.encode()))
            log.seek(len(kept.encode()))
            log.write("".join(event.to_json() + "\n" for event in [resumed, *script[10:30]]))
        await wait_until(pilot, lambda: app.state == "running", what="the resumed run")
        await wait_until(pilot, lambda: app.run_state.events == 31, what="the whole log read again")
        await pilot.press("p")
        assert [c["command"] for c in commands(folder)] == ["pause"]


@run_async
async def test_a_renamed_folder_shows_the_run_it_holds(tmp_path: Path) -> None:
    events = list(training_run()(CONFIG, RUN))
    folder = run_folder(tmp_path, events).rename(tmp_path / "baseline")
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "finished", what="the whole log")
        assert app.run_id == RUN and app.run_state.events == len(events)
        assert app.query_one(StatusBar).run_dir == str(folder)  # the folder followed, not where it was written


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("this is not json {{{", id="not JSON"),
        pytest.param("[" * 100_000, id="nested too deep"),  # a RecursionError ended the watcher with a traceback
    ],
)
@run_async
async def test_a_bad_line_costs_that_line_and_says_so(tmp_path: Path, bad: str) -> None:
    events = list(training_run()(CONFIG, RUN))
    folder = run_folder(tmp_path, events[:5])
    append(folder, bad + "\n" + "".join(event.to_json() + "\n" for event in events[5:]))
    app = watcher(folder)
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "finished", what="the rest of the log")
        assert app.run_state.events == len(events) and len(app.run_state.epochs) == 2
        await wait_until(pilot, lambda: any("line 6 is not JSON: skipped" in note for note in notes), what="the note")


@run_async
async def test_only_this_watchers_own_refused_settings_pop_up(tmp_path: Path) -> None:
    """A new watcher read every earlier answer in the log and stacked their toasts over the screen."""
    script = list(training_run(end=False)(CONFIG, RUN))
    old = CommandAnswered(run_id=RUN, command_id="earlier", command="set", accepted=False, message="lr must be a number", source="file")
    folder = run_folder(tmp_path, script[:5] + [old])
    app = watcher(folder)
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.run_state.events == 6, what="the log")
        await pilot.press("e")
        app.query_one(SteerBar).value = "lr=0.5"
        await pilot.press("enter")
        sent = commands(folder)[-1]["id"]
        refused = dataclasses.replace(old, command_id=sent, message="lr must be at most 0.1 here")
        append(folder, refused.to_json() + "\n")
        await wait_until(pilot, lambda: app.run_state.events == 7, what="the answer")
        await pilot.pause(0.1)
        assert [note for note in notes if note.startswith("Not changed")] == ["Not changed: lr must be at most 0.1 here"]


def watcher_of_killed_run(folder: Path) -> tuple[MnistApp, list[str]]:
    """A watcher of ``folder``, whose lock names a process that is gone, and the notes it shows."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder / ".lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
    app = watcher(folder)
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)  # type: ignore[method-assign]
    return app, notes


@run_async
async def test_a_killed_writer_shows_the_run_interrupted(tmp_path: Path) -> None:
    """Killed mid-run, the log says "running" forever: the watcher checks the writer's lock and
    stops offering to steer a run nobody trains."""
    script = list(training_run(end=False)(CONFIG, RUN))
    folder = run_folder(tmp_path, script[:8])
    app, notes = watcher_of_killed_run(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "interrupted", what="the writer's death noticed")
        assert any(f"mnist-tui --resume {folder}" in note for note in notes)
        # It kept showing "≈ 0:02 left" for a run nobody trains.
        progress = progress_text(app)
        # Killed in its first epoch, with no checkpoint yet (QA: it said "the last checkpoint resumes it").
        assert progress == "Interrupted at epoch 1, step 30\na resume starts it again from its config"
        await pilot.press("p")
        assert commands(folder) == []  # nothing sent to a run nobody trains
        writer = RunLock.acquire(folder)  # resumed by a live process, which holds the lock
        try:
            append(folder, dataclasses.replace(script[0], start_step=40).to_json() + "\n")
            await wait_until(pilot, lambda: app.state == "running", what="the resume")
            await pilot.pause(1.5)  # quiet past QUIET_SECONDS: the live writer keeps it running
            assert app.state == "running"
        finally:
            writer.release()


@run_async
async def test_r_on_the_watched_run_in_the_runs_view_says_how_to_resume_it(tmp_path: Path) -> None:
    """QA: r on the run watch follows said "open the dashboard (mnist-tui) for resuming another run"."""
    from mnist_tui.tui.runs_table import RunsTable
    from mnist_tui.tui.runs_view import RunsView

    folder = run_folder(tmp_path, list(training_run(end=False)(CONFIG, RUN))[:8])
    summary = {"name": CONFIG.name, "status": "running", "epochs": CONFIG.epochs, "epochs_completed": 0}
    (folder / "summary.json").write_text(json.dumps(summary))  # as the engine writes it at the start
    app, notes = watcher_of_killed_run(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "interrupted", what="the writer's death noticed")
        view, table = app.query_one(RunsView), app.query_one(RunsTable)
        await pilot.press("4")
        await wait_until(pilot, lambda: view.listed and [e.run for e in table.shown] == [RUN], what="the listing")
        assert table.shown[0].state == "interrupted"
        notes.clear()
        await pilot.press("r")
        await wait_until(pilot, lambda: notes, what="the note")
    (note,) = notes
    assert note.startswith(f"watch follows {RUN} and trains nothing. Resume it with: mnist-tui --resume {folder}"), note
    assert "another run" not in note


@run_async
async def test_the_resume_hint_of_an_interrupted_run_pastes_as_shown_and_asks_for_its_data_folder(tmp_path: Path) -> None:
    """It said ``mnist-tui --resume FOLDER`` unquoted (a folder with a space split in two) and
    without ``--data-dir``, which a run trained on another data folder needs: the headless run's
    hint carries its flag, but no run folder records it, so the watcher asks for it."""
    script = list(training_run(end=False)(CONFIG, RUN))
    parent = tmp_path / "shared runs"  # a space: the pasted command must keep the folder whole
    parent.mkdir()
    folder = run_folder(parent, script[:8])
    app, notes = watcher_of_killed_run(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "interrupted", what="the writer's death noticed")
    (hint,) = [note for note in notes if "Resume it with: " in note]
    command, _, rest = hint.partition("Resume it with: ")[2].partition(" (")
    assert shlex.split(command) == ["mnist-tui", "--resume", str(folder)]
    assert rest.startswith("add --data-dir DIR if it trained on data outside the default folder")


def data_folder(data: Path) -> Path:
    """A data folder holding MNIST's raw files (empty: the hint looks for them, it does not read them)."""
    raw = data / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILE_SIZES:
        (raw / name).touch()
    return data


async def resume_hint_shown(folder: Path) -> list[str]:
    """The command of the resume hint a watcher of ``folder``'s killed run shows, split as a shell would."""
    app, notes = watcher_of_killed_run(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "interrupted", what="the writer's death noticed")
    (hint,) = [note for note in notes if "Resume it with: " in note]
    return shlex.split(hint.partition("Resume it with: ")[2])


@run_async
async def test_the_resume_hint_needs_no_data_folder_when_the_log_records_one(tmp_path: Path) -> None:
    """A run's ``run_started`` names the data folder it loaded, and a plain ``--resume`` reads from it."""
    data = data_folder(tmp_path / "my mnist")
    script = list(training_run(end=False)(CONFIG, RUN))
    started = dataclasses.replace(script[0], data_dir=str(data))
    folder = run_folder(tmp_path, [started, *script[1:8]])
    assert await resume_hint_shown(folder) == ["mnist-tui", "--resume", str(folder)]


@run_async
async def test_a_headless_runs_resume_hint_keeps_it_headless(tmp_path: Path) -> None:
    """Its own stop line says ``--resume … --no-ui``; the watcher's said ``--resume …``, which opens
    the dashboard (QA): the log's ``run_started`` says whether it trained headless."""
    data = data_folder(tmp_path / "my mnist")
    script = list(training_run(end=False)(CONFIG, RUN))
    started = dataclasses.replace(script[0], data_dir=str(data), headless=True)
    folder = run_folder(tmp_path, [started, *script[1:8]])
    assert await resume_hint_shown(folder) == ["mnist-tui", "--resume", str(folder), "--no-ui"]


@run_async
async def test_a_run_killed_before_its_first_event_names_its_data_folder_in_its_summary(tmp_path: Path) -> None:
    """Its folder is made with its summary, config and an empty log: the hint asked for --data-dir."""
    data = data_folder(tmp_path / "my mnist")
    folder = run_folder(tmp_path, [])
    (folder / "summary.json").write_text(json.dumps({"status": "running", "data_dir": str(data)}))
    assert await resume_hint_shown(folder) == ["mnist-tui", "--resume", str(folder)]


def test_a_recorded_data_folder_that_is_gone_asks_for_one_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / RUN
    asking = resume_hint(folder)
    assert "(add --data-dir DIR if it trained on data outside the default folder" in asking
    assert resume_hint(folder, str(tmp_path / "deleted")) == asking
    monkeypatch.chdir(tmp_path)
    assert resume_hint(folder, RUN) == asking, "a relative folder: relative to which working directory?"
    assert resume_hint(folder, str(tmp_path)) == asking, "a folder without the data: it lost its files"
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILE_SIZES:
        (raw / f"{name}.gz").touch()  # the archives count: the engine unpacks them
    assert resume_hint(folder, str(tmp_path)) == f"Resume it with: mnist-tui --resume {folder}"
    assert resume_hint(folder, str(tmp_path), "fashion-mnist") == asking, "that folder holds MNIST, not this run's data"
    assert resume_hint(folder, str(tmp_path), "cifar") == asking, "a log's unknown dataset is no folder's"
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    assert resume_hint(folder, str(tmp_path)) == asking


@run_async
async def test_a_folder_without_a_log_says_so_and_waits_for_it(tmp_path: Path) -> None:
    """It showed "● idle" and "No run yet: ... press s", which a watcher ignores, and nothing about the log."""
    folder = tmp_path / RUN
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(CONFIG))
    app = watcher(folder)
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: notes, what="the notice")
        assert notes == [f"{RUN} has no events.jsonl yet: waiting for its run to write it."]
        await pilot.pause(0.5)  # several reads of the missing log
        assert app.state == "starting" and app.query_one(StatusBar).state == "starting"
        assert app.query_one(StatusBar).run_dir == str(folder)
        assert progress_text(app) != IDLE_TEXT and "press s" not in progress_text(app)
        assert not app.check_action("start", ())
        events = list(training_run()(CONFIG, RUN))
        append(folder, "".join(event.to_json() + "\n" for event in events))
        await wait_until(pilot, lambda: app.state == "finished", what="the log once written")
        assert app.run_state.events == len(events)


@run_async
async def test_the_log_names_the_preset_a_missing_summary_cannot(tmp_path: Path) -> None:
    """Without summary.json the form said "custom", though the log's first line names the preset."""
    events = list(training_run()(CONFIG, RUN))
    folder = run_folder(tmp_path, [dataclasses.replace(events[0], preset="smoke"), *events[1:]])
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "finished", what="the whole log")
        form = app.query_one(ConfigForm)
        assert form.preset == "smoke" and app.query_one("#preset").value == "smoke"
        assert app.query_one("#field-lr", Input).value == "0.01", "the run's own settings, not the preset's"
        assert app.query_one("#field-hidden").disabled and not app.query_one("#field-lr").disabled


@run_async
async def test_a_refusal_written_while_watching_pops_up_whoever_sent_it(tmp_path: Path) -> None:
    """A command a resume does not replay (carried out before a kill: the log says so) is answered
    "not replayed" and pops nothing up; it showed as "Not changed" (QA)."""
    script = list(training_run(end=False)(CONFIG, RUN))
    folder = run_folder(tmp_path, script[:5])
    app = watcher(folder)
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.run_state.events == 5, what="the log")
        earlier = CommandAnswered(run_id=RUN, command_id="before", command="set", accepted=False, message=NOT_REPLAYED, source="file")
        refused = dataclasses.replace(earlier, command_id="a-script", message="lr must be a number")
        append(folder, earlier.to_json() + "\n" + refused.to_json() + "\n")
        await wait_until(pilot, lambda: "Not changed: lr must be a number" in notes, what="the refusal told")
        assert [note for note in notes if note.startswith("Not changed")] == ["Not changed: lr must be a number"]


def test_typed_settings_name_a_setting_given_twice() -> None:
    """``lr=0.001 lr=0.002`` sent lr 0.002 without a word."""
    from mnist_tui.engine.config import ConfigError
    from mnist_tui.tui.steer_bar import parse_settings

    assert parse_settings("lr=0.001, momentum=0.9") == {"lr": 0.001, "momentum": 0.9}
    assert parse_settings("lr = 0.001  momentum= 0.9") == {"lr": 0.001, "momentum": 0.9}  # as TOML writes them
    with pytest.raises(ConfigError, match="lr is given twice; give each setting once"):
        parse_settings("lr=0.001 lr=0.002")


@run_async
async def test_settings_typed_in_one_burst_send_what_came_before_enter(tmp_path: Path) -> None:
    """``lr=0.05`` enter, then ``p`` at once (tmux send-keys): the p reached the bar before its
    submission was handled, and ``lr=0.05p`` was refused."""
    folder = run_folder(tmp_path, list(training_run()(CONFIG, RUN))[:5])
    app = watcher(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "running", what="the run")
        await pilot.press("e")
        bar = app.query_one(SteerBar)
        for key in [*"lr=0.05", "enter", "p"]:  # as the terminal's reader posts them: none waits
            app.simulate_key(key)
        await wait_until(pilot, lambda: any(c["command"] == "set" for c in commands(folder)), what="the change sent")
        change = next(c for c in commands(folder) if c["command"] == "set")
        assert change["values"] == {"lr": 0.05}
        assert not bar.has_focus


@run_async
async def test_notifications_stand_above_the_open_settings_bar(tmp_path: Path) -> None:
    """The bar opens a row over the status line, where the notifications stood: one covered what was typed."""
    folder = run_folder(tmp_path, list(training_run()(CONFIG, RUN))[:5])
    app = watcher(folder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.state == "running", what="the run")

        def on_row(y: int) -> set[str]:
            """What is on top along row ``y``, across the notifications' half of the screen."""
            return {type(app.screen.get_widget_at(x, y)[0]).__name__ for x in range(SIZE[0] // 2 + 1, SIZE[0])}

        await pilot.press("e")
        bar = app.query_one(SteerBar)
        app.notify("Sent set lr 0.001; the run acts on it at its next report.")
        await wait_until(pilot, lambda: "Toast" in on_row(bar.region.y - 1), what="the notification")
        assert on_row(bar.region.y) == {"SteerBar"}

        await pilot.press("escape")  # closed: they stand right above the status line again
        await wait_until(pilot, lambda: "Toast" in on_row(app.query_one(StatusBar).region.y - 1), what="the notification lower")
        assert on_row(app.query_one(StatusBar).region.y) == {"StatusBar"}
