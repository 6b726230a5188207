"""``mnist-tui watch RUN``: the dashboard's views on a run another process trains, steered from here.

The run may be a headless run, a sweep trial or a run on another machine writing to a shared
filesystem: this process only reads its ``events.jsonl`` and appends to its ``commands.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .engine.catalog import DamagedRun, look_up_run, read_config
from .exit_codes import FAILED, USAGE
from .table import printable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui watch",
        description=(
            "Follow a run that another process trains (its views as the dashboard shows them) and steer it: "
            "p pause/resume, n step, x stop, e new lr/momentum/weight_decay. Steering needs write access to the run folder."
        ),
        epilog=(
            "exit codes: 0 quit (q; the run followed goes on), 1 the dashboard failed, "
            "2 a missing or unusable run folder, or standard input that is no terminal, "
            "130 / 143 / 129 Ctrl+C / SIGTERM / closed terminal"
        ),
    )
    parser.add_argument("run", metavar="RUN", help="the run folder to follow, or a run's name under --runs-dir")
    parser.add_argument("--runs-dir", metavar="DIR", default="runs", help="where run names are looked up (default: ./runs)")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run the watcher until the user quits; a missing or unusable run folder is a usage error."""
    args = build_parser().parse_args(argv)
    if not args.runs_dir.strip():  # Path("") is the current folder: run names were looked up there
        print("mnist-tui watch: error: --runs-dir is empty; name a folder", file=sys.stderr)
        return USAGE
    folder, problem = look_up_run(args.run, Path(args.runs_dir))
    if problem is not None:
        print(f"mnist-tui watch: error: {printable(problem)}", file=sys.stderr)
        return USAGE
    try:
        config = read_config(folder)
    except DamagedRun as error:
        print(f"mnist-tui watch: error: {folder} is not a usable run folder: {error}", file=sys.stderr)
        return USAGE
    from .tui.hangup import NO_TERMINAL, stdin_is_terminal

    if not stdin_is_terminal():
        print(f"mnist-tui watch: error: {NO_TERMINAL}; follow the run's events.jsonl instead", file=sys.stderr)
        return USAGE
    from .tui.app import MnistApp
    from .tui.source import engine_source

    # The watcher never trains: the source is there because every app has one.
    source = engine_source(data_dir=None, runs_dir=folder.parent)
    app = MnistApp(config, source=source, runs_dir=folder.parent, watch=folder)
    code = app.run()
    if code is None:  # ended without a result: Textual has printed why
        return app.return_code or FAILED
    return code
