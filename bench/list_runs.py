"""Listing 1,000 run folders: ``list_runs`` in-process and ``mnist-tui runs`` end to end, with its budget of 1 s.

Each synthetic folder holds what a real run leaves (config, a summary as the engine writes it, an
event log, checkpoints' names); the event logs are 200 kB each, so reading them would show.

    .venv/bin/python bench/list_runs.py [--runs 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_model

from mnist_tui.engine.catalog import list_runs
from mnist_tui.engine.config import Config
from mnist_tui.engine.presets import config_to_toml

BUDGET_SECONDS = 1.0
STATES = ("finished", "finished", "finished", "stopped", "running", "diverged", "failed")


def make_runs(root: Path, count: int) -> None:
    """``count`` run folders, one in fifty damaged (no summary, or a corrupt one)."""
    log = (json.dumps({"event": "batch", "loss": 0.5, "lr": 0.001}, separators=(",", ":")) + "\n") * 4000
    config = config_to_toml(Config(name="synthetic"))
    for number in range(count):
        folder = root / f"synthetic-20261123-{number:06d}-{number % 65536:04x}"
        folder.mkdir()
        (folder / "config.toml").write_text(config)
        (folder / "events.jsonl").write_text(log)
        if number % 50 == 7:
            continue  # damaged: no summary.json
        summary = {
            "name": "synthetic", "preset": "relu-adam-500" if number % 2 else None,
            "started": f"2026-11-{1 + number % 28:02d}T{number % 24:02d}:00:00+00:00",
            "status": STATES[number % len(STATES)], "epochs": 10, "final_test_accuracy": 90 + number % 10 / 10,
            "best_test_accuracy": 91.0, "best_epoch": 3, "epochs_completed": number % 11, "train_seconds": 12.5,
            "eval_seconds": 0.5, "evaluated_on": "test set", "device": "cpu", "error": None,
            "versions": {"mnist_tui": "0.1.0", "python": "3.11", "torch": "2.14", "torchvision": "0.29"},
        }
        text = json.dumps(summary, indent=2) + "\n"
        (folder / "summary.json").write_text(text[:40] if number % 50 == 21 else text)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        make_runs(root, args.runs)
        entries = list_runs(root)
        damaged = sum(1 for e in entries if e.damage)
        print(f"{len(entries)} run folders ({damaged} damaged), 200 kB event log each, files in the page cache")
        inside = [timed(lambda: list_runs(root)) for _ in range(args.repeats)]
        command = [sys.executable, "-m", "mnist_tui", "runs", "--runs-dir", str(root)]
        whole = [timed(lambda: subprocess.run(command, stdout=subprocess.DEVNULL, check=True)) for _ in range(args.repeats)]
        start_only = [
            timed(lambda: subprocess.run([*command[:3], "--version"], stdout=subprocess.DEVNULL, check=True))
            for _ in range(args.repeats)
        ]
    listing, command_time, startup = (statistics.median(t) for t in (inside, whole, start_only))
    print(f"list_runs in-process:      median {listing * 1000:7.1f} ms over {args.repeats} (min {min(inside) * 1000:.1f})")
    print(f"mnist-tui runs, end to end: median {command_time * 1000:7.1f} ms (of which starting Python and the CLI: {startup * 1000:.1f} ms)")
    print(f"budget {BUDGET_SECONDS:.1f} s: listing takes {listing / BUDGET_SECONDS:.1%} of it, the whole command {command_time / BUDGET_SECONDS:.1%}")
    return 0 if command_time <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
