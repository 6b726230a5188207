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
from typing import Iterator


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


def load_quietly(name: str) -> ModuleType:
    """``importlib.import_module(name)``; its first import runs :func:`imports_without_collector`."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    with imports_without_collector():
        return importlib.import_module(name)
