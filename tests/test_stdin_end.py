"""Standard input at its end, and a terminal that hangs up under a headless run.

Before the fix a dashboard started with ``</dev/null`` (or a file, or a pipe) on standard input
never ended: Textual's input thread read end-of-file in a loop at 100 % of a core, and the terminal
watch saw no hang-up (poll reports none for /dev/null). Now every dashboard entry refuses at once
with one line and exits 2. A headless run whose terminal closed ended with exit 1 (its write to
the terminal failed with EIO); now it ends as the hangup it is, 129.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import cli_env
from mnist_tui.engine.presets import config_to_toml, load_preset

WAIT = 60.0
"""The refusal is instant; this only bounds a test that would otherwise wait forever without the fix."""


class Terminal:
    """A pty for a child's output, drained in a thread (a full pty would block the child)."""

    def __init__(self) -> None:
        self.main, self.follower = pty.openpty()
        self.output = bytearray()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._closing.is_set():
            if select.select([self.main], [], [], 0.05)[0]:
                try:
                    self.output += os.read(self.main, 65536)
                except OSError:  # the child closed its end: EIO on Linux
                    return

    def hang_up(self) -> None:
        """Close the terminal's side, as a closed window or a killed tmux session does."""
        self._closing.set()
        self._thread.join()
        os.close(self.main)

    def close(self) -> None:
        if not self._closing.is_set():
            self.hang_up()
        os.close(self.follower)


def start(args: list[str], terminal: Terminal, tmp_path: Path, **streams: object) -> subprocess.Popen[bytes]:
    """The real command with its output on ``terminal`` and, unless told, ``/dev/null`` on stdin."""
    streams = {"stdin": subprocess.DEVNULL, "stdout": terminal.follower, "stderr": terminal.follower, **streams}
    return subprocess.Popen(
        [sys.executable, "-m", "mnist_tui", *args], cwd=tmp_path, env=cli_env({"TERM": "xterm-256color"}), **streams  # type: ignore[arg-type]
    )


def finish(process: subprocess.Popen[bytes], seconds: float = WAIT) -> int:
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {seconds:.0f} s later (spinning on stdin at its end?)")


def smoke_run_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "smoke-20261202-120000-abcd"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(config_to_toml(load_preset("smoke")))
    return folder


@pytest.mark.parametrize("entry", ["dashboard", "a run", "watch", "sweep"])
def test_every_dashboard_refuses_at_once_when_stdin_is_no_terminal(entry: str, data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "S.toml").write_text("lr = { low = 1e-3, high = 1e-1, log = true }\n")
    runs = ["--runs-dir", str(tmp_path / "runs")]
    args = {
        "dashboard": runs,
        "a run": ["--preset", "smoke", "--set", "epochs=3000", "--data-dir", str(data_dir), *runs],
        "watch": ["watch", str(smoke_run_folder(tmp_path))],
        "sweep": ["sweep", "--preset", "smoke", "--space", "S.toml", "--data-dir", str(data_dir), *runs],
    }[entry]
    terminal = Terminal()
    try:
        code = finish(start(args, terminal, tmp_path))
    finally:
        terminal.close()
    text = terminal.output.decode(errors="replace")
    assert code == 2, text
    (line,) = text.strip().splitlines()
    assert "error: the dashboard reads its keys from a terminal, and standard input is not one" in line
    assert "\x1b[" not in text  # nothing was drawn: the terminal is left as it was
    assert not list((tmp_path / "runs").glob("*/events.jsonl"))  # nothing was trained
    assert not (tmp_path / "runs" / "sweeps.journal").exists()  # nor a sweep's study made


@pytest.mark.slow
def test_a_headless_run_whose_terminal_hangs_up_stops_checkpointed_and_exits_129(data_dir: Path, tmp_path: Path) -> None:
    """No SIGHUP reaches the run (its terminal is not its controlling one): only its writes fail, with EIO."""
    runs, errors = tmp_path / "runs", tmp_path / "stderr"
    args = ["--no-ui", "--preset", "smoke", "--set", "epochs=2000", "--data-dir", str(data_dir), "--runs-dir", str(runs)]
    terminal = Terminal()
    try:
        with errors.open("wb") as stderr:
            process = start(args, terminal, tmp_path, stderr=stderr)
        deadline = time.monotonic() + 300
        while not any('"event":"batch"' in p.read_text() for p in runs.glob("*/events.jsonl")):
            assert process.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the run never trained"
            time.sleep(0.2)
        terminal.hang_up()
        code = finish(process)
    finally:
        terminal.close()
    said = errors.read_text()
    assert code == 129, said
    assert "mnist-tui: cannot write the output: Input/output error; stopped at epoch" in said
    (run,) = runs.iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "stopped"
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "stopped"
    assert (events[-2]["event"], events[-2]["which"]) == ("checkpoint", "last")
