"""Where the dashboard's events come from: the engine, or a script in the tests.

An event source is any callable ``(config, run_id, stop, inbox, *, preset, resume) -> iterable of
events``; the dashboard puts its commands (pause, resume, step, set, predict) into the inbox, and
``resume`` names a run folder to continue instead of starting ``config`` afresh. The dashboard
calls it in a thread worker and posts every event to itself as :class:`EngineEvent`; the tests
pass a scripted source, so the UI tests need no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Protocol

from textual.message import Message

from ..engine.commands import Inbox
from ..engine.config import Config
from ..engine.events import Event
from ..heap import TORCH_LAZY, load_quietly


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class EventSource(Protocol):
    """Starts a run (or continues the run folder ``resume``) and yields its events."""

    def __call__(
        self, config: Config, run_id: str, stop: StopFlag, inbox: Inbox, *,
        preset: str | None = None, resume: Path | None = None,
    ) -> Iterable[Event]: ...


class EngineEvent(Message):
    """One engine event, posted from the training thread (``post_message`` is thread-safe)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class EventsArrived(Message):
    """The engine thread handed over events that should not wait for the next frame (see the app)."""


def engine_source(
    *, data_dir: str | Path | None, runs_dir: str | Path, resume: str | Path | None = None,
    resume_epochs: int | None = None,
) -> EventSource:
    """The real engine; ``resume_epochs`` applies to ``resume``, the run folder named on the command line."""
    named = Path(resume) if resume else None

    def source(
        config: Config, run_id: str, stop: StopFlag, inbox: Inbox, *,
        preset: str | None = None, resume: Path | None = None,
    ) -> Iterable[Event]:
        train = load_quietly("mnist_tui.engine.train", *TORCH_LAZY)  # torch loads here, in the worker (heap.py)
        resume_training, run_training = train.resume_training, train.run_training

        if resume is not None:
            epochs = resume_epochs if resume == named else None
            return resume_training(resume, data_dir=data_dir, stop=stop, epochs=epochs, inbox=inbox)
        return run_training(
            config, run_id=run_id, data_dir=data_dir, runs_dir=runs_dir, stop=stop, inbox=inbox, preset=preset
        )

    return source
