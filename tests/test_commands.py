"""The command file: its reader, the engine acting on it, and a headless run steered by another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable

import pytest

from mnist_tui.engine.commands import COMMAND_FILE, NOT_REPLAYED, Command, CommandFile, Refused, send_command
from mnist_tui.engine.config import Config
from mnist_tui.engine.events import (
    BatchReported,
    CommandAnswered,
    Event,
    RunFinished,
    RunPaused,
    RunResumed,
    SettingsChanged,
)
from mnist_tui.engine.train import resume_training, run_training


def append(run_dir: Path, *lines: str | dict[str, Any]) -> None:
    with open(run_dir / COMMAND_FILE, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")


def of(kind: type, events: list[Event]) -> list:
    return [e for e in events if isinstance(e, kind)]


# --- the reader -----------------------------------------------------------------------------


def test_send_command_appends_one_line_per_command(tmp_path: Path) -> None:
    before = time.time()
    first = send_command(tmp_path, "pause")
    second = send_command(tmp_path, "set", {"lr": 0.0001, "weight_decay": 0})
    lines = [json.loads(line) for line in (tmp_path / COMMAND_FILE).read_text().splitlines()]
    assert [line["id"] for line in lines] == [first, second] and first != second
    assert lines[0].keys() == {"id", "command", "time"} and lines[0]["command"] == "pause"
    assert lines[1]["values"] == {"lr": 0.0001, "weight_decay": 0}
    assert all(before <= line["time"] <= time.time() for line in lines)
    with pytest.raises(ValueError, match="unknown command 'predict'"):
        send_command(tmp_path, "predict")
    with pytest.raises(ValueError, match="'dropout' cannot change during a run"):
        send_command(tmp_path, "set", {"dropout": 0.1})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        send_command(tmp_path / "missing", "stop")


def test_the_reader_takes_each_id_once_and_refuses_bad_lines(tmp_path: Path) -> None:
    reader = CommandFile(tmp_path, since=1000.0)
    assert reader.read() == [], "no file yet"
    append(
        tmp_path,
        {"id": "a", "command": "pause", "time": 1001.0},
        "not json",
        {"id": "b", "command": "jump", "time": 1001.0},
        {"id": "c", "command": "set", "values": {"lr": "fast"}, "time": 1001.0},
        {"id": "d", "command": "resume", "time": 999.0},
        {"id": "a", "command": "pause", "time": 1002.0},
        {"command": "stop", "time": 1001.0},
        {"id": "e", "command": "stop"},
        {"id": "f", "command": "set", "values": {"lr": 0.01}, "time": 1001, "extra": 1},
        "[1, 2]",
        "",
    )
    found = reader.read()
    assert found[0] == Command(id="a", command="pause", source="file")
    refused = {item.id: item.reason for item in found[1:]}
    assert all(isinstance(item, Refused) for item in found[1:])
    assert refused == {
        "line 2": "ignored: line 2 of commands.jsonl is not JSON",
        "b": "ignored: unknown command 'jump': use one of pause, resume, step, stop, set",
        "c": "ignored: set: lr must be a number, not 'fast'",
        "d": NOT_REPLAYED,  # written before this session started
        # A repeated id is refused in its own answer; the line's first answer stays the one.
        "a": "ignored: id 'a' (line 6) was already answered",
        "line 7": "ignored: line 7 has no id (a string of 1 to 200 characters)",
        "e": "ignored: line 8 has no time (Unix seconds when it was written)",
        "f": "ignored: line 9 has unknown fields: extra",
        "line 10": "ignored: line 10 is not a JSON object",
    }
    assert reader.read() == [], "every line is read once"


def test_lines_json_cannot_read_are_refused_and_the_next_command_still_counts(tmp_path: Path) -> None:
    """An integer of 5,000 digits (Python refuses to read it) or 100,000 nested brackets raised
    out of the reader, into the training loop."""
    reader = CommandFile(tmp_path, since=1000.0)
    append(
        tmp_path,
        '{"id": "n", "command": "set", "values": {"lr": ' + "9" * 5000 + '}, "time": 1001.0}',
        "[" * 100_000 + "]" * 100_000,
        {"id": "a", "command": "pause", "time": 1001.0},
    )
    found = reader.read()
    assert found[:2] == [
        Refused("line 1", "", "ignored: line 1 of commands.jsonl is not JSON"),
        Refused("line 2", "", "ignored: line 2 of commands.jsonl is not JSON"),
    ]
    assert found[2] == Command(id="a", command="pause", source="file")


def test_a_partly_written_line_waits_for_its_end(tmp_path: Path) -> None:
    reader = CommandFile(tmp_path, since=0.0)
    line = json.dumps({"id": "x", "command": "stop", "time": 1.0})
    (tmp_path / COMMAND_FILE).write_text(line[:10])
    assert reader.read() == []
    with open(tmp_path / COMMAND_FILE, "a") as handle:
        handle.write(line[10:] + "\n")
    assert reader.read() == [Command(id="x", command="stop", source="file")]


def test_a_command_file_that_cannot_be_read_is_answered_once_and_read_again_later(tmp_path: Path) -> None:
    """A folder in the file's place ended the run with IsADirectoryError."""
    reader = CommandFile(tmp_path, since=0.0)
    (tmp_path / COMMAND_FILE).mkdir()
    (refused,) = reader.read()
    assert isinstance(refused, Refused) and refused.id == "file"
    assert refused.reason == f"ignored: {COMMAND_FILE} cannot be read (Is a directory); commands wait until it can"
    assert reader.read() == []  # said once
    (tmp_path / COMMAND_FILE).rmdir()
    line = json.dumps({"id": "x", "command": "stop", "time": 1.0})
    (tmp_path / COMMAND_FILE).write_text(line + "\n")
    assert reader.read() == [Command(id="x", command="stop", source="file")]


def test_lines_answered_in_an_earlier_session_are_skipped_silently(tmp_path: Path) -> None:
    append(
        tmp_path,
        {"id": "old", "command": "pause", "time": 10.0},
        "garbage",
        {"id": "unanswered", "command": "pause", "time": 10.0},
        {"id": "new", "command": "resume", "time": 30.0},
    )
    reader = CommandFile(tmp_path, since=20.0, answered={"old", "line 2"})
    found = reader.read()
    assert [(item.id, type(item).__name__) for item in found] == [("unanswered", "Refused"), ("new", "Command")]


# --- the engine and the file ----------------------------------------------------------------


def test_the_engine_acts_on_file_commands_once_and_resumes_from_the_file(
    data_dir: Path, tmp_path: Path, tiny: Config
) -> None:
    config = tiny.replace(lr=0.001)
    events: list[Event] = []
    ids: dict[str, str] = {}
    for event in run_training(config, data_dir=data_dir, runs_dir=tmp_path):
        events.append(event)
        run_dir = Path(events[0].run_dir)
        if isinstance(event, BatchReported) and event.step == 5:
            ids["pause"] = send_command(run_dir, "pause")
            ids["set"] = send_command(run_dir, "set", {"lr": 0.0005})
            line = json.loads((run_dir / COMMAND_FILE).read_text().splitlines()[0])
            append(run_dir, line, "{broken", {**line, "id": "stale", "time": line["time"] - 3600})
        if isinstance(event, RunPaused):
            ids["resume"] = send_command(run_dir, "resume")  # read by the paused engine within 0.2 s
    answered = of(CommandAnswered, events)
    assert [a.command_id for a in answered if a.accepted] == [ids["pause"], ids["set"], ids["resume"]]
    refused = {a.command_id: a.message for a in answered if not a.accepted}
    assert refused == {
        ids["pause"]: f"ignored: id {ids['pause']!r} (line 3) was already answered",
        "line 4": "ignored: line 4 of commands.jsonl is not JSON",
        "stale": NOT_REPLAYED,
    }
    assert all(a.source == "file" for a in answered)
    (paused,), (resumed,), (changed,) = of(RunPaused, events), of(RunResumed, events), of(SettingsChanged, events)
    assert paused.step == 5 and resumed.step == 5, "the file is read at each report: the pause came at the next"
    assert (changed.step, changed.changes, changed.source) == (5, {"lr": [0.001, 0.0005]}, "file")
    assert {b.lr for b in of(BatchReported, events) if b.step > 5} == {0.0005}
    assert isinstance(events[-1], RunFinished)

    # A resumed session skips what the log answered, and does not replay the rest.
    send_command(run_dir, "pause")
    more = list(resume_training(run_dir, data_dir=data_dir, epochs=3))
    (earlier,) = of(CommandAnswered, more)
    assert not earlier.accepted and earlier.message == NOT_REPLAYED
    assert isinstance(more[-1], RunFinished) and not of(RunPaused, more)


# --- a headless run steered by another process ----------------------------------------------


class Stream:
    """The JSON events a headless ``--jsonl`` run prints, read one at a time."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.seen: list[dict[str, Any]] = []

    def until(self, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for line in self.out:
            event = json.loads(line)
            self.seen.append(event)
            if condition(event):
                return event
        raise AssertionError(f"the run ended first: {[e['event'] for e in self.seen[-5:]]}")


def test_a_headless_run_is_steered_from_its_command_file(
    data_dir: Path, tmp_path: Path, command_env: dict[str, str]
) -> None:
    args = [
        sys.executable, "-m", "mnist_tui", "--jsonl", "--preset", "smoke", "--epochs", "50", "--device", "cpu",
        "--set", "lr=0.001", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs"),
    ]
    process = subprocess.Popen(args, cwd=tmp_path, env=command_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stream = Stream(process.stdout)
        run_dir = Path(stream.until(lambda e: e["event"] == "run_started")["run_dir"])
        stream.until(lambda e: e["event"] == "batch")
        send_command(run_dir, "pause")
        paused = stream.until(lambda e: e["event"] == "paused")
        time.sleep(1.0)  # a run that ignored the pause would report meanwhile
        send_command(run_dir, "set", {"lr": 0.0001})
        changed = stream.until(lambda e: e["event"] == "changed")
        send_command(run_dir, "resume")
        resumed = stream.until(lambda e: e["event"] == "resumed")
        while_paused = stream.seen[stream.seen.index(paused) : stream.seen.index(resumed)]
        assert not [e for e in while_paused if e["event"] == "batch"], "no reports while paused"
        assert changed["changes"] == {"lr": [0.001, 0.0001]} and changed["step"] == paused["step"]
        later = stream.until(lambda e: e["event"] == "batch")
        assert later["lr"] == 0.0001 and later["step"] > paused["step"]
        send_command(run_dir, "stop")
        stopped = stream.until(lambda e: e["event"] == "stopped")
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert code == 130, "a stop command ends the run as Ctrl+C does"
    batches = [e for e in stream.seen if e["event"] == "batch"]
    assert {e["lr"] for e in batches if e["step"] > paused["step"]} == {0.0001}
    checkpoints = [e for e in stream.seen if e["event"] == "checkpoint" and e["which"] == "last"]
    assert checkpoints[-1]["step"] == stopped["step"] and (run_dir / "last.pt").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["changes"][0]["changes"] == {"lr": [0.001, 0.0001]}
    assert os.path.getsize(run_dir / COMMAND_FILE) > 0
