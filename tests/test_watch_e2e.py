"""End to end: ``mnist-tui watch`` in one tmux window follows and steers a headless run in another.

The headless run is the issue's ``mnist-tui --no-ui --preset sigmoid-sgd``, on 1,600 training
digits (50 steps an epoch, a report every 5) and 500 evaluation digits, for many epochs: it trains
until the watcher stops it. Its plain report lines go to a file, where the test counts them. The
watcher's screen is read with ``tmux capture-pane``; keys are sent with ``send-keys``. Every wait
polls (the screen, the run's log, the report file), never a fixed sleep, except the one stretch
that checks that a paused run reports nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import time
from pathlib import Path
from typing import Callable

import pytest

from test_tui_e2e import BRAILLE, COMMAND, EXIT, STEP, TMUX, Terminal, terminal  # noqa: F401  (terminal: the fixture)

from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.engine.steering import describe_step

pytestmark = [pytest.mark.slow, pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]

WAIT = 120.0
"""Generous: a busy two-core machine starts each command in 10-20 s."""
PAUSED_FOR = 3.0
"""How long the paused run is watched for reports: 15 reports' time when it trains."""
REPORT = re.compile(r"^epoch \d+ step \d+/\d+ loss [\d.]+ lr ([\d.e-]+) ", re.MULTILINE)


def poll(check: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    started = time.monotonic()
    while not (value := check()):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.2)
    return value


def logged(run: Path) -> list[dict]:
    """The complete lines of the run's events.jsonl."""
    text = (run / "events.jsonl").read_text(encoding="utf-8") if (run / "events.jsonl").is_file() else ""
    return [json.loads(line) for line in text.split("\n")[:-1] if line]


def x_axis_end(screen: str) -> float | None:
    """The largest epoch the watcher's loss chart labels on its x axis (the line under its frame)."""
    lines = screen.splitlines()
    for index, line in enumerate(lines[:20]):
        if "└" in line and "┬" in line and index + 1 < len(lines):
            labels = re.findall(r"\d+(?:\.\d+)?", lines[index + 1].split("││")[-1])
            return max(map(float, labels), default=None)
    return None


def test_watch_follows_the_headless_run_and_pauses_changes_and_stops_it(
    terminal: Terminal, data_dir: Path, tmp_path: Path
) -> None:
    runs, out = tmp_path / "runs", tmp_path / "headless.txt"
    headless = [
        str(COMMAND), "--no-ui", "--preset", "sigmoid-sgd", "--set", "train_limit=1600", "--set", "eval_limit=500",
        "--set", "report_every=5", "--epochs", "2000", "--device", "cpu", "--data-dir", str(data_dir),
        "--runs-dir", str(runs),
    ]
    terminal.type(f"{shlex.join(headless)} > {shlex.quote(str(out))} 2>&1; echo EXIT:$?")
    run = poll(lambda: next(runs.glob("sigmoid-sgd-*"), None) if runs.is_dir() else None, "run folder")
    assert isinstance(run, Path)
    poll(lambda: any(e["event"] == "batch" for e in logged(run)), "first report")

    terminal.tmux("new-window", "-d", "-n", "watcher", "-c", str(tmp_path), "bash --norc --noprofile")
    terminal.tmux("send-keys", "-t", "watcher", "-l", f"{COMMAND} watch {shlex.quote(str(run))}; echo EXIT:$?")
    terminal.tmux("send-keys", "-t", "watcher", "Enter")

    def watcher() -> str:
        return terminal.tmux("capture-pane", "-p", "-t", "watcher")

    def press(*keys: str) -> None:
        for key in keys:
            terminal.tmux("send-keys", "-t", "watcher", key)

    # The loss chart grows: its x axis reaches later epochs as the run trains.
    first = poll(lambda: x_axis_end(watcher()), "loss chart in the watcher")
    assert BRAILLE.search(watcher())
    grown = poll(lambda: (end := x_axis_end(watcher())) and end > first and end, "growing loss chart")
    assert "● running" in watcher()

    # Pause from the watcher: the headless run reports nothing until it is resumed.
    press("p")
    paused = poll(lambda: next((e for e in logged(run) if e["event"] == "paused"), None), "paused event")
    poll(lambda: "● paused" in watcher(), "paused state in the watcher")
    steps_per_epoch = next(e["steps_per_epoch"] for e in logged(run) if e["event"] == "run_started")
    where = describe_step(paused["epoch"], paused["step"], steps_per_epoch)  # type: ignore[index]
    poll(lambda: f"paused at {where}" in out.read_text(), "the headless run's pause line")
    reports = len(REPORT.findall(out.read_text()))
    batches = sum(e["event"] == "batch" for e in logged(run))
    time.sleep(PAUSED_FOR)
    assert len(REPORT.findall(out.read_text())) == reports
    assert sum(e["event"] == "batch" for e in logged(run)) == batches
    press("p")
    poll(lambda: any(e["event"] == "resumed" for e in logged(run)), "resumed event")
    poll(lambda: len(REPORT.findall(out.read_text())) > reports, "reports after resuming")

    # A new lr from the watcher: a changed event, and the later reports train with it.
    press("e")
    poll(lambda: "new settings" in watcher(), "the settings line")
    terminal.tmux("send-keys", "-t", "watcher", "-l", "lr=0.05")
    press("Enter")
    changed = poll(lambda: next((e for e in logged(run) if e["event"] == "changed"), None), "changed event")
    assert changed["changes"] == {"lr": [0.01, 0.05]}  # type: ignore[index]
    poll(lambda: any(e["event"] == "batch" and e["step"] > changed["step"] for e in logged(run)), "a later report")  # type: ignore[index]
    later = [e for e in logged(run) if e["event"] == "batch" and e["step"] > changed["step"]]  # type: ignore[index]
    earlier = [e for e in logged(run) if e["event"] == "batch" and e["step"] <= changed["step"]]  # type: ignore[index]
    assert {e["lr"] for e in later} == {0.05} and {e["lr"] for e in earlier} == {0.01}
    # The log is written before the line is printed: wait for a printed report after the change.
    def after_the_change() -> list[str]:
        return REPORT.findall(out.read_text().partition("lr 0.01 -> 0.05")[2])

    assert poll(after_the_change, "a printed report after the change")[0] == "0.05"  # type: ignore[index]

    # Stop from the watcher: the headless run ends as Ctrl+C ends it, with its last checkpoint.
    press("x")
    shell = poll(lambda: EXIT.search(terminal.screen()), "the headless run's exit")
    assert shell.group(1) == "130"  # type: ignore[union-attr]
    events = logged(run)
    assert events[-1]["event"] == "stopped"
    assert any(e["event"] == "command" and e["command"] == "stop" and e["accepted"] for e in events)
    assert (run / "last.pt").is_file()
    assert json.loads((run / "summary.json").read_text())["status"] == "stopped"
    poll(lambda: "● stopped" in watcher(), "stopped state in the watcher")
    print(f"x axis {first} -> {grown}; paused at step {paused['step']}; lr changed at step {changed['step']}")  # type: ignore[index]

    press("q")
    poll(lambda: EXIT.search(watcher()), "the watcher's exit")
    assert EXIT.search(watcher()).group(1) == "0"  # type: ignore[union-attr]


def test_watch_waits_for_a_missing_log_and_shows_a_killed_writer_without_time_left(
    terminal: Terminal, data_dir: Path, tmp_path: Path
) -> None:
    """The watcher said "● idle" and "No run yet: ... press s" for a folder without events.jsonl,
    and kept "≈ 0:02 left" once the run's process was killed."""
    run = tmp_path / "runs" / "sigmoid-sgd-20261202-120000-abcd"
    run.mkdir(parents=True)
    config = load_preset("sigmoid-sgd").replace(train_limit=1600, eval_limit=500, report_every=5, epochs=2000, device="cpu")
    (run / "config.toml").write_text(config_to_toml(config))  # a run folder whose run has not written yet
    terminal.type(f"{COMMAND} watch {shlex.quote(str(run))}; echo EXIT:$?")
    screen, _, _ = terminal.wait_for(lambda s: "has no events.jsonl" in s, WAIT, "notice of the missing log")
    assert "● starting" in screen and "press s" not in screen and "No run yet" not in screen

    # The run starts writing (a resume of a folder without a checkpoint starts it from its config).
    headless = [str(COMMAND), "--no-ui", "--resume", str(run), "--data-dir", str(data_dir)]
    terminal.tmux("new-window", "-d", "-n", "trainer", "-c", str(tmp_path), "bash --norc --noprofile")
    terminal.tmux("send-keys", "-t", "trainer", "-l", f"{shlex.join(headless)} > headless.txt 2>&1")
    terminal.tmux("send-keys", "-t", "trainer", "Enter")
    terminal.wait_for(lambda s: "● running" in s and STEP.search(s) and " left" in s, WAIT, "the run followed")

    os.kill(int((run / ".lock").read_text().split()[0]), signal.SIGKILL)
    screen, _, _ = terminal.wait_for(lambda s: "● interrupted" in s, WAIT, "the killed writer noticed")
    screen, _, _ = terminal.wait_for(lambda s: "Interrupted at epoch" in s, 10, "the end shown")
    assert " left" not in screen and "≈" not in screen

    terminal.press("q")
    _, code, _ = terminal.wait_for(lambda s: EXIT.search(s), WAIT, "the watcher's exit")
    assert code.group(1) == "0"  # type: ignore[union-attr]
