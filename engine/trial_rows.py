"""A sweep's trials as plain rows: what the leaderboard, the final table and the Sweep view show.

Built from Optuna's trials by ``study.trial_row``; nothing here imports Optuna, so the dashboard's
tests feed the Sweep view scripted rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable


def trial_name(study: str, number: int) -> str:
    """The config name (and run folder prefix) of trial ``number`` of ``study``."""
    return f"{study}-t{number:04d}"


@dataclass(frozen=True)
class TrialRow:
    """One trial: its state, parameters, accuracy after each epoch, value, time and run folder."""

    number: int
    state: str
    """running, complete, pruned or failed (Optuna's states), or waiting."""
    params: dict[str, Any] = field(default_factory=dict)
    accuracies: tuple[float, ...] = ()
    """Evaluation accuracy after each epoch reported so far."""
    value: float | None = None
    """The final evaluation accuracy of a complete trial."""
    seconds: float | None = None
    run_dir: str | None = None
    outcome: str = ""
    """complete, pruned, diverged, failed, interrupted, or "worker died" (failed by another process)."""
    error: str | None = None
    session: str | None = None
    """The command that ran it (each ``mnist-tui sweep`` has its own)."""
    paused: bool = False
    """A running trial whose run is paused (``p`` in a dashboard that follows it): the sweep waits
    on it, and its ``seconds`` leave the paused time out."""


@dataclass(frozen=True)
class SweepSnapshot:
    """A sweep as its study stands now: what the Sweep view is fed, once a second while it changes."""

    study: str
    storage: str
    space: dict[str, dict[str, Any]]
    """The search space as saved with the study: ``{field: {"low", "high", "log"?, "step"?} or {"choices"}}``."""
    rows: tuple[TrialRow, ...] = ()
    status: str = "running"
    """What this command's workers do: starting, running, stopping, done or stopped."""


def format_param(value: Any) -> str:
    """A parameter as people read it (floats to 3 significant digits, flags as a config file writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def accuracy_of(row: TrialRow) -> float | None:
    """The trial's value, or for a pruned, failed or running one its last reported accuracy."""
    if row.value is not None:
        return row.value
    return row.accuracies[-1] if row.accuracies else None


def ranked(rows: Iterable[TrialRow]) -> list[TrialRow]:
    """Complete trials by value, then pruned ones by their last accuracy, then the rest."""
    order = {"complete": 0, "pruned": 1}
    return sorted(rows, key=lambda r: (order.get(r.state, 2), -(accuracy_of(r) or 0.0), r.number))


def best_of(rows: Iterable[TrialRow]) -> TrialRow | None:
    """The complete trial with the highest value (the earliest of equals), as Optuna's best trial."""
    complete = [r for r in rows if r.state == "complete" and r.value is not None]
    return max(complete, key=lambda r: (r.value, -r.number)) if complete else None
