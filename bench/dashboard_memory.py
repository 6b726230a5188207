"""The dashboard's memory over a long run: resident size after epoch 30 and after epoch 300.

The real ``mnist-tui --preset smoke --epochs 300`` in tmux at 120x40 (the same terminal as
``dashboard_speed.py``), its resident set size (``VmRSS``) read from /proc when the run folder's
summary says epoch 30 and epoch 300 are done. Everything the dashboard keeps per run is bounded
(decimated loss curves, the latest epochs' inspections), so the two should be within 10 %.

    .venv/bin/python bench/dashboard_memory.py                 # 300 epochs, sizes at 30 and 300
    .venv/bin/python bench/dashboard_memory.py --epochs 100 --early 10
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from dashboard_speed import COMMAND, DEFAULT_DATA_DIR, Tmux, child_of, environment  # bench/, on sys.path


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for process {pid}")


def epochs_done(runs: Path) -> int:
    folders = [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []
    if not folders:
        return 0
    try:
        return int(json.loads((folders[0] / "summary.json").read_text(encoding="utf-8"))["epochs_completed"])
    except (OSError, ValueError, KeyError):
        return 0  # being replaced right now, or not written yet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--early", type=int, default=30, help="the epoch whose size is the reference")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MNIST_TUI_DATA") or DEFAULT_DATA_DIR))
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mnist-tui-memory-") as work:
        runs = Path(work) / "runs"
        argv = [str(COMMAND), "--preset", "smoke", "--epochs", str(args.epochs), "--device", "cpu",
                "--data-dir", str(args.data_dir), "--runs-dir", str(runs)]
        tmux = Tmux(environment(None), Path(work))
        sizes: dict[int, float] = {}
        try:
            tmux("send-keys", "-l", f"{shlex.join(argv)}; echo EXIT:$?")
            tmux("send-keys", "Enter")
            shell = int(tmux("display-message", "-p", "#{pane_pid}"))
            deadline = time.monotonic() + args.timeout
            app = None
            while time.monotonic() < deadline and len(sizes) < 2:
                app = app or child_of(shell)
                done = epochs_done(runs)
                for mark in (args.early, args.epochs):
                    if app and done >= mark and mark not in sizes:
                        sizes[mark] = resident_mib(app)
                        print(f"after epoch {done} (mark {mark}): {sizes[mark]:.1f} MiB resident", flush=True)
                time.sleep(0.2)
            screen = tmux("capture-pane", "-p")
            tmux("send-keys", "q")
        finally:
            time.sleep(1)
            tmux.close()
    if len(sizes) < 2:
        print(f"timed out; the screen:\n{screen}", file=sys.stderr)
        return 1
    early, late = sizes[args.early], sizes[args.epochs]
    print(f"resident size: {early:.1f} MiB after epoch {args.early}, {late:.1f} MiB after epoch {args.epochs}: "
          f"{late / early:.3f}x (target: within 10 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
