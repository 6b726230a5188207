"""One writer per run folder: an exclusive ``flock`` on ``RUN_DIR/.lock``, holding the writer's pid
and host name.

The operating system releases the lock when the process dies, however it dies, so a killed
run never leaves its folder locked. Its summary then still says "running": the catalog asks
:func:`writer_alive` whether a process on this host still holds the lock (Linux lists every
``flock`` in ``/proc/locks``), else whether that pid still lives (a lock taken only to look would
race with a run starting, and would refuse it). Processes that only append a command to
``commands.jsonl`` (``mnist-tui watch``, scripts) do not take it: they are not writers of the run.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None  # type: ignore[assignment]

from .journal import CheckpointError

LOCK = ".lock"


class RunBusy(CheckpointError):
    """Another process holds the run folder's lock."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"run folder {folder} is being written by {holder}; wait for it to end, or stop it first")
        self.pid = pid


class RunLock:
    """The held lock of one run folder; :meth:`release` (or the process's death) frees it."""

    def __init__(self, folder: Path, fd: int | None) -> None:
        self.folder = folder
        self._fd = fd

    @classmethod
    def acquire(cls, folder: Path) -> RunLock:
        """Take the folder's lock, or raise RunBusy naming the holder's pid.

        A folder that cannot be written (read-only, vanished) is a CheckpointError saying so.
        """
        path = folder / LOCK
        if fcntl is None:
            return cls(folder, None)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise CheckpointError(f"run folder {folder} cannot be written ({error.strerror}); nothing was changed") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _read_pid(fd)
            os.close(fd)
            raise RunBusy(folder, pid) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        except OSError:  # a full disk: the lock holds without the pid, which only a refusal shows
            pass
        return cls(folder, fd)

    def release(self) -> None:
        """Free the lock (the file stays: removing it would race with a process about to take it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def writer_alive(folder: Path) -> bool | None:
    """Whether the process that last took ``folder``'s lock is alive: None when that cannot be
    told (no lock file or pid, Windows, or a writer on another host sharing the folder)."""
    try:
        text = (folder / LOCK).read_bytes()[:300].decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pid, host = _parse(text)
    if host == socket.gethostname():
        held = _flock_held(folder / LOCK)
        if held is not None:  # exact: a reused pid (after a reboot) no longer passes for the writer
            return held
    if pid is None or host != socket.gethostname() or not hasattr(os, "kill"):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but another user's
        return True
    return True


def _flock_held(path: Path) -> bool | None:
    """Whether some process on this machine holds a ``flock`` on ``path`` (Linux's ``/proc/locks``,
    read without taking the lock, which would race with a run starting); None where that cannot
    be read."""
    try:
        status = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return None
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    # "1: FLOCK  ADVISORY  WRITE 12138 fe:00:2146882 0 EOF" (a waiting lock's line has "->" after its number)
    return any(
        len(fields) > 5 and "FLOCK" in fields and fields[fields.index("FLOCK") + 4] == device
        for fields in (line.split() for line in lines)
    )


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 300, 0).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return _parse(text)[0]


def _parse(text: str) -> tuple[int | None, str | None]:
    """``"PID HOST"`` (``"PID"`` from older versions): the pid, and the host if written."""
    parts = text.split()
    if not parts or not parts[0].isdigit():
        return None, None
    return int(parts[0]), (parts[1] if len(parts) > 1 else None)
