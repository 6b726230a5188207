"""The frozen events that :func:`mnist_tui.engine.run_training` yields.

Every consumer (the dashboard, the headless printer, the run folder's ``events.jsonl`` and the
tests) reads the same objects. Each carries the ``run_id`` of its run, so a consumer that restarted
can drop a stale run's leftovers. A run ends with exactly one :class:`Terminal` event.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar


def new_run_id(name: str) -> str:
    """``NAME-YYYYmmdd-HHMMSS-xxxx``: sortable, readable and unique; also the run folder's name."""
    return f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all engine events."""

    run_id: str

    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the event's kind first (bytes become base64 text)."""
        data: dict[str, Any] = {"event": self.kind}
        for item in dataclasses.fields(self):
            data[item.name] = _jsonable(getattr(self, item.name))
        return data

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN or Infinity; a diverged loss is logged as null
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """Data loaded and model built; training is about to start (or resume)."""

    config: dict[str, Any]
    device: str
    train_size: int
    eval_size: int
    eval_name: str
    steps_per_epoch: int
    start_epoch: int
    start_step: int
    run_dir: str | None
    parameters: int

    kind: ClassVar[str] = "run_started"


@dataclass(frozen=True, slots=True)
class BatchReported(Event):
    """Mean training loss over the batches since the previous report."""

    epoch: int
    step: int
    epoch_step: int
    steps_per_epoch: int
    loss: float
    lr: float
    samples_per_second: float

    kind: ClassVar[str] = "batch"


@dataclass(frozen=True, slots=True)
class EpochEnded(Event):
    """One epoch trained and evaluated; accuracies in percent, ``seconds`` excludes evaluation."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    eval_loss: float
    eval_accuracy: float
    seconds: float
    eval_seconds: float
    best_epoch: int
    best_accuracy: float

    kind: ClassVar[str] = "epoch"


@dataclass(frozen=True, slots=True)
class SamplesPredicted(Event):
    """The fixed gallery digits with the model's predictions; epoch 0 is before training."""

    epoch: int
    images: tuple[bytes, ...]
    labels: tuple[int, ...]
    predictions: tuple[int, ...]
    confidences: tuple[float, ...]
    class_names: tuple[str, ...]

    kind: ClassVar[str] = "samples"


@dataclass(frozen=True, slots=True)
class CheckpointSaved(Event):
    """A checkpoint was written atomically: ``which`` is best or last."""

    which: str
    path: str
    epoch: int
    step: int

    kind: ClassVar[str] = "checkpoint"


@dataclass(frozen=True, slots=True)
class Terminal(Event):
    """Base of the events that end a run; ``status`` names how."""

    status: ClassVar[str] = "ended"


@dataclass(frozen=True, slots=True)
class RunFinished(Terminal):
    """All configured epochs trained."""

    final_accuracy: float
    best_accuracy: float
    best_epoch: int
    epochs_completed: int
    train_seconds: float

    kind: ClassVar[str] = "finished"
    status: ClassVar[str] = "finished"


@dataclass(frozen=True, slots=True)
class RunStopped(Terminal):
    """Stopped on request between batches; the last checkpoint resumes it."""

    epoch: int
    step: int
    epochs_completed: int

    kind: ClassVar[str] = "stopped"
    status: ClassVar[str] = "stopped"


@dataclass(frozen=True, slots=True)
class RunDiverged(Terminal):
    """The training loss became NaN, infinite or above ``diverge_above`` at ``step`` (global, from 1)."""

    epoch: int
    step: int
    loss: float

    kind: ClassVar[str] = "diverged"
    status: ClassVar[str] = "diverged"


@dataclass(frozen=True, slots=True)
class RunFailed(Terminal):
    """The run could not go on: ``reason`` is config, data, checkpoint or error."""

    error: str
    reason: str

    kind: ClassVar[str] = "failed"
    status: ClassVar[str] = "failed"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        BatchReported,
        EpochEnded,
        SamplesPredicted,
        CheckpointSaved,
        RunFinished,
        RunStopped,
        RunDiverged,
        RunFailed,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output (for replaying ``events.jsonl``)."""
    data = dict(data)
    cls = EVENT_TYPES[data.pop("event")]
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        value = data[item.name]
        if item.name == "images":
            value = tuple(base64.b64decode(v) for v in value)
        elif isinstance(value, list) and item.name != "config":
            value = tuple(value)
        values[item.name] = value
    return cls(**values)
