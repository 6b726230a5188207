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
from typing import Callable, Iterator

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


REPAINT_SWITCH_INTERVAL = 0.005
"""Python's default: while the UI repaints the whole screen (a screen pushed or popped, a view
switched), the engine waits for the GIL until the UI's Python is done, instead of taking it back
every 0.1 ms. On 2 cores with training running, a whole repaint of the dashboard (20-50 ms of
Python) took up to half as long again in wall time, and the key that asked for it showed that
much later."""


def long_switch_interval_until(restore_after: Callable[[Callable[[], None]], object]) -> None:
    """Lengthen the switch interval now (if it is the short one) and have ``restore_after`` call
    back to shorten it again: the app passes its ``call_after_refresh``, so the interval is short
    again once the repaint is on the screen."""
    if sys.getswitchinterval() != SWITCH_INTERVAL:
        return  # not training beside the UI (or already lengthened): nothing to do
    sys.setswitchinterval(REPAINT_SWITCH_INTERVAL)

    def restore() -> None:
        if sys.getswitchinterval() == REPAINT_SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)

    restore_after(restore)
