"""``watch``: follow a run another process writes, and steer it through its command file.

A worker thread polls the run's ``events.jsonl`` (:class:`~..engine.replay.EventTail`: only
complete lines, a torn last one waits) several times a second and hands each batch of new events
to the app, which shows them through the same path as a live run's. Commands go to the run
folder's ``commands.jsonl``, which the training engine reads at each report.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Callable, Mapping

from ..engine.events import Event
from ..engine.replay import EventTail, ReplayError

POLL_SECONDS = 0.2
"""Between two reads of the log: a new event is on screen well within a second."""


def follow_log(
    path: Path,
    *,
    show: Callable[[list[Event]], None],
    problem: Callable[[str], None],
    cancelled: Callable[[], bool],
) -> None:
    """Hand every batch of new complete events in the log at ``path`` to ``show`` until ``cancelled()``.

    A log that cannot be read or holds a line that is no event is reported once through ``problem``
    and read again at the next poll; following goes on after a run ends (it may be resumed).
    """
    tail = EventTail(path)
    reported: str | None = None
    while not cancelled():
        try:
            events = tail.poll()
        except ReplayError as error:
            if str(error) != reported:
                reported = str(error)
                problem(reported)
            events = []
        if events:
            show(events)
        time.sleep(POLL_SECONDS)


def send_command(run_dir: str | Path, command: str, values: Mapping[str, float] | None = None) -> str:
    """Append one command to the run folder's ``commands.jsonl``; returns its id.

    The format the engine reads (BRIEF's shared contract): one JSON object per line with ``id``,
    ``command``, ``values`` (set only) and ``time``. Written in one ``write`` with O_APPEND, so
    lines of several writers never interleave.
    """
    try:
        from ..engine.commands import send_command as engine_send  # the engine's own writer, once it has one
    except ImportError:
        engine_send = None
    if engine_send is not None:
        return engine_send(run_dir, command, values)
    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {folder} does not exist")
    line: dict[str, object] = {"id": uuid.uuid4().hex, "command": command}
    if values:
        line["values"] = dict(values)
    line["time"] = time.time()
    descriptor = os.open(folder / "commands.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (json.dumps(line, separators=(",", ":")) + "\n").encode())
    finally:
        os.close(descriptor)
    return str(line["id"])
