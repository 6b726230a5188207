"""A past run's loss and accuracy curves, read from its ``events.jsonl`` into bounded series (no Textual).

The runs browser reads a run's curves when the run is marked for the overlay, never while listing.
Only ``batch`` and ``epoch`` lines are parsed (events are written with their kind first), and
each curve keeps at most ``capacity`` points however long the run, as the live chart does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.catalog import DamagedRun
from .series import DecimatedSeries

CAPACITY = 256


@dataclass
class RunCurves:
    """One run's training loss per report and evaluation accuracy per epoch, against epochs."""

    run: str
    loss: DecimatedSeries = field(default_factory=lambda: DecimatedSeries(CAPACITY))
    accuracy: DecimatedSeries = field(default_factory=lambda: DecimatedSeries(CAPACITY))
    skipped: int = 0
    """Lines that were not JSON (a write cut short before a resume); the rest still draw."""


def read_curves(folder: Path, capacity: int = CAPACITY) -> RunCurves:
    """The curves of the run in ``folder``; a DamagedRun when its log is missing or unreadable.

    A partly written last line (a run still training) is left for later.
    """
    curves = RunCurves(folder.name, DecimatedSeries(capacity), DecimatedSeries(capacity))
    try:
        with open(folder / "events.jsonl", encoding="utf-8") as log:
            for line in log:
                batch = line.startswith('{"event":"batch"')
                if not (batch or line.startswith('{"event":"epoch"')) or not line.endswith("\n"):
                    continue
                try:
                    event = json.loads(line)
                    if batch:
                        x = event["epoch"] - 1 + event["epoch_step"] / event["steps_per_epoch"]
                        loss = event["loss"]
                        if loss is not None and math.isfinite(loss) and loss > 0:
                            curves.loss.append(x, loss)
                    else:
                        curves.accuracy.append(float(event["epoch"]), float(event["eval_accuracy"]))
                except (ValueError, KeyError, TypeError, ZeroDivisionError, RecursionError):
                    curves.skipped += 1
    except FileNotFoundError:
        raise DamagedRun("no events.jsonl") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedRun(f"events.jsonl is unreadable: {getattr(error, 'strerror', None) or error}") from None
    return curves
