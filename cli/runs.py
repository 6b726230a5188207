"""``mnist-tui runs``: the run folders under a runs folder, newest first, from their summaries alone."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Sequence

from .command import RUNS_DIR
from .engine.catalog import holds_no_run, list_runs
from .engine.run_rows import COLUMNS, row_cells
from .exit_codes import USAGE
from .table import cell_len, on_terminal, print_table, printable, shorten_middle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui runs",
        description="List the run folders under --runs-dir, newest first (read from each summary.json).",
        epilog=(
            f"exit codes: 0 listed (none too: an empty runs folder, or no ./{RUNS_DIR} yet), "
            "1 the output could not be written (a full disk, a closed stdout), "
            "2 a --runs-dir that does not exist, is a file or cannot be read, 141 output pipe closed"
        ),
    )
    parser.add_argument("--runs-dir", metavar="DIR", help=f"the runs folder (default: ./{RUNS_DIR})")
    parser.add_argument("--json", action="store_true", help="one JSON object per run and line")
    return parser


def main(argv: Sequence[str]) -> int:
    """Print the runs; a --runs-dir that does not exist is a usage error (a mistyped name, most
    likely), while no ./runs yet is no runs yet (nothing was trained here)."""
    args = build_parser().parse_args(argv)
    runs_dir = RUNS_DIR if args.runs_dir is None else args.runs_dir
    if not runs_dir.strip():  # "" would list the current folder
        print("mnist-tui runs: error: --runs-dir is empty; name a folder", file=sys.stderr)
        return USAGE
    try:
        entries = list_runs(runs_dir)
    except FileNotFoundError:
        if args.runs_dir is None:
            print(f"no runs yet in {runs_dir}: the first run makes it (train one with mnist-tui)", file=sys.stderr)
            return 0
        print(f"mnist-tui runs: error: runs folder {runs_dir} does not exist", file=sys.stderr)
        return USAGE
    except NotADirectoryError:
        print(f"mnist-tui runs: error: {runs_dir} is not a folder", file=sys.stderr)
        return USAGE
    except OSError as error:
        print(f"mnist-tui runs: error: cannot read {runs_dir}: {error.strerror or error}", file=sys.stderr)
        return USAGE
    if not entries and not holds_no_run(Path(runs_dir)):  # QA: a run's own folder said only "no runs in" it
        parent = shlex.quote(str(Path(runs_dir).resolve().parent))
        print(
            f"mnist-tui runs: error: {runs_dir} is a run folder, not a folder of runs: "
            f"mnist-tui runs --runs-dir {parent} lists it",
            file=sys.stderr,
        )
        return USAGE
    if args.json:
        for entry in entries:
            print(json.dumps(entry.to_dict()))
        return 0
    if not entries:
        print(f"no runs in {runs_dir}", file=sys.stderr)
        return 0
    columns = [(key, header, right) for key, header, right in COLUMNS if key != "damage" or any(e.damage for e in entries)]
    cells = [{key: printable(value) for key, value in row_cells(entry).items()} for entry in entries]
    if on_terminal():  # a narrow one leaves out the columns a person misses least, rather than cut every one
        columns, cells = fit_columns(columns, cells, shutil.get_terminal_size().columns)
    rows = [[row[key] for key, _, _ in columns] for row in cells]
    right = frozenset(index for index, (_, _, is_number) in enumerate(columns) if is_number)
    whole = frozenset(index for index, (key, _, _) in enumerate(columns) if key != "damage")  # only reasons wrap
    print_table([header for _, header, _ in columns], rows, right=right, whole=whole)
    return 0


Column = tuple[str, str, bool]
DROPPED_FIRST = ("preset", "name", "device", "time", "date", "damage")
"""Columns left out, in this order, while the table is wider than the terminal; then the run's
name is shortened in its middle."""
DROPPED_LAST = ("best", "epochs")
"""Columns left out, in this order, when what is left for the run's name is under ``RUN_SHORTEST``."""
RUN_SHORTEST = 12
"""The fewest cells a shortened run name keeps: a few letters of its start, and its end's time and
random suffix, which tell runs of one name apart (``smo…835-7546``)."""
DAMAGE_WIDTH = 20
"""The width the damage column is counted at: its reasons wrap into whatever the others leave."""


def fit_columns(columns: list[Column], cells: list[dict[str, str]], width: int) -> tuple[list[Column], list[dict[str, str]]]:
    """The columns and cells that fit ``width``: no value is ever cut (state, epochs, accuracies,
    times), so columns are left out, and a run name too long for what is left keeps its two ends."""
    for key in DROPPED_FIRST:
        if _table_width(columns, cells) <= width:
            return columns, cells
        columns = _without(columns, key)
    longest = max(cell_len(row["run"]) for row in cells)
    for key in (*DROPPED_LAST, None):
        room = _room_for_run(columns, cells, width)
        if room >= min(RUN_SHORTEST, longest) or key is None:
            break
        columns = _without(columns, key)
    return columns, [{**row, "run": shorten_middle(row["run"], max(room, 1))} for row in cells]


def _room_for_run(columns: list[Column], cells: list[dict[str, str]], width: int) -> int:
    """The cells the run column's names can take beside the other columns."""
    return width - _table_width(columns, [{**row, "run": ""} for row in cells]) + len("run")


def _without(columns: list[Column], key: str) -> list[Column]:
    return [column for column in columns if column[0] != key]


def _table_width(columns: list[Column], cells: list[dict[str, str]]) -> int:
    """Rich's width for these columns' widest cells: each column padded by one cell a side, and its rule."""
    widths = [_column_width(key, header, cells) for key, header, _ in columns]
    return sum(widths) + 3 * len(widths) + 1


def _column_width(key: str, header: str, cells: list[dict[str, str]]) -> int:
    widest = max([cell_len(header)] + [cell_len(row[key]) for row in cells])
    return min(DAMAGE_WIDTH, widest) if key == "damage" else widest
