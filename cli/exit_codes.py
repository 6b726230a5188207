"""Process exit codes of ``mnist-tui``, shared by the headless runner and the dashboard."""

from __future__ import annotations

TYPE_CHECKING = False
"""``typing.TYPE_CHECKING`` without loading typing (5 ms): ``mnist-tui`` imports this module before it
can catch a Ctrl+C, so it loads nothing more (type checkers take any ``TYPE_CHECKING`` as true)."""
if TYPE_CHECKING:
    from .engine.events import Terminal

ENGINE_THREAD = "mnist-tui engine"
"""The name a thread carries while it runs the engine: the process exits fast only when none does."""
ENGINE_GRACE_SECONDS = 30.0
"""Longest a closing dashboard waits for its engine to stop and checkpoint before it goes on anyway."""

FINISHED = 0
FAILED = 1
"""An error during training, a run folder that could not be written (full disk, read-only, gone), or
an output that could not be written (stdout on a full disk, or closed): a Unix tool's write error."""
USAGE = 2
"""Usage, config, data or checkpoint error, or a run folder another process is writing: nothing was trained."""
DIVERGED = 3
BELOW_THRESHOLD = 4
INTERRUPTED = 130
"""Stopped by Ctrl+C (128 + SIGINT)."""
TERMINATED = 143
"""Stopped by SIGTERM (128 + SIGTERM)."""
HANGUP = 129
"""Stopped because the terminal closed (128 + SIGHUP)."""
CLOSED_OUTPUT = 141
"""The reader of the output went away (``mnist-tui runs | head``): 128 + SIGPIPE, as a shell reports
any Unix tool stopped that way."""
BEFORE_TRAINING = ("config", "data", "checkpoint", "busy")
"""Failure reasons that come before anything is trained (exit 2); ``error`` and ``write`` exit 1."""


def exit_code(terminal: Terminal | None, *, fail_under: float | None = None, signal_code: int | None = None) -> int:
    """The exit code for how a run ended."""
    if terminal is None:
        return FAILED
    if terminal.status == "stopped":
        return signal_code if signal_code is not None else INTERRUPTED
    if terminal.status == "diverged":
        return DIVERGED
    if terminal.status == "failed":
        return USAGE if getattr(terminal, "reason", "") in BEFORE_TRAINING else FAILED
    final = getattr(terminal, "final_accuracy", None)
    if fail_under is not None and final is not None and final < fail_under:
        return BELOW_THRESHOLD
    return FINISHED
