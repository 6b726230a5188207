"""A run's accuracy per epoch, read from its ``events.jsonl`` when the run is opened (never for a
listing), and the damage a resume refuses, which reading the whole log tells."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .catalog import DamagedRun, file_problems, is_count, is_percent, read_summary
from .presets import regular_file


def read_epochs(folder: Path) -> dict[int, float]:
    """Each epoch's evaluation accuracy by epoch number from ``events.jsonl`` (for an opened run, never for a listing).

    A resumed run's repeated epochs count once, the latest; an unfinished last line is skipped, as it
    may be being written (or its writer was killed mid-line). Damage is a DamagedRun that says what
    is wrong: another line that is not an event (a cut line written over, bytes changed), or a log
    without an epoch that ``summary.json`` counts as completed (cut short: the summary is written
    only once its epochs' lines are in the log).
    """
    completed = read_summary(folder).get("epochs_completed") or 0
    path = folder / "events.jsonl"
    accuracies: dict[int, float] = {}
    try:
        with open(regular_file(path), "rb") as log:
            for number, line in enumerate(log, 1):
                if not line.endswith(b"\n"):
                    break  # the last line, still being written
                if not line.strip():
                    continue
                event, problem = _event_of(line)
                if event is not None and event["event"] == "epoch":
                    problem = _epoch_problem(event)
                    if problem is None:
                        accuracies[event["epoch"]] = float(event["eval_accuracy"])
                if problem:
                    raise DamagedRun(f"events.jsonl line {number} {problem}")
    except FileNotFoundError:
        raise DamagedRun("no events.jsonl") from None
    except OSError as error:
        raise DamagedRun(f"events.jsonl is unreadable: {error.strerror or error}") from None
    missing = [n for n in range(1, completed + 1) if n not in accuracies]
    if missing:
        raise DamagedRun(
            f"events.jsonl has no line for {_epochs_named(missing)} of the {completed} that summary.json "
            "counts as completed (the log was cut short or edited)"
        )
    return dict(sorted(accuracies.items()))


def _event_of(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """A complete line of an event log as its event, or None and why it is no event (as
    ``--resume`` words it)."""
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, "is not JSON"
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None, "is not an event"
    return event, None


def _epoch_problem(event: dict[str, Any]) -> str | None:
    """Why an epoch event's number or accuracy cannot be shown, or None: ``float()`` would take
    ``"96.5"`` or ``true`` as accuracies, and another JSON writer's spacing hides no field."""
    epoch, accuracy = event.get("epoch"), event.get("eval_accuracy")
    if not is_count(epoch) or epoch < 1:
        return f"is an epoch line whose epoch is {_logged(epoch)}, not an epoch number"
    if "eval_accuracy" not in event:
        return "is an epoch line without eval_accuracy"
    if not isinstance(accuracy, (int, float)) or isinstance(accuracy, bool) or accuracy != accuracy:
        return f"is an epoch line whose eval_accuracy is {_logged(accuracy)}, not a number"
    if not is_percent(accuracy):
        return f"is an epoch line whose eval_accuracy is {_logged(accuracy)}, not a percentage from 0 to 100"
    return None


def _logged(value: Any) -> str:
    """A value as the log holds it (``null``, ``"high"``), cut short when long."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _epochs_named(numbers: list[int]) -> str:
    """``epoch 3``, ``epochs 2 to 5`` (a run of them), or ``3 epochs (the first: epoch 2)``."""
    if len(numbers) == 1:
        return f"epoch {numbers[0]}"
    if numbers[-1] - numbers[0] == len(numbers) - 1:
        return f"epochs {numbers[0]} to {numbers[-1]}"
    return f"{len(numbers):,} epochs (the first: epoch {numbers[0]})"


def unresumable_damage(folder: Path) -> str | None:
    """The damage, as ``runs`` and ``compare`` name it, that a ``--resume`` of ``folder`` refuses
    too: no or no readable config or event log, or a log cut short of the epochs its summary counts.
    None where its files show none; a missing or damaged summary alone is none (a resume writes it
    anew, so ``--resume`` takes such a run). Reads the whole log: call it off the UI thread."""
    try:
        names = {entry.name for entry in os.scandir(folder)}
    except OSError as error:
        return f"unreadable: {error.strerror or error}"
    problems = file_problems(folder, names)
    if problems:
        return "; ".join(problems)
    try:
        read_summary(folder)
    except DamagedRun:
        return None
    try:
        read_epochs(folder)
    except DamagedRun as error:
        return str(error)
    return None
