"""Two ``mnist-tui sweep`` commands share one study in a real PostgreSQL server on loopback.

The test starts its own server (Debian's PostgreSQL binaries, as the ``postgres`` user when run
as root, in a temporary data folder) and stops it afterwards. It skips only where no server can
be started: no PostgreSQL binaries, or initdb or pg_ctl failing here.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import cli_env

optuna = pytest.importorskip("optuna")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[tuple[str, Callable[[], None]]]:
    """A fresh PostgreSQL server on 127.0.0.1 and a free port: its URL, and a function that stops it now."""
    pytest.importorskip("psycopg", reason="the postgres extra is not installed (pip install 'mnist-tui[postgres]')")
    binaries = _binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql")
    folder = Path(tempfile.mkdtemp(prefix="mnist-tui-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)

    started = run(str(binaries / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data))
    if started.returncode == 0:
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        started = run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot start a PostgreSQL server here: {(started.stderr or started.stdout).strip()[:300]}")

    def stop() -> None:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")

    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", stop
    finally:
        stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A server for this module's tests."""
    with postgres_server() as (url, _):
        yield url


@pytest.mark.slow
def test_two_commands_share_one_study(postgres_url: str, data_dir: Path, tmp_path: Path) -> None:
    space = tmp_path / "S.toml"
    space.write_text('lr = { low = 1e-4, high = 1e-1, log = true }\nhidden = { choices = [[16], [32, 16]] }\n')

    def command(runs: str) -> list[str]:
        return [
            sys.executable, "-m", "mnist_tui", "sweep", "--no-ui", "--preset", "smoke", "--space", str(space),
            "--storage", postgres_url, "--study", "shared", "--trials", "4", "--workers", "1",
            "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / runs),
            "--set", "train_limit=300", "--set", "eval_limit=200", "--set", "epochs=2", "--set", "device=cpu",
        ]

    # Both at once, like two machines pointed at one database (each with its own runs folder).
    first = subprocess.Popen(command("a"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path)
    second = subprocess.Popen(command("b"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path)
    outputs = [process.communicate(timeout=400) for process in (first, second)]
    assert first.returncode == 0, outputs[0][1]
    assert second.returncode == 0, outputs[1][1]

    study = optuna.load_study(study_name="shared", storage=postgres_url)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(8))  # 0-7, none twice
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    sessions = {t.user_attrs["session"] for t in trials}
    assert len(sessions) == 2 and all(
        sum(t.user_attrs["session"] == s for t in trials) == 4 for s in sessions
    )  # each command ran its four
    by_folder = {runs: sorted(p.name for p in (tmp_path / runs).iterdir() if p.is_dir()) for runs in "ab"}
    assert len(by_folder["a"]) == len(by_folder["b"]) == 4
    numbers = sorted(int(name.split("-t")[1][:4]) for names in by_folder.values() for name in names)
    assert numbers == list(range(8))
    for out, _ in outputs:
        assert "this command ran 4" in out


@pytest.mark.slow
def test_a_server_that_goes_down_mid_sweep_stops_it_in_one_line(data_dir: Path, tmp_path: Path) -> None:
    """The parent and every worker printed ~700 lines of tracebacks and exited 1 with no word of why."""
    space = tmp_path / "S.toml"
    space.write_text("lr = { low = 1e-4, high = 1e-1, log = true }\n")
    with postgres_server() as (url, stop):
        sweep = subprocess.Popen(
            [sys.executable, "-m", "mnist_tui", "sweep", "--no-ui", "--preset", "smoke", "--space", str(space),
             "--storage", url, "--study", "down", "--trials", "6", "--workers", "1", "--data-dir", str(data_dir),
             "--runs-dir", str(tmp_path / "runs"), "--set", "epochs=20", "--set", "device=cpu"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path,
        )
        wait_for_training(tmp_path / "runs", 1, 120)
        stop()
        out, err = sweep.communicate(timeout=180)
    assert sweep.returncode == 1, err
    assert "Traceback" not in err + out
    assert "mnist-tui sweep: error: lost the storage postgresql://postgres@127.0.0.1:" in err
    assert "invalid data" not in err  # Optuna's guess, not what happened
    assert err.rstrip().endswith("run the same command again once it answers, to go on with the study")


def wait_for_training(runs: Path, trials: int, timeout: float) -> None:
    """Until ``trials`` trials' logs hold a batch report (they train), else fail."""
    deadline = time.monotonic() + timeout
    while sum('"event":"batch"' in log.read_text() for log in runs.glob("down-t*/events.jsonl")) < trials:
        assert time.monotonic() < deadline, f"{trials} trial(s) not training within {timeout:g} s"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_trials_running_when_the_server_goes_down_end_checkpointed_and_resumable(
    data_dir: Path, tmp_path: Path, stop_after: Callable[[int], object]
) -> None:
    """They were left mid-epoch: the summary said "running" (listed as interrupted), the epoch since the last checkpoint lost."""
    from mnist_tui.engine.train import resume_training
    from mnist_tui.sweep import build_parser

    space = tmp_path / "S.toml"
    space.write_text("lr = { low = 1e-4, high = 1e-1, log = true }\n")
    runs = tmp_path / "runs"
    with postgres_server() as (url, stop):
        url = url.replace("postgres@", "postgres:hunter2@")  # the server trusts loopback: the password is only shown
        sweep = subprocess.Popen(
            [sys.executable, "-m", "mnist_tui", "sweep", "--no-ui", "--preset", "smoke", "--space", str(space),
             "--storage", url, "--study", "down", "--trials", "6", "--workers", "2", "--data-dir", str(data_dir),
             "--runs-dir", str(runs), "--set", "epochs=100", "--set", "device=cpu", "--pruner", "none"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path,
        )
        wait_for_training(runs, 2, 180)
        stop()
        out, err = sweep.communicate(timeout=180)
    assert sweep.returncode == 1, err
    assert "the storage was lost mid-sweep" in " ".join(build_parser().format_help().split())
    assert "Traceback" not in out + err and "hunter2" not in out + err
    assert err.count("\n") == 1 and err.startswith("mnist-tui sweep: error: lost the storage postgresql://postgres:***@127.0.0.1:")
    assert "each running trial stopped with a checkpoint in its run folder" in err
    folders = sorted(p for p in runs.iterdir() if p.is_dir())
    assert len(folders) == 2  # 100 epochs: neither trial had ended
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "stopped", summary
        assert summary["sweep"]["outcome"] == "storage lost" and summary["sweep"]["state"] == "failed"
        assert summary["error"].startswith("the sweep lost its storage postgresql://postgres:***@127.0.0.1:")
        events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
        stopped, checkpoint = events[-1], events[-2]
        assert stopped["event"] == "stopped" and checkpoint["event"] == "checkpoint" and checkpoint["which"] == "last"
        assert checkpoint["step"] == stopped["step"]  # checkpointed where it stopped
        resumed = list(resume_training(folder, data_dir=data_dir, stop=stop_after(10)))  # a few batches on
        assert resumed[0].start_step == stopped["step"] - 32 * stopped["epochs_completed"]  # 32 batches an epoch
        assert resumed[0].start_epoch == stopped["epochs_completed"] and resumed[-1].status == "stopped"
