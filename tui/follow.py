"""``watch``: follow a run another process writes.

A worker thread polls the run's ``events.jsonl`` (:class:`~..engine.replay.EventTail`: only
complete lines, a torn last one waits) several times a second and hands each batch of new events
to the app, which shows them through the same path as a live run's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..engine.events import Event
from ..engine.replay import EventTail, ReplayError

POLL_SECONDS = 0.2
"""Between two reads of the log: a new event is on screen well within a second."""


def follow_log(
    path: Path,
    *,
    show: Callable[[list[Event]], None],
    restart: Callable[[], None],
    problem: Callable[[str], None],
    cancelled: Callable[[], bool],
) -> None:
    """Hand every batch of new complete events in the log at ``path`` to ``show`` until ``cancelled()``.

    A log that shrank (rewritten, say by a resume that dropped a torn last line) is read again from
    its start after ``restart()``. One that cannot be read or holds a line that is no event is
    reported once through ``problem`` and read again at the next poll. Following goes on after a
    run ends: it may be resumed.
    """
    tail = EventTail(path)
    reported: str | None = None
    while not cancelled():
        try:
            events = tail.poll()
        except ReplayError as error:
            if tail.offset == 0:  # the tail starts over: the log shrank
                restart()
            elif str(error) != reported:
                reported = str(error)
                problem(reported)
            events = []
        if events:
            show(events)
        time.sleep(POLL_SECONDS)
