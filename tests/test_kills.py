"""Nothing lost: the real command killed at chosen moments, a full disk, and two writers of one run.

Every run here is the smoke preset cut to 640 digits (10 steps an epoch, a report every 5) for
3 epochs, on the CPU, so a run takes seconds. ``faults.py`` runs the command with a SIGKILL (or
SIGSTOP) of itself at an exact moment: right after a given line of ``events.jsonl``, or inside
the atomic write of a checkpoint. The moments are chosen from an uninterrupted run's own log.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch

from conftest import cli_env
from mnist_tui.engine.catalog import list_runs, read_entry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
]

FAULTS = Path(__file__).with_name("faults.py")
RUN = ("--no-ui", "--preset", "smoke", "--epochs", "3", "--set", "train_limit=640", "--set", "eval_limit=500", "--device", "cpu")


@dataclass
class Ran:
    """A finished run of the command: its exit code (negative: the signal that killed it) and output."""

    returncode: int
    stdout: str
    stderr: str


class ForkServer:
    """``faults.py serve``: runs of the command forked from one process that imported it once."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.count = 0
        self.process = subprocess.Popen(
            [sys.executable, str(FAULTS), "serve"], cwd=home, env=cli_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def start(
        self, *args: str | Path, cwd: Path, fault: tuple[str, str] | None = None, env: dict[str, str] | None = None
    ) -> int:
        """Start a run (``env``: variables set for it alone); returns its pid (call :meth:`wait` next)."""
        self.count += 1
        self.output = self.home / f"run-{self.count}"
        request = {
            "fault": fault, "args": [str(a) for a in args], "cwd": str(cwd), "output": str(self.output), "env": env or {},
        }
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())["pid"]

    def wait(self) -> Ran:
        assert self.process.stdout
        line = self.process.stdout.readline()
        assert line, "the fork server died"
        code = json.loads(line)["code"]
        return Ran(code, Path(f"{self.output}.out").read_text(), Path(f"{self.output}.err").read_text())

    def run(
        self, *args: str | Path, cwd: Path, fault: tuple[str, str] | None = None, env: dict[str, str] | None = None
    ) -> Ran:
        self.start(*args, cwd=cwd, fault=fault, env=env)
        return self.wait()

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    server = ForkServer(tmp_path_factory.mktemp("forks"))
    yield server
    server.close()


def mnist_tui(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real command as a fresh process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "mnist_tui", *map(str, args)],
        cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout,
    )


def only_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


def log_lines(run: Path) -> list[dict]:
    text = (run / "events.jsonl").read_text(encoding="utf-8")
    assert text.endswith("\n"), "no half-written last line"
    return [json.loads(line) for line in text.splitlines()]


def kinds(run: Path) -> list[str]:
    return [f"{e['event']}:{e['which']}" if e["event"] == "checkpoint" else e["event"] for e in log_lines(run)]


def best_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "best.pt", map_location="cpu", weights_only=True)["model"]


def outcome(run: Path) -> tuple:
    """What must not change with interruptions: accuracies, best epoch, epochs."""
    summary = json.loads((run / "summary.json").read_text())
    return (
        summary["status"], summary["final_test_accuracy"], summary["best_test_accuracy"],
        summary["best_epoch"], summary["epochs_completed"],
    )


def assert_same_as_reference(run: Path, reference: Path) -> None:
    assert outcome(run) == outcome(reference)
    assert json.loads((run / "summary.json").read_text())["train_seconds"] > 0
    mine, theirs = best_weights(run), best_weights(reference)
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    best = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    assert best["epoch"] == outcome(run)[3], "best.pt holds the best epoch's weights"
    epochs = [e["epoch"] for e in log_lines(run) if e["event"] == "epoch"]
    assert epochs == [1, 2, 3], "each epoch logged once"
    reference_epochs = [e for e in log_lines(reference) if e["event"] == "epoch"]
    numbers = lambda e: {k: v for k, v in e.items() if k not in ("run_id", "seconds", "eval_seconds")}  # noqa: E731
    assert [numbers(e) for e in log_lines(run) if e["event"] == "epoch"] == [numbers(e) for e in reference_epochs]
    assert not [p.name for p in run.iterdir() if p.name.endswith((".tmp", ".next"))], "no leftover temporary file"


@pytest.fixture(scope="module")
def reference(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run every interrupted one must match (the real command, a fresh process)."""
    home = tmp_path_factory.mktemp("reference")
    done = mnist_tui(*RUN, "--data-dir", data_dir, "--runs-dir", home / "runs", cwd=home)
    assert done.returncode == 0, done.stderr
    return only_run(home / "runs")


def line_after(reference: Path, wanted: str, nth: int = 1) -> int:
    """The 1-based number of the reference log's ``nth`` line of kind ``wanted``."""
    found = [number for number, kind in enumerate(kinds(reference), 1) if kind == wanted]
    return found[nth - 1]


MOMENTS: dict[str, Callable[[Path], tuple[str, str]]] = {
    "after run_started (no checkpoint yet)": lambda r: ("kill-after-line", "1"),
    "after the first gallery (no checkpoint yet)": lambda r: ("kill-after-line", "2"),
    "after the checkpoint before training": lambda r: ("kill-after-line", str(line_after(r, "checkpoint:last"))),
    "after the first report": lambda r: ("kill-after-line", str(line_after(r, "batch"))),
    "right after epoch 1's line": lambda r: ("kill-after-line", str(line_after(r, "epoch"))),
    "after epoch 1's gallery, before its checkpoint": lambda r: ("kill-after-line", str(line_after(r, "epoch") + 1)),
    # The first write of last.pt is the checkpoint before training; the second is epoch 1's.
    "inside the write of epoch 1's last.pt": lambda r: ("kill-in-write", "last.pt#2"),
    "after epoch 1's last.pt, before best.pt takes its weights": lambda r: ("kill-in-write", "best.pt#1"),
    "mid epoch 2": lambda r: ("kill-after-line", str(line_after(r, "batch", 3))),
    "right after epoch 2's line": lambda r: ("kill-after-line", str(line_after(r, "epoch", 2))),
    "after the last checkpoint, before the finish": lambda r: ("kill-after-line", str(line_after(r, "checkpoint:last", 4))),
    "after the finish": lambda r: ("kill-after-line", str(len(kinds(r)))),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_run_killed_at_any_moment_resumes_to_the_same_end(
    moment: str, reference: Path, forks: ForkServer, data_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    fault = MOMENTS[moment](reference)
    killed = forks.run(*RUN, "--data-dir", data_dir, "--runs-dir", runs, cwd=tmp_path, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = only_run(runs)
    if fault == ("kill-in-write", "last.pt#2"):
        assert [p.name for p in run.iterdir() if p.name.startswith(".last.pt.")], "the kill left a temporary file"
    if fault == ("kill-in-write", "best.pt#1"):
        assert (run / "best.pt.next").is_file() and not (run / "best.pt").exists()

    resumed = forks.run("--no-ui", "--resume", run, "--data-dir", data_dir, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert_same_as_reference(run, reference)
    # The log is one story: a session starts with run_started, and what it logged after its last
    # checkpoint is gone (a kill mid-epoch leaves no report of the batches it retrains).
    logged = kinds(run)
    assert logged[-1] == "finished" and logged.count("finished") == 1
    steps = [e["step"] for e in log_lines(run) if e["event"] == "batch"]
    assert steps == sorted(set(steps)), "no report logged twice"


EARLY_MOMENTS = {
    "as soon as its folder is in place": ("kill-after-write", "smoke-*#1"),
    "after run_started": ("kill-after-line", "1"),
    "inside the write of the first last.pt": ("kill-in-write", "last.pt#1"),
}


@pytest.mark.parametrize("moment", list(EARLY_MOMENTS))
def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_data_folder_it_named(
    moment: str, reference: Path, forks: ForkServer, data_dir: Path, tmp_path: Path
) -> None:
    """A plain ``--resume`` of such a run read the default data folder: the log's run_started,
    which a resume drops without a checkpoint, was its only record of ``--data-dir`` (or it had
    none yet). Its default folder here is a file, so reading from there fails at once, offline."""
    runs = tmp_path / "runs"
    killed = forks.run(*RUN, "--data-dir", data_dir, "--runs-dir", runs, cwd=tmp_path, fault=EARLY_MOMENTS[moment])
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = only_run(runs)
    assert not (run / "last.pt").exists()
    listed = read_entry(run)
    assert (listed.state, listed.damage, listed.get("epochs_completed")) == ("interrupted", None, 0)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist-tui").write_text("not the data folder")
    resumed = forks.run("--no-ui", "--resume", run, cwd=tmp_path, env={"XDG_CACHE_HOME": str(cache)})
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(run, reference)


def test_a_run_killed_while_its_folder_is_made_leaves_no_run_folder(forks: ForkServer, data_dir: Path, tmp_path: Path) -> None:
    """A folder appeared empty and then got its files one by one: killed in between, it listed as
    damaged, and a resume found no config. It is made under a hidden name, then renamed whole."""
    runs = tmp_path / "runs"
    killed = forks.run(*RUN, "--data-dir", data_dir, "--runs-dir", runs, cwd=tmp_path, fault=("kill-after-write", "config.toml#1"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list_runs(runs) == []


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount tmpfs file systems of a given size (skips where mounting is not permitted)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk-{len(mounted)}"
        point.mkdir()
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True, capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip("no mount command: the full-disk tests need a small tmpfs")
        except subprocess.CalledProcessError as error:
            pytest.skip(f"cannot mount a tmpfs here ({error.stderr.strip() or error.returncode}): the full-disk tests need one")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk has not one byte left; returns it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(bytes(chunk))
            except OSError as error:
                assert error.errno == errno.ENOSPC
    return filler


def wait_stopped(pid: int, timeout: float = 120) -> None:
    """Wait until ``pid`` has stopped itself (SIGSTOP)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, f"process {pid} did not stop"
        time.sleep(0.05)


def assert_one_clean_line(ran: Ran, *needles: str) -> str:
    assert "Traceback" not in ran.stdout + ran.stderr
    lines = ran.stderr.splitlines()
    assert len(lines) == 1, ran.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="watches the process in /proc (Linux)")
def test_a_disk_that_fills_after_the_first_checkpoint_fails_cleanly_and_resumes(
    small_disk, reference: Path, forks: ForkServer, data_dir: Path, tmp_path: Path
) -> None:
    disk = small_disk("8m")
    first_checkpoint = str(line_after(reference, "checkpoint:last"))
    pid = forks.start(*RUN, "--data-dir", data_dir, "--runs-dir", disk / "runs", cwd=tmp_path, fault=("stop-after-line", first_checkpoint))
    wait_stopped(pid)
    filler = fill(disk)
    os.kill(pid, signal.SIGCONT)
    failed = forks.wait()

    run = only_run(disk / "runs")
    assert failed.returncode == 1
    line = assert_one_clean_line(failed, "mnist-tui: error: cannot write ", str(run), "No space left on device")
    print(line)
    assert f"mnist-tui --resume {run}" in line
    # The failure is recorded whole (the reserve gave room for it); the checkpoint is the one before training.
    logged = log_lines(run)
    assert logged[-1]["event"] == "failed" and logged[-1]["reason"] == "write"
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("failed", 0)
    assert torch.load(run / "last.pt", weights_only=True)["global_step"] == 0

    filler.unlink()
    resumed = forks.run("--no-ui", "--resume", run, "--data-dir", data_dir, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(run, reference)


def test_a_runs_folder_of_16_kb_fails_with_one_line(small_disk, forks: ForkServer, data_dir: Path, tmp_path: Path) -> None:
    disk = small_disk("16k")
    failed = forks.run(*RUN, "--data-dir", data_dir, "--runs-dir", disk / "runs", cwd=tmp_path)
    line = assert_one_clean_line(failed, "mnist-tui: error: ", str(disk / "runs"), "No space left on device")
    print(failed.returncode, line)
    assert failed.returncode == 1
    for run in (disk / "runs").iterdir():
        if (run / "events.jsonl").exists():
            log_lines(run)  # whole lines only


# --- one writer per run folder ----------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="watches the process in /proc (Linux)")
def test_a_second_resume_of_a_folder_in_use_is_refused_with_the_holders_pid(
    forks: ForkServer, data_dir: Path, tmp_path: Path
) -> None:
    one_epoch = [*RUN[: RUN.index("--epochs")], "--epochs", "1", *RUN[RUN.index("--epochs") + 2 :]]
    assert forks.run(*one_epoch, "--data-dir", data_dir, "--runs-dir", tmp_path / "runs", cwd=tmp_path).returncode == 0
    run = only_run(tmp_path / "runs")

    holder = forks.start("--no-ui", "--resume", run, "--epochs", "3", "--data-dir", data_dir, cwd=tmp_path, fault=("stop-after-line", "1"))
    wait_stopped(holder)  # it holds the lock, stopped right after its run_started line
    files = lambda: {p.name: p.read_bytes() for p in run.iterdir()}  # noqa: E731
    before = files()
    second = mnist_tui("--no-ui", "--resume", run, "--data-dir", data_dir, cwd=tmp_path)
    assert second.returncode == 2
    assert_one_clean_line(Ran(second.returncode, second.stdout, second.stderr), f"run folder {run} is being written by process {holder}")
    assert files() == before, "the refused resume changed nothing"
    # Steering is not writing the run: another process can still append to its command file.
    with open(run / "commands.jsonl", "a", encoding="utf-8") as commands:
        commands.write(json.dumps({"id": "from-a-test", "command": "set", "values": {"lr": 0.003}, "time": 0.0}) + "\n")

    os.kill(holder, signal.SIGCONT)
    resumed = forks.wait()
    assert resumed.returncode == 0, resumed.stderr
    assert [e["epoch"] for e in log_lines(run) if e["event"] == "epoch"] == [1, 2, 3]


def test_resuming_on_a_read_only_file_system_is_a_clear_error(
    small_disk, forks: ForkServer, data_dir: Path, tmp_path: Path
) -> None:
    disk = small_disk("8m")
    one_epoch = [*RUN[: RUN.index("--epochs")], "--epochs", "1", *RUN[RUN.index("--epochs") + 2 :]]
    assert forks.run(*one_epoch, "--data-dir", data_dir, "--runs-dir", disk / "runs", cwd=tmp_path).returncode == 0
    run = only_run(disk / "runs")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    for more in ((), ("--epochs", "3")):
        refused = forks.run("--no-ui", "--resume", run, *more, "--data-dir", data_dir, cwd=tmp_path)
        assert refused.returncode == 2
        assert_one_clean_line(refused, f"run folder {run} cannot be written (Read-only file system)")
