"""Commands for a running engine: the in-process :class:`Inbox` and the run folder's command file.

The dashboard puts commands into an :class:`Inbox` from its UI thread; any process that can write
the run folder appends them to ``RUN_DIR/commands.jsonl`` (:func:`send_command`), one JSON object
per line::

    {"id": "<unique string>", "command": "set", "values": {"lr": 0.0001}, "time": 1767225600.0}

``command`` is pause, resume, step, stop or set; ``values`` (set only) maps lr, momentum or
weight_decay to a number; ``time`` is when it was written (Unix seconds). The engine
(``steering.py``) reads the file's new lines at each report and every 0.2 s while paused, acts on
each id once and answers every line, malformed ones and those written before the engine session
started (not replayed) included, with a CommandAnswered event.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

COMMAND_FILE = "commands.jsonl"
SETTINGS = ("lr", "momentum", "weight_decay")
"""The optimizer settings a running engine can change."""
FILE_COMMANDS = ("pause", "resume", "step", "stop", "set")
"""Commands the command file takes (a prediction's answer is not recorded, so it has no use there)."""
COMMANDS = (*FILE_COMMANDS, "predict")
PIXELS = 28 * 28
MAX_ID = 200
NOT_REPLAYED = "not replayed: written before this engine session started"
"""The answer to a line written before the engine session started: a resume after a kill finds the
commands carried out since the checkpoint unanswered (their answers were cut back with the log).
Not an error: the printers say it once, not as a refusal per line."""
IN_USE = "the values are the ones in use"
NO_CHANGE = f"no change: {IN_USE}"
"""A ``set`` command's answer where every value it names is already the one in use."""


@dataclass(frozen=True)
class Command:
    """One command for the engine; ``source`` is inbox or file, ``values`` the settings of a set."""

    id: str
    command: str
    values: Mapping[str, Any] = field(default_factory=dict)
    pixels: bytes | None = None
    source: str = "inbox"


@dataclass(frozen=True)
class Refused:
    """A command-file line the engine will not act on, with the reason (answered, never acted on)."""

    id: str
    command: str
    reason: str


def new_command_id() -> str:
    """A fresh, unique command id."""
    return uuid.uuid4().hex


def check_command(command: str, values: Mapping[str, Any] | None, *, allowed: tuple[str, ...] = COMMANDS) -> dict[str, Any]:
    """The command's values as a dict; a ValueError for an unknown command or values that do not fit it.

    Only the shape is checked here (which settings, numbers); ranges and whether the optimizer has
    a setting are the engine's to check, and it answers with the reason.
    """
    if command not in allowed:
        raise ValueError(f"unknown command {command!r}: use one of {', '.join(allowed)}")
    if command != "set":
        if values:
            raise ValueError(f"{command} takes no values")
        return {}
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"set needs values, such as {{'lr': 0.0001}} (settings: {', '.join(SETTINGS)})")
    for key, value in values.items():
        if key not in SETTINGS:
            raise ValueError(f"set: {key!r} cannot change during a run (only {', '.join(SETTINGS)} can)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"set: {key} must be a number, not {value!r}")
    return dict(values)


class Inbox:
    """Commands for a running engine from any thread; the engine takes them between batches.

    ``put`` takes a lock; the engine's per-batch check reads the plain attribute ``waiting``
    (no lock, no host sync). A prediction does not interrupt training: it is answered at the next
    report, or at once while paused.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._commands: deque[Command] = deque()
        self._predictions: deque[Command] = deque()
        self._wakeup = threading.Event()
        self.waiting = False
        """Set while a command other than a prediction waits: the engine ends its interval early."""

    def put(
        self, command: str, values: Mapping[str, float] | None = None, *, pixels: bytes | None = None,
        source: str = "inbox",
    ) -> str:
        """Queue a command (pause, resume, step, stop, set with ``values``, predict with ``pixels``);
        returns its id, which the CommandAnswered or DigitPredicted answer carries.

        A ValueError for an unknown command, values that are not settings and numbers, or pixels
        that are not 784 bytes.
        """
        checked = check_command(command, values)
        if command == "predict":
            if not isinstance(pixels, (bytes, bytearray)) or len(pixels) != PIXELS:
                raise ValueError(f"predict needs {PIXELS} greyscale bytes (28x28, row by row)")
            pixels = bytes(pixels)
        elif pixels is not None:
            raise ValueError(f"{command} takes no pixels")
        queued = Command(id=new_command_id(), command=command, values=checked, pixels=pixels, source=source)
        self.put_command(queued)
        return queued.id

    def put_command(self, command: Command) -> None:
        """Queue a command that is already checked (the command file's reader uses this)."""
        with self._lock:
            if command.command == "predict":
                self._predictions.append(command)
            else:
                self._commands.append(command)
                self.waiting = True
        self._wakeup.set()

    def take(self) -> Command | None:
        """The oldest waiting command other than a prediction, or None."""
        with self._lock:
            command = self._commands.popleft() if self._commands else None
            self.waiting = bool(self._commands)
            return command

    def take_predictions(self) -> list[Command]:
        """Every waiting prediction, oldest first."""
        with self._lock:
            taken = list(self._predictions)
            self._predictions.clear()
            return taken

    def wait(self, timeout: float) -> None:
        """Block until something is put or ``timeout`` seconds pass."""
        self._wakeup.wait(timeout)
        self._wakeup.clear()


def send_command(run_dir: str | Path, command: str, values: Mapping[str, float] | None = None) -> str:
    """Append one command to ``RUN_DIR/commands.jsonl`` for the engine training that run; returns its id.

    The line is written with one ``write`` on a descriptor opened with O_APPEND, so lines from
    several writers never interleave. A ValueError for a command or values that do not fit; a
    FileNotFoundError when ``run_dir`` is no folder.
    """
    checked = check_command(command, values, allowed=FILE_COMMANDS)
    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {folder} does not exist")
    line: dict[str, Any] = {"id": new_command_id(), "command": command}
    if checked:
        line["values"] = checked
    line["time"] = time.time()
    data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
    descriptor = os.open(folder / COMMAND_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)
    return line["id"]


class CommandFile:
    """Reads the new lines of ``RUN_DIR/commands.jsonl``: each id once, malformed and earlier lines refused.

    ``since`` is when this engine session started: earlier lines are answered ``NOT_REPLAYED`` and
    not acted on. ``answered`` holds the ids the run's log already answered (in an earlier
    session): those lines are skipped silently, their answer is in the log. A malformed line's id
    is ``line N``.
    """

    def __init__(self, run_dir: str | Path, *, since: float, answered: set[str] | None = None) -> None:
        self.path = Path(run_dir) / COMMAND_FILE
        self.since = since
        self._earlier = set(answered or ())
        self._seen: set[str] = set()
        self._offset = 0
        self._line = 0
        self._problem: str | None = None

    def read(self) -> list[Command | Refused]:
        """The complete lines written since the last read (a partly written last line waits).

        A file that cannot be read (a folder in its place, no permission) is answered once, as a
        refusal with the id ``file``, and read again at each call: training goes on.
        """
        try:
            size = os.stat(self.path).st_size
            if size == self._offset:
                return []
            if size < self._offset:  # replaced or truncated: read it again; ids answered stay answered
                self._offset = self._line = 0
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read(size - self._offset)
        except FileNotFoundError:
            return []
        except OSError as error:
            problem = f"ignored: {COMMAND_FILE} cannot be read ({error.strerror or error}); commands wait until it can"
            if problem == self._problem:
                return []
            self._problem = problem
            return [Refused("file", "", problem)]
        self._problem = None
        end = data.rfind(b"\n") + 1
        self._offset += end
        found: list[Command | Refused] = []
        for raw in data[:end].splitlines():
            self._line += 1
            if raw.strip():
                item = self._parse(raw)
                if item is not None:
                    found.append(item)
        return found

    def _parse(self, raw: bytes) -> Command | Refused | None:
        number = f"line {self._line}"
        try:
            line = json.loads(raw)
        # Not JSON, not UTF-8, an integer of over 4,300 digits (all ValueErrors), or nested too
        # deep: the line is refused and training goes on.
        except (ValueError, RecursionError):
            return self._refuse(number, "", f"ignored: {number} of {COMMAND_FILE} is not JSON")
        if not isinstance(line, dict):
            return self._refuse(number, "", f"ignored: {number} is not a JSON object")
        name = line.get("command")
        name = name if isinstance(name, str) else ""
        command_id = line.get("id")
        if not isinstance(command_id, str) or not command_id or len(command_id) > MAX_ID:
            return self._refuse(number, name, f"ignored: {number} has no id (a string of 1 to {MAX_ID} characters)")
        if command_id in self._earlier:
            return None
        if command_id in self._seen:
            return Refused(command_id, name, f"ignored: id {command_id!r} ({number}) was already answered")
        self._seen.add(command_id)
        written = line.get("time")
        if isinstance(written, bool) or not isinstance(written, (int, float)) or not math.isfinite(written):
            return Refused(command_id, name, f"ignored: {number} has no time (Unix seconds when it was written)")
        unknown = sorted(set(line) - {"id", "command", "values", "time"})
        if unknown:
            return Refused(command_id, name, f"ignored: {number} has unknown fields: {', '.join(unknown)}")
        try:
            values = check_command(name, line.get("values"), allowed=FILE_COMMANDS)
        except ValueError as error:
            return Refused(command_id, name, f"ignored: {error}")
        if written < self.since:
            return Refused(command_id, name, NOT_REPLAYED)
        return Command(id=command_id, command=name, values=values, source="file")

    def _refuse(self, number: str, name: str, reason: str) -> Refused | None:
        if number in self._earlier:
            return None
        self._seen.add(number)
        return Refused(number, name, reason)
