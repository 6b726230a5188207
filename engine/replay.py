"""Reading a run's ``events.jsonl`` back as events: whole (to replay a run) or as it grows (``watch``).

A writer appends one JSON object per line and may be caught mid-line, so a last line without its
newline is not an error: it is left for the next read. Anything else that does not parse names its
line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .events import Event, event_from_dict


class ReplayError(ValueError):
    """A line of an event log that is not an event; the message names the file and the line."""


def parse_event_line(line: str, *, path: Path | str, number: int) -> Event:
    """One line of an event log as an event, or a ReplayError naming ``path`` and ``number``."""
    try:
        return event_from_dict(json.loads(line))
    except json.JSONDecodeError:
        raise ReplayError(f"{path} line {number} is not JSON") from None
    except KeyError as error:
        raise ReplayError(f"{path} line {number} is not an mnist-tui event (no {error})") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ReplayError(f"{path} line {number} is not a valid event: {error}") from None


def read_events(path: Path | str) -> list[Event]:
    """Every complete event in the log at ``path`` (a torn last line is left out)."""
    tail = EventTail(path)
    return tail.poll()


class EventTail:
    """Follows an event log as another process appends to it: :meth:`poll` returns the new events.

    Only complete lines are parsed; a partial last line waits for its newline. A file that does not
    exist yet reads as empty (the run may not have started writing).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.offset = 0
        self.lines = 0
        """Complete lines read so far (for error messages)."""
        self._partial = b""

    def poll(self) -> list[Event]:
        """The events appended since the last poll."""
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:  # replaced by a shorter file (a resume dropped a torn tail)
                    self.offset, self._partial = 0, b""
                    raise ReplayError(f"{self.path} shrank while it was followed")
                handle.seek(self.offset)
                chunk = handle.read(size - self.offset)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ReplayError(f"cannot read {self.path}: {error.strerror or error}") from None
        self.offset += len(chunk)
        data = self._partial + chunk
        complete, _, self._partial = data.rpartition(b"\n")
        if not complete and not _:
            return []
        events: list[Event] = []
        for raw in complete.split(b"\n"):
            self.lines += 1
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                events.append(parse_event_line(text, path=self.path, number=self.lines))
        return events
