"""``mnist-tui runs``: the run folders under a runs folder, newest first, from their summaries alone."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .engine.catalog import COLUMNS, list_runs, row_cells
from .exit_codes import USAGE
from .table import print_table

NUMBERS = frozenset(index for index, (_, _, right) in enumerate(COLUMNS) if right)


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
    columns = [(key, header) for key, header, _ in COLUMNS if key != "damage" or any(e.damage for e in entries)]
    rows = [[row_cells(entry)[key] for key, _ in columns] for entry in entries]
    print_table([header for _, header in columns], rows, right=NUMBERS)
    return 0
