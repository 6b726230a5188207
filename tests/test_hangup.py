"""A dashboard whose terminal is gone stops its run with a checkpoint and exits 129.

The end-to-end test is issue 14's: the dashboard under a parent shell that traps SIGHUP, in tmux,
then ``tmux kill-session``. Before the fix the training went on, then the process spun forever
on end-of-file; now it stops between batches, writes its checkpoint and exits 129.
"""

from __future__ import annotations

import json
import os
import pty
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import cli_env
from mnist_tui.tui.hangup import terminal_gone

TMUX = shutil.which("tmux")
COMMAND = Path(sys.executable).with_name("mnist-tui")


def test_a_pipe_whose_writer_closed_is_gone() -> None:
    read, write = os.pipe()
    try:
        assert not terminal_gone(read)
        os.close(write)
        assert terminal_gone(read)
    finally:
        os.close(read)


def test_a_pty_whose_terminal_closed_is_gone() -> None:
    main, follower = pty.openpty()
    try:
        assert not terminal_gone(follower)
        os.close(main)
        assert terminal_gone(follower)
    finally:
        os.close(follower)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)")
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="watches the process in /proc (Linux)")
def test_the_dashboard_under_a_sighup_trapping_parent_exits_129_when_tmux_kills_its_session(
    data_dir: Path, tmp_path: Path
) -> None:
    runs, code_file = tmp_path / "runs", tmp_path / "exit-code"
    command = shlex.join([
        str(COMMAND), "--preset", "smoke", "--epochs", "100", "--device", "cpu",
        "--data-dir", str(data_dir), "--runs-dir", str(runs),
    ])
    parent = f"trap 'echo hup' HUP; {command}; echo $? > {shlex.quote(str(code_file))}"
    socket = f"mnist-tui-hangup-{uuid.uuid4().hex[:8]}"
    env = cli_env({"LANG": os.environ.get("LANG") or "C.UTF-8"})
    for name in ("TMUX", "TMUX_PANE"):
        env.pop(name, None)
    tmux = [TMUX or "tmux", "-f", os.devnull, "-L", socket]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "t", "-x", "120", "-y", "40", shlex.join(["bash", "-c", parent])],
        check=True, env=env, timeout=30,
    )
    try:
        deadline = time.monotonic() + 300
        while not any('"event":"batch"' in p.read_text() for p in runs.glob("*/events.jsonl")):
            assert time.monotonic() < deadline, "the dashboard never trained"
            time.sleep(0.2)
        (run,) = runs.iterdir()
        pid = int((run / ".lock").read_text().split()[0])  # the run's writer (pid, host): the dashboard's process
        assert _alive(pid)

        subprocess.run([*tmux, "kill-session", "-t", "t"], check=True, env=env, timeout=30)
        killed = time.monotonic()
        while _alive(pid) and time.monotonic() - killed < 60:
            time.sleep(0.05)
        gone = time.monotonic() - killed
        print(f"terminal killed: mnist-tui gone {gone:.2f} s later")
        assert not _alive(pid), f"mnist-tui (pid {pid}) still running {gone:.0f} s after its terminal was killed"
        while not code_file.is_file() and time.monotonic() - killed < 70:
            time.sleep(0.05)
        assert code_file.read_text().strip() == "129"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, env=env, timeout=30)

    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped"
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "stopped"
    assert (events[-2]["event"], events[-2]["which"]) == ("checkpoint", "last")
    assert (run / "last.pt").is_file()
