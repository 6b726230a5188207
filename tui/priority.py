"""The engine's threads give way to the dashboard's when both have work to do.

While a run trains, the engine keeps every core busy. When a key arrives or a frame is due,
the UI thread, Textual's input and output threads and the terminal (tmux, the terminal emulator)
wake up for a few milliseconds; at the same priority they wait for the scheduler to take a core
from a training thread, tens of milliseconds on a busy 2-core machine. The engine's thread
lowers its own priority (``nice``) before it trains; the threads torch starts from it to train
on the other cores inherit it. Training still gets every cycle the dashboard does not use.

Linux only (there, the nice value is a thread's own); elsewhere nothing changes.
"""

from __future__ import annotations

import os
import sys
import threading

ENGINE_NICE = 10
"""Waking interactive threads preempt the engine at once, and a repaint sharing a core with a
training thread gets about 90 % of it (the scheduler's weights for nice 0 and 10 are 1024 and
110; at nice 5, 335, about 75 %: the help's closing took 44 ms at the median on the terminal,
36-38 ms at 10)."""


def lower_this_thread(nice: int = ENGINE_NICE) -> bool:
    """Give the calling thread (and the threads it starts from now on) the nice value ``nice``, if
    it is higher than the thread's own; True if the thread now runs at ``nice`` or lower priority."""
    if not sys.platform.startswith("linux"):
        return False
    thread = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, thread) < nice:
            os.setpriority(os.PRIO_PROCESS, thread, nice)
        return os.getpriority(os.PRIO_PROCESS, thread) >= nice
    except OSError:  # a sandbox that forbids it: train at the priority the thread has
        return False
