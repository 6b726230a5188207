"""A dashboard whose terminal is gone stops its run with a checkpoint and exits 129.

The app's own loop cannot be counted on for this. When the terminal closes, Textual's input
thread reads end-of-file forever and its output can block the main thread, so signal handlers
that the loop runs may never run; a parent that traps or ignores SIGHUP may not even pass the
signal on. A daemon thread therefore watches the terminal itself: SIGHUP, or standard input
hung up (a closed pty, a pipe at its end), stops the engine through its thread-safe flags, waits
for it to write its checkpoint, and ends the process without touching the terminal again.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from types import FrameType
from typing import Callable

from ..exit_codes import ENGINE_GRACE_SECONDS, ENGINE_THREAD, HANGUP

POLL_SECONDS = 0.25
"""How often the watch looks at the terminal."""
_GONE = getattr(select, "POLLHUP", 0) | getattr(select, "POLLERR", 0) | getattr(select, "POLLNVAL", 0)


def watch_terminal(stop_run: Callable[[], None], *, fd: int | None = None) -> threading.Event:
    """Start watching (from the main thread): once the terminal is gone, ``stop_run()`` is called
    from the watch's thread (it must only set thread-safe flags), then the process exits 129.

    Returns the event that marks the terminal gone (set by SIGHUP or by the watch).
    """
    gone = threading.Event()
    descriptor = sys.__stdin__.fileno() if fd is None and sys.__stdin__ is not None else fd

    def on_hangup(number: int, frame: FrameType | None) -> None:
        gone.set()

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_hangup)
    thread = threading.Thread(
        target=_watch, args=(descriptor, gone, stop_run), name="mnist-tui terminal watch", daemon=True
    )
    thread.start()
    return gone


NO_TERMINAL = "the dashboard reads its keys from a terminal, and standard input is not one"
"""Why a dashboard refuses to start (its command adds what to do instead)."""


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal the dashboard can read keys from.

    Anything else (``</dev/null``, a file, a pipe, a closed stdin) is at its end at once or soon, and
    Textual's input thread would then read end-of-file in a loop, a core at 100 % forever; poll
    reports a hang-up only for a pty or a pipe, so the watch below could not catch it either.
    """
    stdin = sys.__stdin__
    try:
        return stdin is not None and os.isatty(stdin.fileno())
    except (OSError, ValueError):  # a closed or detached stdin
        return False


def terminal_gone(fd: int | None) -> bool:
    """Whether ``fd`` has hung up (a closed pty or pipe), without reading from it."""
    if fd is None or not hasattr(select, "poll"):  # Windows: SIGHUP does not exist there either
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        events = poller.poll(0)
    except OSError:
        return True
    return any(flags & _GONE for _, flags in events)


def _watch(fd: int | None, gone: threading.Event, stop_run: Callable[[], None]) -> None:
    while not gone.wait(POLL_SECONDS):
        if terminal_gone(fd):
            gone.set()
    stop_run()
    deadline = time.monotonic() + ENGINE_GRACE_SECONDS
    while any(t.name == ENGINE_THREAD for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(HANGUP)  # no teardown: it would try to restore a terminal that is not there
