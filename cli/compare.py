"""``mnist-tui compare RUN RUN...``: where the runs' configurations differ, and their results side by side."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .engine import paths
from .engine.catalog import (
    DamagedRun,
    find_run,
    holds_no_run,
    is_interrupted,
    missing_run,
    not_a_run_folder,
    read_config,
    read_summary,
)
from .engine.epoch_log import read_epochs
from .engine.run_rows import (
    config_differences,
    format_duration,
    format_epochs,
    format_percent,
    format_value,
    started_of,
)
from .engine.config import Config
from .exit_codes import USAGE
from .runs import RUN_SHORTEST
from .table import cell_len, on_terminal, print_table, printable, shorten_middle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui compare",
        description="Show where the runs' configurations differ and their results side by side.",
        epilog=(
            "exit codes: 0 compared, 1 the output could not be written (a full disk, a closed stdout), "
            "2 fewer than two runs, or a run that is missing, no run folder or damaged, "
            "141 output pipe closed"
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="a run folder, or a run's name under --runs-dir")
    parser.add_argument("--runs-dir", metavar="DIR", default="runs", help="where run names are looked up (default: ./runs)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return parser


class Refused(Exception):
    """What the runs named cannot be compared for, as the one line of the error."""


@dataclass(frozen=True)
class Compared:
    """One run as compare shows it."""

    folder: Path
    config: Config
    summary: dict[str, Any]
    epochs: dict[int, float]
    """Each epoch's evaluation accuracy, by epoch number."""
    state: str
    """The summary's status, or "interrupted" where it says running but its writer is gone (as ``runs`` lists it)."""


def main(argv: Sequence[str]) -> int:
    """Print the comparison; a missing or damaged run is a usage error that names it."""
    args = build_parser().parse_args(argv)
    if len(args.runs) < 2:
        print("mnist-tui compare: error: name at least two runs", file=sys.stderr)
        return USAGE
    if not args.runs_dir.strip():  # Path("") is the current folder: run names were looked up there
        print("mnist-tui compare: error: --runs-dir is empty; name a folder", file=sys.stderr)
        return USAGE
    try:
        runs = read_runs(args.runs, Path(args.runs_dir))
    except Refused as error:  # a name as typed, escaped: a newline in it must not split the line
        print(f"mnist-tui compare: error: {printable(str(error))}", file=sys.stderr)
        return USAGE
    names = [run.folder.name for run in runs]
    if len(set(names)) < len(names):  # copies of one run in two places: their paths tell them apart
        names = [str(run.folder) for run in runs]
    differences = config_differences([run.config for run in runs])
    metrics = {label: [value(run) for run in runs] for label, value in METRICS.items()}
    numbers = sorted({n for run in runs for n in run.epochs})
    by_epoch = {f"epoch {n}": [run.epochs.get(n) for run in runs] for n in numbers}
    if args.json:
        metrics["started"] = [run.summary.get("started") for run in runs]  # as written: a program parses it
        print(json.dumps({"runs": names, "differences": differences, "metrics": metrics, "accuracy_by_epoch": by_epoch}))
        return 0
    config_rows = [(field, *(format_value(v) for v in values)) for field, values in differences.items()]
    result_rows = [(label, *(show(label, v) for v in values)) for label, values in metrics.items()]
    result_rows += [(label, *(format_percent(v) for v in values)) for label, values in by_epoch.items()]
    per_table = len(names)
    if on_terminal():  # as many runs a table as fit the terminal, each name still telling its run apart
        width = shutil.get_terminal_size().columns
        per_table = runs_per_table([*config_rows, *result_rows], result_rows, width)
        names = fit_names(names, [*config_rows, *result_rows], width, per_table)
    if differences:
        print_side_by_side("Configuration differences", ("field", *names), config_rows, per_table)
    else:
        print("The configurations are the same.")
    print()
    print_side_by_side("Results (accuracy in %)", ("metric", *names), result_rows, per_table)
    return 0


def read_runs(names: Sequence[str], runs_dir: Path) -> list[Compared]:
    """The run each name names, each once, in order; a Refused for the first name that is none or
    is damaged. A file is left out with a note where two runs remain (``compare runs/*`` brings
    in a sweep's ``sweeps.journal``), as is a run named twice."""
    runs: list[Compared] = []
    files: list[Path] = []
    repeats: list[tuple[Path, Path]] = []
    for name in names:
        folder = find_run(name, runs_dir)
        if folder is None:
            file = next((path for path in (Path(name), runs_dir / name) if name.strip() and paths.exists(path)), None)
            if file is None:
                raise Refused(missing_run(name, runs_dir))
            files.append(file)
            continue
        same = next((run.folder for run in runs if run.folder.resolve() == folder.resolve()), None)
        if same is not None:
            repeats.append((folder, same))
            continue
        runs.append(read_run(folder))
    if len(runs) < 2:  # two names or more were given: a file or a repeat took one's place
        if files:
            raise Refused(str(not_a_run_folder(files[0])))
        if repeats:
            raise Refused(f"{named_twice(*repeats[0])}; name at least two different runs")
    for file in files:
        print(f"mnist-tui compare: note: left out {file}: it is a file, not a run folder", file=sys.stderr)
    for folder, same in repeats:
        print(f"mnist-tui compare: note: {named_twice(folder, same)}; it is compared once", file=sys.stderr)
    return runs


def named_twice(folder: Path, same: Path) -> str:
    return f"{same} is named twice" + ("" if folder == same else f" (also as {folder})")


def read_run(folder: Path) -> Compared:
    """``folder`` as compare shows it; a Refused that says it is no run folder or how it is damaged."""
    if holds_no_run(folder):
        raise Refused(
            f"{folder} is not a run folder (it has no config.toml and no events.jsonl); "
            "name run folders, as `mnist-tui runs --runs-dir DIR` lists them"
        )
    try:
        config = read_config(folder)
        summary = read_summary(folder)
        state = "interrupted" if is_interrupted(folder, summary) else summary["status"]
        return Compared(folder, config, summary, read_epochs(folder), state)
    except DamagedRun as error:
        raise Refused(f"{folder} is damaged: {error}") from None


def runs_per_table(rows: Sequence[Sequence[str]], results: Sequence[Sequence[str]], width: int) -> int:
    """How many runs one table shows side by side at ``width``: as many as keep every result (a
    number, state, time or start) on one line and each name at least ``RUN_SHORTEST`` cells, shared
    evenly among the tables (six runs that fit four a table are shown as two tables of three).
    Six runs squeezed into 60 columns had four cells a column: numbers, times and labels broken over lines."""
    count = len(rows[0]) - 1
    column = max([RUN_SHORTEST] + [cell_len(cell) for row in results for cell in row[1:]])
    most = max(1, (width - 4 - _label_width(rows)) // (column + 3))  # each column: its cells, padding and rule
    tables = -(-count // most)
    return -(-count // tables)


def fit_names(names: list[str], rows: Sequence[Sequence[str]], width: int, per_table: int | None = None) -> list[str]:
    """``names`` shortened in their middle, as ``mnist-tui runs`` shortens them, to share what ``width``
    leaves beside the labels among ``per_table`` runs (all by default); where two would read the
    same, both keep more."""
    shown_together = per_table or len(names)
    room = (width - 1 - 3 * (shown_together + 1) - _label_width(rows)) // shown_together
    longest = max(cell_len(name) for name in names)
    for each in range(max(room, RUN_SHORTEST), longest):
        shown = [shorten_middle(name, each) for name in names]
        if len(set(shown)) == len(shown):
            return shown
    return names


def _which(first: int, last: int) -> str:
    return f"run {first}" if first == last else f"runs {first}-{last}"


def _label_width(rows: Sequence[Sequence[str]]) -> int:
    return max([len("metric")] + [cell_len(row[0]) for row in rows])


def print_side_by_side(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], per_table: int) -> None:
    """The runs' columns beside the labels, ``per_table`` runs a table, each titled with the runs it
    shows where there are several."""
    count = len(headers) - 1
    for first in range(1, count + 1, per_table):
        last = min(count, first + per_table - 1)
        if first > 1:
            print()
        shown = [0, *range(first, last + 1)]
        print_table(
            [headers[index] for index in shown],
            [[row[index] for index in shown] for row in rows],
            title=title if per_table >= count else f"{title}: {_which(first, last)} of {count}",
            right=frozenset(range(1, len(shown))),
        )


# Each result of a run, None where its summary has none (blank in the table, null in --json).
METRICS: dict[str, Callable[[Compared], Any]] = {
    "status": lambda r: r.state,
    "epochs": lambda r: format_epochs(r.summary.get("epochs_completed"), r.summary.get("epochs")) or None,
    "final accuracy": lambda r: r.summary.get("final_test_accuracy"),
    "best accuracy": lambda r: r.summary.get("best_test_accuracy"),
    "best epoch": lambda r: r.summary.get("best_epoch"),
    "training time": lambda r: r.summary.get("train_seconds"),
    "evaluation time": lambda r: r.summary.get("eval_seconds"),
    "evaluated on": lambda r: r.summary.get("evaluated_on"),
    "device": lambda r: r.summary.get("device"),
    "started": lambda r: started_of(r.summary),
}


def show(label: str, value: Any) -> str:
    if value is None:
        return ""
    if label.endswith("accuracy"):
        return format_percent(value)
    if label.endswith("time"):
        return format_duration(value)
    return str(value)
