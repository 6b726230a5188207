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
    CommandAnswered,
    ConfusionCounted,
    DigitPredicted,
    LayersMeasured,
    MistakesFound,
    RunPaused,
    RunResumed,
    SettingsChanged,
    WeightsSampled,
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
        preset="smoke", started="2026-01-01T00:00:00+00:00", data_dir="/data/mnist", headless=True,
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
    ConfusionCounted(
        run_id=RUN, epoch=1, matrix=tuple(tuple(7 if i == j else i for j in range(10)) for i in range(10)),
        class_names=tuple("0123456789"),
    ),
    MistakesFound(
        run_id=RUN, epoch=1, indices=(8, 9001), labels=(5, 3), predictions=(6, 5), confidences=(0.75, 0.5),
        images=(b"\x10" * 784, b"\xf0" * 784),
    ),
    WeightsSampled(run_id=RUN, epoch=1, layer=0, units=(0, 17), images=(b"\x80" * 784, b"\x00" * 784), scale=0.25),
    LayersMeasured(
        run_id=RUN, epoch=1, sizes=(100, 100), dead=(0.02, None), weight_norms=(3.5, 2.25), grad_norms=(0.125, 0.0625)
    ),
    SettingsChanged(run_id=RUN, epoch=1, step=40, changes={"lr": [0.001, 0.0001]}, source="dashboard"),
    RunPaused(run_id=RUN, epoch=1, step=50),
    RunResumed(run_id=RUN, epoch=1, step=50),
    CommandAnswered(run_id=RUN, command_id="7", command="pause", accepted=False, message="already paused", source="commands.jsonl"),
    DigitPredicted(run_id=RUN, command_id="draw-3", probabilities=(0.1,) * 10, step=75),
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


def test_a_log_written_before_a_field_was_added_still_reads_and_a_required_field_may_not_be_missing() -> None:
    data = EXAMPLES[0].to_dict()
    old = {key: value for key, value in data.items() if key not in ("preset", "started", "data_dir", "headless")}
    assert event_from_dict(old) == dataclasses.replace(EXAMPLES[0], preset=None, started=None, data_dir=None, headless=None)
    del old["parameters"]
    with pytest.raises(KeyError):
        event_from_dict(old)


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


def test_a_null_loss_reads_back_as_nan() -> None:
    """A diverged run logs its NaN losses as null: replaying it (the Runs view's Enter) passed None
    on, and ``math.isfinite(None)`` ended the dashboard with a traceback (QA)."""
    batch = dataclasses.replace(EXAMPLES[1], loss=math.nan)
    data = json.loads(batch.to_json())
    assert data["loss"] is None
    loss = event_from_dict(data).loss  # type: ignore[attr-defined]
    assert isinstance(loss, float) and math.isnan(loss)
    layers = next(e for e in EXAMPLES if isinstance(e, LayersMeasured))
    assert event_from_dict(json.loads(layers.to_json())).dead == (0.02, None), "an optional float stays None"


@pytest.mark.parametrize(
    ("kind", "field", "value", "message"),
    [
        ("batch", "loss", "2.25", "loss is not a number"),
        ("batch", "step", 5.5, "step is not an int"),
        ("batch", "step", True, "step is not an int"),
        ("samples", "images", "AAAA", "images is not a list"),
        ("samples", "images", [7], "images is not base64 text"),
        ("confusion", "matrix", [[1, "2"]], "matrix is not an int"),
        ("command", "accepted", "yes", "accepted is not a bool"),
        ("run_started", "config", [], "config is not an object"),
    ],
)
def test_a_mistyped_field_is_a_type_error_naming_it(kind: str, field: str, value: object, message: str) -> None:
    """A reader skips such a line (``replay.parse_event_line``) instead of failing later on the value."""
    data = json.loads(next(e for e in EXAMPLES if e.kind == kind).to_json())
    data[field] = value
    with pytest.raises(TypeError, match=f"^{message}$"):
        event_from_dict(data)
