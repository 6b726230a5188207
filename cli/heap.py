"""Heavy imports without the garbage collector, and their objects kept out of its full passes.

Importing torch creates some 300,000 objects the collector tracks, and it counts them as they
come: a full collection ran five or six times while torch and the engine loaded, each walking
everything imported so far, 0.5 s in all headless and 1.5 s in the dashboard's engine thread
(``gc.callbacks``; the last ones took 250-330 ms). Modules live as long as the process, so the
collector is paused while they load and what they leave is frozen (``gc.freeze``): later full
collections skip it. Only a module's first import does this: every object alive then is frozen
with it (the dashboard's widgets of that moment too), so it happens once per process.
"""

from __future__ import annotations

import gc
import importlib
import sys
from contextlib import contextmanager
from types import ModuleType
from typing import Callable, Iterator


@contextmanager
def imports_without_collector() -> Iterator[None]:
    """Run the block (imports) with the collector paused, then freeze every object alive."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


TORCH_LAZY = ("torch._dynamo",)
"""What torch imports on first use rather than with itself: its first optimizer imports
``torch._dynamo`` (``torch._disable_dynamo`` on ``Optimizer.add_param_group``), some 890 modules
and 100,000 objects in 1.4 s. Loaded after the freeze, they stayed in every full collection,
which took 40-190 ms of the dashboard's UI thread while training ran."""


def load_quietly(name: str, *also: str) -> ModuleType:
    """``importlib.import_module(name)``, and the modules ``also`` (what it imports on first use);
    the first import of any of them runs :func:`imports_without_collector`."""
    names = (name, *also)
    if all(each in sys.modules for each in names):
        return sys.modules[name]
    with imports_without_collector():
        for each in names:
            importlib.import_module(each)
    return sys.modules[name]


def collector_paused_until(restore_after: Callable[[Callable[[], None]], object]) -> None:
    """Pause the collector now and have ``restore_after`` call back to resume it.

    The app passes its ``call_after_refresh`` when it repaints the whole screen: the repaint
    (20-60 ms of Python while training runs) makes some 20,000 objects, enough for a dozen young
    collections and a 2-6 ms middle one each time, and now and then a full one of 30 ms or more,
    all while the key that asked waits. Paused, they run once the screen is painted; nothing is
    skipped. A collector the caller had switched off stays off.
    """
    if not gc.isenabled():
        return
    gc.disable()
    restore_after(gc.enable)
