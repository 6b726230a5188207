"""``mnist-tui compare RUN RUN...``: where the runs' configurations differ, and their results side by side."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .engine.catalog import (
    DamagedRun,
    config_differences,
    find_run,
    format_duration,
    format_epochs,
    format_percent,
    format_value,
    read_config,
    read_epochs,
    read_summary,
)
from .exit_codes import USAGE
from .table import print_table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui compare",
        description="Show where the runs' configurations differ and their results side by side.",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="a run folder, or a run's name under --runs-dir")
    parser.add_argument("--runs-dir", metavar="DIR", default="runs", help="where run names are looked up (default: ./runs)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return parser


def main(argv: Sequence[str]) -> int:
    """Print the comparison; a missing or damaged run is a usage error that names it."""
    args = build_parser().parse_args(argv)
    if len(args.runs) < 2:
        print("mnist-tui compare: error: name at least two runs", file=sys.stderr)
        return USAGE
    runs = []
    for name in args.runs:
        folder = find_run(name, Path(args.runs_dir))
        if folder is None:
            print(f"mnist-tui compare: error: no run folder {name!r} (nor in {args.runs_dir})", file=sys.stderr)
            return USAGE
        try:
            runs.append((folder, read_config(folder), read_summary(folder), read_epochs(folder)))
        except DamagedRun as error:
            print(f"mnist-tui compare: error: {folder} is damaged: {error}", file=sys.stderr)
            return USAGE
    names = [folder.name for folder, *_ in runs]
    differences = config_differences([config for _, config, _, _ in runs])
    metrics = {label: [value(summary, epochs) for _, _, summary, epochs in runs] for label, value in METRICS.items()}
    numbers = sorted({n for *_, epochs in runs for n in epochs})
    by_epoch = {f"epoch {n}": [epochs.get(n) for *_, epochs in runs] for n in numbers}
    if args.json:
        print(json.dumps({"runs": names, "differences": differences, "metrics": metrics, "accuracy_by_epoch": by_epoch}))
        return 0
    right = frozenset(range(1, len(names) + 1))
    if differences:
        rows = [(field, *(format_value(v) for v in values)) for field, values in differences.items()]
        print_table(("field", *names), rows, title="Configuration differences", right=right)
    else:
        print("The configurations are the same.")
    print()
    rows = [(label, *(show(label, v) for v in values)) for label, values in metrics.items()]
    rows += [(label, *(format_percent(v) for v in values)) for label, values in by_epoch.items()]
    print_table(("metric", *names), rows, title="Results (accuracy in %)", right=right)
    return 0


# Each result of a run, None where its summary has none (blank in the table, null in --json).
METRICS: dict[str, Any] = {
    "status": lambda s, e: s.get("status"),
    "epochs": lambda s, e: format_epochs(s.get("epochs_completed"), s.get("epochs")) or None,
    "final accuracy": lambda s, e: s.get("final_test_accuracy"),
    "best accuracy": lambda s, e: s.get("best_test_accuracy"),
    "best epoch": lambda s, e: s.get("best_epoch"),
    "training time": lambda s, e: s.get("train_seconds"),
    "evaluation time": lambda s, e: s.get("eval_seconds"),
    "evaluated on": lambda s, e: s.get("evaluated_on"),
    "device": lambda s, e: s.get("device"),
    "started": lambda s, e: s.get("started"),
}


def show(label: str, value: Any) -> str:
    if value is None:
        return ""
    if label.endswith("accuracy"):
        return format_percent(value)
    if label.endswith("time"):
        return format_duration(value)
    return str(value)
