"""A sweep's headless output: one leaderboard line per finished trial, and a final table."""

from __future__ import annotations

from typing import Any, Iterable

from .engine.trial_rows import TrialRow, accuracy_of, format_param, ranked

TABLE_ROWS = 20
"""Trials the final table lists (the best first); the rest are counted."""


def format_params(params: dict[str, Any]) -> str:
    return " ".join(f"{key}={format_param(value)}" for key, value in params.items())


def describe_trial(row: TrialRow, best: TrialRow | None, *, mine: bool = True) -> str:
    """The leaderboard line of a finished trial (``mine``: run by this command, not another sharing the study)."""
    accuracy = accuracy_of(row)
    shown = f"{accuracy:6.2f} %" if accuracy is not None else "     - %"
    state = row.outcome if row.outcome != row.state else row.state
    if row.state == "pruned" and row.outcome == "pruned":
        state = f"pruned at epoch {len(row.accuracies)}"
    line = f"trial {row.number:>3} {state:<18} {shown}  {format_params(row.params)}"
    if row.seconds is not None:
        line += f"  {row.seconds:.1f} s"
    if row.error and row.state == "failed":
        line += f"  ({row.error})"
    if not mine:
        line += "  (another command's)"
    if best is not None:
        line += "  *best*" if best.number == row.number else f"  best: trial {best.number} {best.value:.2f} %"
    return line


def trial_table(rows: list[TrialRow], fields: tuple[str, ...]) -> str:
    """The study's trials, the best first, as an aligned text table."""
    header = ["rank", "trial", "state", "accuracy", "epochs run", "seconds", *fields, "run folder"]  # "epochs" may be searched
    lines = [header]
    for rank, row in enumerate(ranked(rows)[:TABLE_ROWS], 1):
        accuracy = accuracy_of(row)
        lines.append([
            str(rank),
            str(row.number),
            row.outcome,
            f"{accuracy:.2f}" if accuracy is not None else "-",
            str(len(row.accuracies)),
            f"{row.seconds:.1f}" if row.seconds is not None else "-",
            *(format_param(row.params[f]) if f in row.params else "-" for f in fields),
            row.run_dir or "-",
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)
    if len(rows) > TABLE_ROWS:
        text += f"\n... and {count_of(len(rows) - TABLE_ROWS, 'more trial')}"
    return text


def study_summary(study: str, rows: list[TrialRow], mine: list[TrialRow]) -> str:
    """The line after a sweep: the study's trials by state, and those this command ran."""
    trials = f"{count_of(len(rows), 'trial')} ({tally(rows)})" if rows else "no trials"
    ran = f"{len(mine)} ({tally(mine)})" if mine else "none"
    return f"study {study}: {trials}; this command ran {ran}"


def count_of(count: int, noun: str) -> str:
    """``count`` and ``noun``, in the plural unless one: "1 trial", "0 trials"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def tally(rows: Iterable[TrialRow]) -> str:
    """How many trials ended in each state, such as "6 complete, 2 pruned"."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return ", ".join(f"{count} {state}" for state, count in counts.items()) or "no trials"
