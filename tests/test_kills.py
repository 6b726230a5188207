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
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch

from conftest import cli_env

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

    def start(self, *args: str | Path, cwd: Path, fault: tuple[str, str] | None = None) -> int:
        """Start a run; returns its pid (call :meth:`wait` next)."""
        self.count += 1
        self.output = self.home / f"run-{self.count}"
        request = {"fault": fault, "args": [str(a) for a in args], "cwd": str(cwd), "output": str(self.output)}
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

    def run(self, *args: str | Path, cwd: Path, fault: tuple[str, str] | None = None) -> Ran:
        self.start(*args, cwd=cwd, fault=fault)
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
    if fault[0] == "kill-in-write":
        assert [p.name for p in run.iterdir() if p.name.startswith(".last.pt.")], "the kill left a temporary file"

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
