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
    recorded: ClassVar[bool] = True
    """Whether the run folder's ``events.jsonl`` keeps it (ephemeral answers do not)."""

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


FEW_EVAL_DIGITS = 1000
"""An evaluation set smaller than this is named with its size: one digit is more than 0.1 % of its accuracy."""


def few_eval_digits(size: int, *, short: bool = False) -> str | None:
    """How few digits an evaluation set of ``size`` has, when that is what its accuracy mostly says; else None.

    A holdout of 0.00001 evaluates on one digit, whose accuracy is 0 or 100 %.
    """
    if size >= FEW_EVAL_DIGITS:
        return None
    return f"only {size:,} {'eval' if short else 'evaluation'} digit{'' if size == 1 else 's'}"


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
    preset: str | None = None
    """The preset the run started from (None: a config file or the form), kept across resumes."""
    started: str | None = None
    """When the run first started (local ISO 8601 time), kept across resumes; None in logs written before it."""
    data_dir: str | None = None
    """The data folder this session loaded from (absolute), where a resume looks by default; None in logs written before it."""
    headless: bool | None = None
    """Whether this session trained without the dashboard (``--no-ui``): a watcher's resume hint
    keeps ``--no-ui`` then; None in logs written before it."""

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


# --- inspection: products of the epoch's one evaluation pass ------------------------------------


@dataclass(frozen=True, slots=True)
class ConfusionCounted(Event):
    """Counts of every (true, predicted) pair over the whole evaluation set; rows are true classes."""

    epoch: int
    matrix: tuple[tuple[int, ...], ...]
    class_names: tuple[str, ...]

    kind: ClassVar[str] = "confusion"


@dataclass(frozen=True, slots=True)
class MistakesFound(Event):
    """The most confident mistakes of every (true, predicted) cell; ``indices`` are evaluation-set positions."""

    epoch: int
    indices: tuple[int, ...]
    labels: tuple[int, ...]
    predictions: tuple[int, ...]
    confidences: tuple[float, ...]
    images: tuple[bytes, ...]

    kind: ClassVar[str] = "mistakes"


@dataclass(frozen=True, slots=True)
class WeightsSampled(Event):
    """Incoming weights of some units of hidden layer ``layer`` as 28x28 bytes: ``b`` is ``(b - 128) / 127 * scale``."""

    epoch: int
    layer: int
    units: tuple[int, ...]
    images: tuple[bytes, ...]
    scale: float

    kind: ClassVar[str] = "weights"


@dataclass(frozen=True, slots=True)
class LayersMeasured(Event):
    """Per hidden layer: width, share of dead units (None where the activation cannot die), weight and gradient norms."""

    epoch: int
    sizes: tuple[int, ...]
    dead: tuple[float | None, ...]
    weight_norms: tuple[float, ...]
    grad_norms: tuple[float, ...]

    kind: ClassVar[str] = "layers"


# --- commands in, events out ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingsChanged(Event):
    """Optimizer settings changed from ``step`` (global) on: ``changes`` maps a field to ``[old, new]``."""

    epoch: int
    step: int
    changes: dict[str, list[float]]
    source: str

    kind: ClassVar[str] = "changed"


@dataclass(frozen=True, slots=True)
class RunPaused(Event):
    """Training paused between two batches at global ``step``; paused time is not training time."""

    epoch: int
    step: int

    kind: ClassVar[str] = "paused"


@dataclass(frozen=True, slots=True)
class RunResumed(Event):
    """Training goes on after a pause."""

    epoch: int
    step: int

    kind: ClassVar[str] = "resumed"


@dataclass(frozen=True, slots=True)
class CommandAnswered(Event):
    """The engine's answer to one command: done, or ignored with the reason (malformed, stale, invalid)."""

    command_id: str
    command: str
    accepted: bool
    message: str
    source: str

    kind: ClassVar[str] = "command"


@dataclass(frozen=True, slots=True)
class DigitPredicted(Event):
    """The model's class probabilities for given pixels (a ``predict`` command); not recorded in the log."""

    command_id: str
    probabilities: tuple[float, ...]
    step: int

    kind: ClassVar[str] = "prediction"
    recorded: ClassVar[bool] = False


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
    """The run could not go on: ``reason`` is config, data, checkpoint, busy (another process writes its folder), write (its folder cannot be written) or error."""

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
        ConfusionCounted,
        MistakesFound,
        WeightsSampled,
        LayersMeasured,
        SettingsChanged,
        RunPaused,
        RunResumed,
        CommandAnswered,
        DigitPredicted,
        CheckpointSaved,
        RunFinished,
        RunStopped,
        RunDiverged,
        RunFailed,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output (for replaying ``events.jsonl``).

    An unknown kind or a missing field is a KeyError, a mistyped one a TypeError or ValueError; a
    field with a default may be missing (logs written before it was added).
    """
    data = dict(data)
    cls = EVENT_TYPES[data.pop("event")]
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in data and item.default is not dataclasses.MISSING:
            continue
        values[item.name] = _typed(item.name, str(item.type), data[item.name])
    return cls(**values)


def _typed(name: str, annotation: str, value: Any) -> Any:
    """``value`` read back as the field's ``annotation`` says (a ``null`` float is NaN again, as
    :func:`_jsonable` wrote it); a value of another type is a TypeError naming the field, so a
    reader skips the line instead of failing later on it (a diverged run's replay did)."""
    if annotation.endswith(" | None"):
        return None if value is None else _typed(name, annotation.removesuffix(" | None"), value)
    if annotation.startswith("tuple[") and annotation.endswith(", ...]"):
        if not isinstance(value, list):
            raise TypeError(f"{name} is not a list")
        inner = annotation[len("tuple[") : -len(", ...]")]
        return tuple(_typed(name, inner, v) for v in value)
    if annotation == "float":
        if value is None:
            return math.nan
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"{name} is not a number")
    if annotation == "bytes":
        if not isinstance(value, str):
            raise TypeError(f"{name} is not base64 text")
        return base64.b64decode(value, validate=True)
    kinds = {"int": int, "str": str, "bool": bool}
    if annotation in kinds:
        if not isinstance(value, kinds[annotation]) or (annotation == "int" and isinstance(value, bool)):
            raise TypeError(f"{name} is not a{'n' if annotation == 'int' else ''} {annotation}")
        return value
    if annotation.startswith("dict[") and not isinstance(value, dict):
        raise TypeError(f"{name} is not an object")
    return value  # dicts such as ``config`` and ``changes`` stay as they are
