"""Reading a run's ``events.jsonl`` back as events: whole (to replay a run) or as it grows (``watch``).

A writer appends one JSON object per line and may be caught mid-line, so a last line without its
newline is not an error: it is left for the next read. A line that does not parse is skipped, and
a message naming it is kept for the reader to show.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .events import Event, event_from_dict


class ReplayError(ValueError):
    """A line of an event log that is not an event, or a log that cannot be read; the message names
    the file (and the line)."""


class LogRewritten(ReplayError):
    """The followed log was cut back and written again in place: it is read again from its start."""


def parse_event_line(line: str, *, path: Path | str, number: int) -> Event:
    """One line of an event log as an event, or a ReplayError naming ``path`` and ``number``."""
    try:
        return event_from_dict(json.loads(line))
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested too deep to read
        raise ReplayError(f"{path} line {number} is not JSON") from None
    except KeyError as error:
        raise ReplayError(f"{path} line {number} is not an mnist-tui event (no {error})") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ReplayError(f"{path} line {number} is not a valid event: {error}") from None


def read_events(path: Path | str) -> tuple[list[Event], list[str]]:
    """Every complete event in the log at ``path`` (a torn last line is left out), and what was
    skipped: one message per line that is no event, naming its line. An unreadable file is a
    ReplayError."""
    tail = EventTail(path)
    events = tail.poll()
    return events, tail.take_problems()


def describe_skipped(problems: list[str]) -> str:
    """One message for the lines a read skipped: the first one's, and how many there were."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems):,} lines were skipped; the first: {problems[0].removesuffix(': skipped')}"


FINGERPRINT_BYTES = 256
"""How much of the log, up to where a follower has read, it checks is still there at each poll."""


class EventTail:
    """Follows an event log as another process appends to it: :meth:`poll` returns the new events.

    Only complete lines are parsed; a partial last line waits for its newline. A file that does not
    exist yet reads as empty (the run may not have started writing). A line that is no event is
    skipped, its message kept for :meth:`take_problems`: one bad line costs that line, not the run.

    A resume cuts the log back to its checkpoint and appends to it in place, so a follower's offset
    may land inside new lines: each poll checks that the bytes it read last are still where they
    were, and when they are not (or the file is shorter) it raises LogRewritten with the offset
    back at 0, so the caller reads the log again from its start.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.offset = 0
        self.lines = 0
        """Complete lines read so far (for error messages)."""
        self._partial = b""
        self._seen = b""
        """The last bytes read (up to ``FINGERPRINT_BYTES``), ending at ``offset``."""
        self._problems: list[str] = []

    def take_problems(self) -> list[str]:
        """The messages of the lines skipped since the last call."""
        problems, self._problems = self._problems, []
        return problems

    def poll(self) -> list[Event]:
        """The events appended since the last poll."""
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                start = self.offset - len(self._seen)
                if size < self.offset or (self._seen and os.pread(handle.fileno(), len(self._seen), start) != self._seen):
                    self._restart()
                    raise LogRewritten(f"{self.path} was rewritten while it was followed (a resume cut it back)")
                handle.seek(self.offset)
                chunk = handle.read(size - self.offset)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ReplayError(f"cannot read {self.path}: {error.strerror or error}") from None
        self.offset += len(chunk)
        self._seen = (self._seen + chunk)[-FINGERPRINT_BYTES:]
        data = self._partial + chunk
        complete, _, self._partial = data.rpartition(b"\n")
        if not complete and not _:
            return []
        events: list[Event] = []
        for raw in complete.split(b"\n"):
            self.lines += 1
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                try:
                    events.append(parse_event_line(text, path=self.path, number=self.lines))
                except ReplayError as error:
                    self._problems.append(f"{error}: skipped")
        return events

    def _restart(self) -> None:
        self.offset, self.lines, self._partial, self._seen = 0, 0, b"", b""
