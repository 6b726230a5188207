"""Where the dashboard's events come from: the engine, or a script in the tests.

An event source is any callable ``(config, run_id, stop, inbox) -> iterable of events``; the
dashboard puts its commands (pause, resume, step, set, predict) into the inbox. The dashboard
calls it in a thread worker and posts every event to itself as :class:`EngineEvent`; the tests
pass a scripted source, so the UI tests need no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Protocol

from textual.message import Message

from ..engine.commands import Inbox
from ..engine.config import Config
from ..engine.events import Event


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


EventSource = Callable[[Config, str, StopFlag, Inbox], Iterable[Event]]


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
    """The real engine; ``resume`` continues that run folder on the first start."""
    pending_resume = [resume] if resume else []

    def source(config: Config, run_id: str, stop: StopFlag, inbox: Inbox) -> Iterable[Event]:
        from ..engine.train import resume_training, run_training  # torch loads here, in the worker

        if pending_resume:
            return resume_training(pending_resume.pop(), data_dir=data_dir, stop=stop, epochs=resume_epochs, inbox=inbox)
        return run_training(config, run_id=run_id, data_dir=data_dir, runs_dir=runs_dir, stop=stop, inbox=inbox)

    return source
