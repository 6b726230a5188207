"""``mnist-tui runs``: the run folders under a runs folder, newest first, from their summaries alone."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Sequence

from .engine.catalog import RunEntry, list_runs
from .exit_codes import USAGE
from .table import print_table

HEADERS = ("run", "name", "preset", "state", "epochs", "final %", "best %", "training", "device", "started")
NUMBERS = frozenset({4, 5, 6, 7})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui runs",
        description="List the run folders under --runs-dir, newest first (read from each summary.json).",
    )
    parser.add_argument("--runs-dir", metavar="DIR", default="runs", help="the runs folder (default: ./runs)")
    parser.add_argument("--json", action="store_true", help="one JSON object per run and line")
    return parser


def main(argv: Sequence[str]) -> int:
    """Print the runs; a runs folder that does not exist is a usage error."""
    args = build_parser().parse_args(argv)
    try:
        entries = list_runs(args.runs_dir)
    except FileNotFoundError:
        print(f"mnist-tui runs: error: runs folder {args.runs_dir} does not exist", file=sys.stderr)
        return USAGE
    except NotADirectoryError:
        print(f"mnist-tui runs: error: {args.runs_dir} is not a folder", file=sys.stderr)
        return USAGE
    except OSError as error:
        print(f"mnist-tui runs: error: cannot read {args.runs_dir}: {error.strerror or error}", file=sys.stderr)
        return USAGE
    if args.json:
        for entry in entries:
            print(json.dumps(entry.to_dict()))
        return 0
    if not entries:
        print(f"no runs in {args.runs_dir}", file=sys.stderr)
        return 0
    rows = [row(entry) for entry in entries]
    if any(entry.damage for entry in entries):
        print_table((*HEADERS, "damage"), [(*r, entry.damage or "") for r, entry in zip(rows, entries)], right=NUMBERS)
    else:
        print_table(HEADERS, rows, right=NUMBERS)
    return 0


def row(entry: RunEntry) -> tuple[str, ...]:
    """The listing's cells for one run."""
    return (
        entry.run,
        entry.get("name") or "",
        entry.get("preset") or "",
        entry.state,
        epochs_text(entry),
        percent(entry.get("final_test_accuracy")),
        percent(entry.get("best_test_accuracy")),
        duration(entry.get("train_seconds")),
        entry.get("device") or "",
        started_text(entry),
    )


def epochs_text(entry: RunEntry) -> str:
    done, total = entry.get("epochs_completed"), entry.get("epochs")
    if done is None:
        return ""
    return f"{done}/{total}" if total is not None else str(done)


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def duration(seconds: float | None) -> str:
    """Seconds as 42.0s, 3m05s or 2h04m."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def started_text(entry: RunEntry) -> str:
    """The start in local time to the minute (the folder's time for a damaged run without a summary)."""
    if not entry.when:
        return ""
    return datetime.fromtimestamp(entry.when).strftime("%Y-%m-%d %H:%M")
