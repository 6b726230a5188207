"""What a run looks like now, as a plain object that events update: the dashboard's reducer.

No Textual here: the live dashboard, a replayed ``events.jsonl``, ``watch`` and the runs browser
all feed events through :meth:`RunState.apply`, and panes draw from the result. Memory is bounded
however long the run: the loss curves are decimated series and only the latest epochs'
inspections are kept, with the one epoch a user holds (:meth:`RunState.hold`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..engine.events import (
    BatchReported,
    CommandAnswered,
    ConfusionCounted,
    EpochEnded,
    Event,
    LayersMeasured,
    MistakesFound,
    RunPaused,
    RunResumed,
    RunStarted,
    SamplesPredicted,
    SettingsChanged,
    Terminal,
    WeightsSampled,
)
from .series import DecimatedSeries

CAPACITY = 256
"""Points kept per loss curve. A braille chart 80 cells wide has 160 dot columns, so more would
not show, and each plotext build costs about 0.1 ms per point on the UI thread."""
SMOOTHING = 0.8
"""Weight of the past in the smoothed curve (an exponential moving average of reports)."""
MIN_LOSS = 1e-6
"""The loss axis is logarithmic: a loss that rounded to 0 is kept as this."""
INSPECTED_EPOCHS = 20
"""Epochs whose inspection stays in memory (the latest ones): each holds up to a few hundred
mistake images and the weight tiles."""
ACTIVE = ("starting", "running", "paused", "stopping")


class LossCurves:
    """The reported batch loss, its moving average and the evaluation loss, against epochs."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.batch = DecimatedSeries(capacity)
        self.smooth = DecimatedSeries(capacity)
        self.evaluation = DecimatedSeries(capacity)
        self.changes: list[tuple[float, str]] = []
        """Where the settings changed: (epochs, label), such as (1.25, "lr 0.0001")."""
        self._average: float | None = None

    def add_batch(self, epochs: float, loss: float) -> None:
        """A reported mean batch loss at ``epochs`` (fractional epochs since the run began)."""
        if not math.isfinite(loss):
            return  # a diverged report ends the run; it has no place on the axis
        loss = max(loss, MIN_LOSS)
        self.batch.append(epochs, loss)
        self._average = loss if self._average is None else SMOOTHING * self._average + (1 - SMOOTHING) * loss
        self.smooth.append(epochs, self._average)

    def add_evaluation(self, epoch: float, loss: float) -> None:
        if math.isfinite(loss):
            self.evaluation.append(epoch, max(loss, MIN_LOSS))


@dataclass
class Inspection:
    """The inspection products of one epoch (any may be missing, e.g. with inspection off)."""

    epoch: int
    confusion: ConfusionCounted | None = None
    mistakes: MistakesFound | None = None
    weights: WeightsSampled | None = None
    layers: LayersMeasured | None = None


@dataclass
class RunState:
    """One run as the events so far describe it."""

    run_id: str | None = None
    folder: str = ""
    """Where the run's folder is now, when known: it wins over the one its log names (a copied or
    moved folder's log names where it was written)."""
    state: str = "idle"
    """idle, starting, running, paused, stopping, finished, stopped, diverged or failed."""
    config: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    run_dir: str = ""
    eval_name: str = ""
    eval_size: int | None = None
    started: RunStarted | None = None
    latest: BatchReported | None = None
    """The latest loss report."""
    lr: float | None = None
    epochs: list[EpochEnded] = field(default_factory=list)
    samples: SamplesPredicted | None = None
    inspections: OrderedDict[int, Inspection] = field(default_factory=OrderedDict)
    held: int | None = None
    """An epoch whose inspection stays, with the one before it, however many epochs come after
    (the one Inspect shows, chosen with [ and ]); None keeps only the latest."""
    changes: list[SettingsChanged] = field(default_factory=list)
    answers: list[CommandAnswered] = field(default_factory=list)
    """The engine's latest answers to commands (bounded)."""
    terminal: Terminal | None = None
    loss: LossCurves = field(default_factory=LossCurves)
    events: int = 0
    """Events applied so far."""

    @property
    def best(self) -> EpochEnded | None:
        return max(self.epochs, key=lambda e: e.eval_accuracy, default=None)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def class_names(self) -> tuple[str, ...]:
        for inspection in reversed(self.inspections.values()):
            if inspection.confusion is not None:
                return inspection.confusion.class_names
        if self.samples is not None:
            return self.samples.class_names
        return tuple(str(digit) for digit in range(10))

    def inspection(self, epoch: int | None = None) -> Inspection | None:
        """The inspection of ``epoch`` (default: the latest one kept)."""
        if not self.inspections:
            return None
        if epoch is None:
            return next(reversed(self.inspections.values()))
        return self.inspections.get(epoch)

    def previous_inspection(self, epoch: int) -> Inspection | None:
        """The kept inspection just before ``epoch``, for changes since the previous epoch."""
        earlier = [e for e in self.inspections if e < epoch]
        return self.inspections[earlier[-1]] if earlier else None

    def newest(self, *products: str) -> Inspection | None:
        """The newest kept inspection that has every one of ``products`` ("confusion", "mistakes",
        "weights" or "layers"). An epoch's products arrive one event at a time: until the latest
        epoch's own comes, the previous epoch's is the newest there is."""
        return next(
            (i for i in reversed(self.inspections.values()) if all(getattr(i, p) is not None for p in products)), None
        )

    def hold(self, epoch: int | None) -> None:
        """Keep ``epoch``'s inspection (and the previous one's, its bars' change) while newer
        epochs roll on, until another is held; None lets it go."""
        self.held = None
        self._forget_inspections()  # first let go of the one held before, and of its previous
        self.held = epoch

    def takes(self, event: Event) -> bool:
        """Whether ``event`` of a log is this run's: its id, or a start (a resume of a copied folder
        goes on under the folder's name; ``apply`` tells it from a new run)."""
        return self.run_id is None or event.run_id == self.run_id or isinstance(event, RunStarted)

    def apply(self, event: Event) -> None:
        """Update the state with one event, as the engine yielded it or as it was logged."""
        if isinstance(event, RunStarted) and self.run_id != event.run_id:
            if self.started is not None and (event.start_epoch or event.start_step):
                # A resume of a copied or renamed folder logs the folder's name as its id: the same run, going on.
                self.run_id = event.run_id
            else:
                self.__init__(run_id=event.run_id, folder=self.folder)  # type: ignore[misc]  # another run: start afresh
        self.events += 1
        if isinstance(event, BatchReported):
            self.latest = event
            self.lr = event.lr
            self.loss.add_batch(event.step / event.steps_per_epoch, event.loss)
        elif isinstance(event, EpochEnded):
            self.epochs = [e for e in self.epochs if e.epoch < event.epoch] + [event]
            self.loss.add_evaluation(event.epoch, event.eval_loss)
        elif isinstance(event, SamplesPredicted):
            self.samples = event
        elif isinstance(event, (ConfusionCounted, MistakesFound, WeightsSampled, LayersMeasured)):
            self._inspected(event)
        elif isinstance(event, SettingsChanged):
            self.changes.append(event)
            steps = self.started.steps_per_epoch if self.started else 0
            label = " ".join(f"{name} {new:g}" for name, (_, new) in event.changes.items())
            self.loss.changes.append((event.step / steps if steps else float(event.epoch), label))
            if "lr" in event.changes:
                self.lr = event.changes["lr"][1]
        elif isinstance(event, RunPaused):
            self.state = "paused"
        elif isinstance(event, RunResumed):
            self.state = "running"
        elif isinstance(event, CommandAnswered):
            self.answers = [*self.answers[-19:], event]
        elif isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, Terminal):
            self.terminal = event
            self.state = event.status

    def _started(self, event: RunStarted) -> None:
        self.started = event
        self.config = event.config
        self.device = event.device
        self.run_dir = self.folder or event.run_dir or ""
        self.eval_name = event.eval_name
        self.eval_size = event.eval_size
        self.terminal = None
        self.state = "running"
        # A resume continues from its checkpoint: epochs logged after it were dropped by the engine.
        self.epochs = [e for e in self.epochs if e.epoch <= event.start_epoch]

    def _inspected(self, event: ConfusionCounted | MistakesFound | WeightsSampled | LayersMeasured) -> None:
        inspection = self.inspections.get(event.epoch)
        if inspection is None:
            inspection = self.inspections[event.epoch] = Inspection(event.epoch)
            self._forget_inspections()
        slot = {
            ConfusionCounted: "confusion", MistakesFound: "mistakes", WeightsSampled: "weights", LayersMeasured: "layers"
        }[type(event)]
        setattr(inspection, slot, event)

    def _forget_inspections(self) -> None:
        """Drop the inspections older than the latest :data:`INSPECTED_EPOCHS`, but the held one and its previous."""
        kept = set(list(self.inspections)[-INSPECTED_EPOCHS:])
        if self.held in self.inspections:
            before = self.previous_inspection(self.held)
            kept |= {self.held} | ({before.epoch} if before else set())
        for epoch in [e for e in self.inspections if e not in kept]:
            del self.inspections[epoch]


def replay(events: list[Event], *, folder: str = "") -> RunState:
    """The state a list of events leaves (a whole ``events.jsonl`` read back from ``folder``)."""
    state = RunState(folder=folder)
    for event in events:
        if state.takes(event):
            state.apply(event)
    return state
