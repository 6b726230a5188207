"""A sweep whose multiprocessing resource tracker is killed goes on quietly, with every result.

The tracker is the process Python starts to unlink the workers' shared semaphore should the sweep
be killed. Killed itself, it was started again by the next worker's start or by the semaphore's
release, with a warning, and the new one, which had never heard of the semaphore, printed a KeyError
traceback for each release (after the command had exited, as it outlives its parent).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env
from test_sweep import LONG_TRIALS, journal, load_trials, running_trial, sweep_command

pytest.importorskip("optuna")


def resource_tracker_of(process: subprocess.Popen[str], deadline: float) -> int:
    """The pid of ``process``'s resource tracker (its child running ``multiprocessing.resource_tracker``)."""
    pid = process.pid
    while time.time() < deadline and process.poll() is None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rpartition(")")[2].split()[1])
                command = (stat.parent / "cmdline").read_bytes()
            except (OSError, ValueError):
                continue  # gone meanwhile
            if parent == pid and b"resource_tracker" in command:
                return int(stat.parent.name)
        time.sleep(0.1)
    pytest.fail(f"the sweep started no resource tracker (exit {process.poll()}: {process.stderr.read() if process.stderr else ''})")


@pytest.mark.slow
def test_a_killed_resource_tracker_leaves_the_sweep_quiet_and_whole(data_dir: Path, tmp_path: Path) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("finds the tracker through /proc")
    runs, space = tmp_path / "runs", tmp_path / "S.toml"
    space.write_text("lr = { low = 1e-4, high = 1e-1, log = true }\n")
    command = sweep_command(data_dir, runs, space, "--trials", "3", "--workers", "2", "--pruner", "none", "--set", "epochs=8",
                            *LONG_TRIALS)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path)
    try:
        tracker = resource_tracker_of(process, time.time() + 120)
        victim = running_trial(runs, "smoke-S", time.time() + 120, process)
        os.kill(tracker, signal.SIGKILL)
        os.kill(victim["attrs"]["pid"], signal.SIGKILL)  # its replacement starts with the tracker gone
        out, err = process.communicate(timeout=300)  # and the tracker's output, which outlives the command
    finally:
        process.kill()
    assert process.returncode == 0, err
    for noise in ("Traceback", "KeyError", "resource_tracker", "leak"):
        assert noise not in err, err
    assert f"worker process {victim['attrs']['pid']} died" in out
    states = sorted(t["state"] for t in load_trials(journal(runs), "smoke-S")["trials"])
    assert states == ["COMPLETE", "COMPLETE", "COMPLETE", "FAIL"]  # the count ran, the killed worker's trial failed


TRACKER_UNDER_THE_DASHBOARD = """
import io, os, signal, sys, time
from multiprocessing import resource_tracker
from mnist_tui.engine.presets import load_preset
from mnist_tui.engine.space import space_from_mapping
from mnist_tui.sweep_workers import Plan, Workers

base = load_preset("smoke")
space = space_from_mapping({"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, base, source="S.toml")
plan = Plan(storage=None, runs_dir="runs", study="s", base=base, preset="smoke", space=space, pruner="none",
            data_dir=None, trials=0, deadline=None, threads=1, session="x")
workers = Workers(plan, 2)  # its shared lock starts the tracker


class Capture(io.StringIO):
    def fileno(self) -> int:
        return -1  # as Textual's capture of stderr says


os.kill(resource_tracker._resource_tracker._pid, signal.SIGKILL)
time.sleep(0.2)
terminal, sys.stderr = sys.stderr, Capture()
workers.keep_tracked()  # the feed thread's poll, while the dashboard runs
sys.stderr = terminal
workers.close()
print("closed", flush=True)
"""


def test_a_killed_resource_tracker_is_started_again_under_the_dashboard(tmp_path: Path) -> None:
    """The dashboard's stderr has no file descriptor: starting a new tracker failed in the feed thread,
    which froze the Sweep view, and the one started at exit printed a KeyError traceback."""
    result = subprocess.run([sys.executable, "-c", TRACKER_UNDER_THE_DASHBOARD], capture_output=True, text=True,
                            timeout=120, env=cli_env(), cwd=tmp_path)  # the tracker's own output included
    assert (result.returncode, result.stdout, result.stderr) == (0, "closed\n", "")
