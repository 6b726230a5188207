"""``mnist-tui runs``: the run folders under a runs folder, newest first, from their summaries alone."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Sequence

from .engine.catalog import COLUMNS, list_runs, row_cells
from .exit_codes import USAGE
from .table import on_terminal, print_table



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
    columns = [(key, header, right) for key, header, right in COLUMNS if key != "damage" or any(e.damage for e in entries)]
    cells = [row_cells(entry) for entry in entries]
    if on_terminal():  # a narrow one drops the columns a person misses least, rather than cut every one
        width = shutil.get_terminal_size().columns
        for key in DROPPED_FIRST:
            if _table_width(columns, cells) <= width:
                break
            columns = [column for column in columns if column[0] != key]
    rows = [[row[key] for key, _, _ in columns] for row in cells]
    right = frozenset(index for index, (_, _, is_number) in enumerate(columns) if is_number)
    print_table([header for _, header, _ in columns], rows, right=right, whole=frozenset({0}))  # the run's folder name
    return 0


DROPPED_FIRST = ("preset", "name", "device", "time", "date")
"""Columns left out, in this order, while the table is wider than the terminal."""


def _table_width(columns: list[tuple[str, str, bool]], cells: list[dict[str, str]]) -> int:
    """Rich's width for these columns' widest cells: each column padded by one cell a side, and its rule."""
    widths = [max([len(header)] + [len(str(row[key])) for row in cells]) for key, header, _ in columns]
    return sum(widths) + 3 * len(widths) + 1
