"""The run folder as a journal: an epoch counts once its checkpoint is written.

``events.jsonl`` is appended one whole line per write (a failed write is cut back, so no line is
ever half there). A checkpoint commits in this order:

1. the log is synced (every event before the checkpoint is on disk);
2. new best weights go to ``best.pt.next``;
3. ``last.pt`` is written atomically, holding its ``journal`` record: how many bytes of the log
   came before it, the log lines that announce it, and the run's best epoch (the commit point);
4. ``best.pt.next`` is renamed over ``best.pt``;
5. the announcing lines are appended to the log.

A resume (:func:`plan_recovery`, then :meth:`Recovery.apply`) cuts the log back to the length
``last.pt`` records, which drops a torn last line and every event logged after that checkpoint,
then redoes steps 4 and 5. A kill at any moment thus leaves a folder whose log, ``best.pt``,
``last.pt`` and summary agree once resumed; leftover temporary files are removed then.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

LOG = "events.jsonl"
NEXT_BEST = "best.pt.next"
_TEMPORARY = re.compile(r"^\..+\.\d+\.tmp$")
"""Names :func:`atomic_write` gives its temporary files (``.NAME.PID.tmp``)."""


class CheckpointError(RuntimeError):
    """A run folder or checkpoint that cannot be resumed; the message names the file."""


class WriteFailed(OSError):
    """Writing the run folder failed (full disk, read-only or vanished folder); names the path and why."""

    def __init__(self, path: Path | str, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error), str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.strerror}"


def first_detail(error: BaseException) -> str:
    """The first specific line of torch's load errors ("size mismatch for 0.weight: ..."), whose
    first line is only "Error(s) in loading state_dict for Sequential:"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    specific = [line for line in lines if not line.startswith("Error(s) in loading")]
    return (specific or lines or [type(error).__name__])[0].rstrip(".")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise WriteFailed(path, error) from None
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # a vanished or read-only folder: there is nothing left to clean
            pass
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform can open folders)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(descriptor)
    except OSError:  # a folder that cannot be synced still holds the renamed file
        pass
    finally:
        os.close(descriptor)


class EventLog:
    """``events.jsonl``, appended a whole line at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                raise WriteFailed(self.path, error) from None
        return self._fd

    def append(self, lines: Sequence[str]) -> None:
        """Append ``lines``; a failed write is cut back off, so no line is left half-written."""
        if not lines:
            return
        fd = self._open()
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as error:
            try:
                os.ftruncate(fd, start)
            except OSError:  # the write's own error is the one to report
                pass
            raise WriteFailed(self.path, error) from None

    def sync(self) -> None:
        """Put what was appended on disk."""
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError as error:
                raise WriteFailed(self.path, error) from None

    def size(self) -> int:
        """The log's length in bytes (0 before it exists)."""
        if self._fd is not None:
            return os.fstat(self._fd).st_size
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def cut(self, size: int) -> None:
        """Cut the log back to its first ``size`` bytes."""
        try:
            if self.path.exists() or size:
                os.truncate(self.path, size)
        except OSError as error:
            raise WriteFailed(self.path, error) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def journal_record(log_bytes: int, lines: Sequence[str], best_epoch: int | None) -> dict[str, Any]:
    """What ``last.pt`` keeps of the log: its length before the checkpoint, its lines, the best epoch."""
    return {"log_bytes": log_bytes, "lines": list(lines), "best_epoch": best_epoch}


@dataclass(frozen=True)
class Recovery:
    """How a resume brings a run folder back to its last checkpoint (computed without writing)."""

    folder: Path
    keep_bytes: int
    """The log is cut to this many bytes..."""
    lines: tuple[str, ...]
    """...then these lines, the checkpoint's own, are appended."""
    events: tuple[dict[str, Any], ...]
    """Every event the log holds afterwards."""
    promote_best: bool
    """Whether ``best.pt.next`` (the committed best weights) still has to replace ``best.pt``."""

    def apply(self, log: EventLog) -> None:
        """Finish the checkpoint's commit: best weights in place, log cut back, leftovers removed."""
        nxt = self.folder / NEXT_BEST
        try:
            if self.promote_best:
                os.replace(nxt, self.folder / "best.pt")
            else:
                nxt.unlink(missing_ok=True)
        except OSError as error:
            raise WriteFailed(nxt, error) from None
        remove_leftovers(self.folder)
        log.cut(self.keep_bytes)
        log.append(self.lines)
        log.sync()


def remove_leftovers(folder: Path) -> None:
    """Delete the temporary files that writers killed mid-write left (only the lock holder calls this)."""
    for path in folder.iterdir():
        if _TEMPORARY.match(path.name) and path.is_file():
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as error:
                raise WriteFailed(path, error) from None


def plan_recovery(folder: Path, state: dict[str, Any] | None, best_epoch_of: Any) -> Recovery:
    """How to bring ``folder`` back to the checkpoint ``state`` (None: no checkpoint was ever written).

    ``best_epoch_of(path)`` reads the epoch a weights file holds. Corruption before the
    checkpoint is a CheckpointError naming the line.
    """
    log_path = folder / LOG
    try:
        data = log_path.read_bytes() if log_path.is_file() else b""
    except OSError as error:
        raise CheckpointError(f"{log_path} cannot be read: {error.strerror}") from None
    if state is None:
        # Killed before the first checkpoint: the run starts again from its config.
        if any(event.get("event") == "checkpoint" for event in _parse(log_path, data, strict=False)):
            raise CheckpointError(f"{folder / 'last.pt'} does not exist, although {log_path} records checkpoints")
        return Recovery(folder, 0, (), (), promote_best=False)
    journal = state.get("journal")
    if journal is None:  # a checkpoint written before the journal: keep every whole line
        events = _parse(log_path, data, strict=False)
        keep = data.rfind(b"\n") + 1
        return Recovery(folder, keep, (), tuple(events), promote_best=False)
    keep, lines, best_epoch = _check_record(folder, journal)
    if keep and not log_path.is_file():  # a copy that left it out: not a log "cut" to 0 bytes
        missing = "is not a file" if log_path.exists() else "does not exist"
        raise CheckpointError(f"{log_path} {missing}, although {folder / 'last.pt'} records {keep:,} bytes of it")
    if len(data) < keep:
        raise CheckpointError(
            f"{log_path} has {len(data):,} bytes, fewer than the {keep:,} logged before {folder / 'last.pt'} (the log was cut)"
        )
    if keep and data[keep - 1 : keep] != b"\n":
        raise CheckpointError(f"{log_path} does not end a line where {folder / 'last.pt'} says it did (the log was edited)")
    events = _parse(log_path, data[:keep], strict=True) + [json.loads(line) for line in lines]
    nxt = folder / NEXT_BEST
    promote = best_epoch is not None and nxt.is_file() and _epoch_or_none(best_epoch_of, nxt) == best_epoch
    if best_epoch is not None and not promote:
        best = folder / "best.pt"
        try:
            held = best_epoch_of(best)
        except CheckpointError as error:  # says why: missing, unreadable, corrupt...
            raise CheckpointError(f"{error}, but the run's best epoch is {best_epoch}; {_best_advice(folder)}") from None
        if held != best_epoch:
            raise CheckpointError(f"{best} holds epoch {held}, but the run's best epoch is {best_epoch}; {_best_advice(folder)}")
    return Recovery(folder, keep, tuple(lines), tuple(events), promote_best=promote)


def _check_record(folder: Path, journal: Any) -> tuple[int, list[str], int | None]:
    where = folder / "last.pt"
    if not isinstance(journal, dict):
        raise CheckpointError(f"{where}: its journal record is not a table")
    keep, lines, best = journal.get("log_bytes"), journal.get("lines"), journal.get("best_epoch")
    if not _count(keep):
        raise CheckpointError(f"{where}: log_bytes {keep!r} is not a byte count")
    if not isinstance(lines, list) or not all(isinstance(line, str) and "\n" not in line for line in lines):
        raise CheckpointError(f"{where}: its journal lines are not lines of text")
    for line in lines:
        try:
            json.loads(line)
        except (ValueError, RecursionError):
            raise CheckpointError(f"{where}: a journal line is not JSON") from None
    if best is not None and not _count(best):
        raise CheckpointError(f"{where}: best_epoch {best!r} is not an epoch")
    return keep, lines, best


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _best_advice(folder: Path) -> str:
    """What to do when a run's ``best.pt`` is not the one its log names (a resume would lose it)."""
    return f"put that best.pt back to resume, or train the run's config anew: mnist-tui --config {folder / 'config.toml'}"


def _epoch_or_none(best_epoch_of: Any, path: Path) -> int | None:
    if not path.is_file():
        return None
    try:
        return best_epoch_of(path)
    except CheckpointError:
        return None


def _parse(log_path: Path, data: bytes, *, strict: bool) -> list[dict[str, Any]]:
    """The log's events; ``strict=False`` drops a torn last line (one without its newline)."""
    text_lines = data.split(b"\n")
    torn = text_lines.pop()  # after the last newline: empty, or a line cut by a kill
    if torn and strict:
        raise CheckpointError(f"{log_path} line {len(text_lines) + 1} is cut off")
    events = []
    for number, raw in enumerate(text_lines, 1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except (ValueError, RecursionError):
            raise CheckpointError(f"{log_path} line {number} is not JSON") from None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise CheckpointError(f"{log_path} line {number} is not an event")
        events.append(event)
    return events
