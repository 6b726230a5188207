"""The engine's event objects: frozen, JSON-ready and rebuilt exactly from their JSON (no torch needed)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from mnist_tui.engine.config import Config
from mnist_tui.engine.events import (
    EVENT_TYPES,
    BatchReported,
    CheckpointSaved,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesPredicted,
    Terminal,
    event_from_dict,
)

RUN = "smoke-20260101-000000-abcd"

EXAMPLES: list[Event] = [
    RunStarted(
        run_id=RUN, config=Config().to_dict(), device="cpu", train_size=2000, eval_size=1000,
        eval_name="test set", steps_per_epoch=32, start_epoch=0, start_step=0, run_dir=None, parameters=50890,
    ),
    BatchReported(run_id=RUN, epoch=1, step=5, epoch_step=5, steps_per_epoch=32, loss=2.25, lr=0.003, samples_per_second=1e4),
    EpochEnded(
        run_id=RUN, epoch=1, epochs=2, train_loss=1.1, train_accuracy=71.5, eval_loss=0.7, eval_accuracy=78.0,
        seconds=0.05, eval_seconds=0.01, best_epoch=1, best_accuracy=78.0,
    ),
    SamplesPredicted(
        run_id=RUN, epoch=1, images=(bytes(range(256)) * 3 + bytes(16), b"\x00" * 784), labels=(7, 2),
        predictions=(7, 1), confidences=(0.9876, 0.5), class_names=tuple("0123456789"),
    ),
    CheckpointSaved(run_id=RUN, which="best", path="runs/x/best.pt", epoch=1, step=32),
    RunFinished(run_id=RUN, final_accuracy=78.0, best_accuracy=78.0, best_epoch=1, epochs_completed=1, train_seconds=0.05),
    RunStopped(run_id=RUN, epoch=1, step=12, epochs_completed=0),
    RunDiverged(run_id=RUN, epoch=1, step=2, loss=2.1e10),
    RunFailed(run_id=RUN, error="data folder /nonexistent does not exist", reason="data"),
]


def test_the_examples_cover_every_event_type() -> None:
    assert {type(event) for event in EXAMPLES} == set(EVENT_TYPES.values())
    assert len(EVENT_TYPES) == len({cls.kind for cls in EVENT_TYPES.values()})


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.kind)
def test_events_are_frozen(event: Event) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.run_id = "other"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):  # slots: no new attributes either
        event.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.kind)
def test_events_round_trip_through_json(event: Event) -> None:
    line = event.to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert list(data)[:2] == ["event", "run_id"]
    assert data["event"] == event.kind
    assert event_from_dict(data) == event


def test_sample_images_travel_as_base64_text() -> None:
    samples = next(e for e in EXAMPLES if isinstance(e, SamplesPredicted))
    data = json.loads(samples.to_json())
    assert all(isinstance(image, str) for image in data["images"])
    assert event_from_dict(data).images == samples.images


@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_is_logged_as_null_in_strict_json(loss: float) -> None:
    line = RunDiverged(run_id=RUN, epoch=1, step=3, loss=loss).to_json()
    assert json.loads(line, parse_constant=lambda name: pytest.fail(f"non-standard JSON {name}"))["loss"] is None


def test_exactly_the_four_ends_are_terminal() -> None:
    terminal = {cls.kind: cls.status for cls in EVENT_TYPES.values() if issubclass(cls, Terminal)}
    assert terminal == {"finished": "finished", "stopped": "stopped", "diverged": "diverged", "failed": "failed"}
