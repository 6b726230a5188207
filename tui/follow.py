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
from ..engine.replay import EventTail, LogRewritten, ReplayError, describe_skipped

POLL_SECONDS = 0.2
"""Between two reads of the log: a new event is on screen well within a second."""
QUIET_SECONDS = 1.0
"""A log quiet this long has its writer checked (a run reports several times a second)."""


def follow_log(
    path: Path,
    *,
    show: Callable[[list[Event]], None],
    restart: Callable[[], None],
    problem: Callable[[str], None],
    cancelled: Callable[[], bool],
    writer_gone: Callable[[], bool] = lambda: False,
    gone: Callable[[], None] = lambda: None,
) -> None:
    """Hand every batch of new complete events in the log at ``path`` to ``show`` until ``cancelled()``.

    A log rewritten in place (a resume cuts it back to its checkpoint) is read again from its start
    after ``restart()``. A line that is no event is skipped and reported through ``problem``, and so
    is a log that cannot be read (once, until it reads again). Following goes on after a run ends:
    it may be resumed.

    While the log stays quiet for ``QUIET_SECONDS``, ``writer_gone()`` is asked whether the process
    writing it has died; ``gone()`` is called once when it has (again after new events).
    """
    tail = EventTail(path)
    reported: str | None = None
    quiet_since = time.monotonic()
    told_gone = False
    while not cancelled():
        try:
            events = tail.poll()
            reported = None
        except LogRewritten:
            restart()
            continue
        except ReplayError as error:
            if str(error) != reported:
                reported = str(error)
                problem(reported)
            events = []
        skipped = tail.take_problems()
        if skipped:
            problem(describe_skipped(skipped))
        if events:
            show(events)
            quiet_since, told_gone = time.monotonic(), False
        elif not told_gone and time.monotonic() - quiet_since > QUIET_SECONDS and writer_gone():
            gone()
            told_gone = True
        time.sleep(POLL_SECONDS)
