"""``python -m mnist_tui`` and the ``mnist-tui`` console script."""

from __future__ import annotations

import os
import sys
import threading

from .exit_codes import CLOSED_OUTPUT, ENGINE_THREAD


def main() -> int:
    from .command import main as run

    try:
        code = run()
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as Unix tools do, and keep the
        # interpreter's last flush from writing to the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = CLOSED_OUTPUT
    if not any(thread.name == ENGINE_THREAD for thread in threading.enumerate()):
        # Every run folder is closed and no engine runs: skip the interpreter's teardown, which
        # takes a second or two with torch and textual loaded (quitting must feel instant).
        # Where an engine thread still runs, the normal exit waits for it to save its work.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe or terminal: nothing more can be said
                pass
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
