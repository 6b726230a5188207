"""The GIL switch interval while the engine trains beside another Python thread.

The engine's thread drops the GIL in every tensor operation and needs it back right after. When
another thread (the dashboard's UI, Rich's progress refresh) is running Python at that moment,
CPython makes the engine wait for the switch interval, 5 ms by default, before it asks that
thread to let go; a training step is dozens of operations. At 0.1 ms, training with the
dashboard open went from 1.20x to 1.05x the headless time (bench/README.md).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

SWITCH_INTERVAL = 0.0001
"""Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005)."""


@contextmanager
def short_switch_interval() -> Iterator[None]:
    """Run the block with :data:`SWITCH_INTERVAL`, then restore the previous interval."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
