"""``python -m mnist_tui`` and the ``mnist-tui`` console script.

Everything the command imports is imported inside ``main``'s ``try``, so a Ctrl+C at any moment
of the start (loading torch or textual takes seconds) ends in one line, never a traceback; and
stdout is wrapped so that a write it refuses is told apart from a run folder's.
"""

from __future__ import annotations

import io
import os
import sys

from .exit_codes import CLOSED_OUTPUT, ENGINE_THREAD, FAILED, INTERRUPTED
from .table import silence_stdout


class OutputError(OSError):
    """A write to stdout failed for another reason than a closed pipe (a full disk, an I/O error)."""


class GuardedOutput:
    """Stdout as it was, whose failed writes raise ``OutputError`` (a closed pipe stays ``BrokenPipeError``)."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(error.errno, error.strerror) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(error.errno, error.strerror) from error

    def __getattr__(self, name: str) -> object:  # isatty, fileno, encoding...: the stream's own
        return getattr(self._stream, name)


def main() -> int:
    """Run the command; every way it can end without finishing is one line on stderr and an exit code."""
    try:
        if sys.stdout is None:  # started with stdout closed (``>&-``): nothing it printed could be seen
            return _cannot_write("stdout is closed")
        sys.stdout = GuardedOutput(sys.stdout)  # type: ignore[assignment]
        from .command import main as run

        code = run()
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as Unix tools do, and keep the
        # interpreter's last flush from writing to the closed pipe again.
        silence_stdout()
        code = CLOSED_OUTPUT
    except OutputError as error:
        silence_stdout()
        code = _cannot_write(error.strerror or str(error))
    except KeyboardInterrupt:  # Ctrl+C before a command took it over (while loading, say)
        print("mnist-tui: interrupted", file=sys.stderr)
        code = INTERRUPTED
    import threading  # here, not at the top: the start before the try above is kept as short as can be

    if not any(thread.name == ENGINE_THREAD for thread in threading.enumerate()):
        # Every run folder is closed and no engine runs: skip the interpreter's teardown, which
        # takes a second or two with torch and textual loaded (quitting must feel instant).
        # Where an engine thread still runs, the normal exit waits for it to save its work.
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):  # a closed pipe or terminal: nothing more can be said
                pass
        os._exit(code)
    return code


def _cannot_write(reason: str) -> int:
    """The one line a write error gets, as Unix tools say it (naming the subcommand, as its other
    errors do), and their exit code."""
    from .command import SUBCOMMANDS

    name = "mnist-tui" + (f" {sys.argv[1]}" if sys.argv[1:2] and sys.argv[1] in SUBCOMMANDS else "")
    print(f"{name}: cannot write the output: {reason}", file=sys.stderr)
    return FAILED


if __name__ == "__main__":
    sys.exit(main())
