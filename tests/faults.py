"""Run the ``mnist-tui`` command with a fault at an exact moment of its run (used by the tests).

    python tests/faults.py kill-after-line N -- ARGS...   SIGKILL itself right after its N-th line of events.jsonl
    python tests/faults.py stop-after-line N -- ARGS...   SIGSTOP itself there instead (the test then fills the
                                                          disk, or runs a second process, and sends SIGCONT)
    python tests/faults.py kill-in-write NAME#K -- ARGS...  SIGKILL itself just before the K-th rename onto NAME
                                                            (an atomic write's temporary file written, or
                                                            best.pt.next about to become best.pt)
    python tests/faults.py kill-after-write NAME#K -- ARGS...  SIGKILL itself just after the K-th rename onto NAME
                                                               (a pattern: smoke-*#1, as soon as a smoke run's
                                                               folder is in place)

    python tests/faults.py serve                          a fork server: imports the command once, then for each
                                                          request line {"fault": [ACTION, WHERE] or null, "args":
                                                          [...], "cwd": DIR, "output": PREFIX, "env": {...} (optional,
                                                          set in the child)} forks a child that runs it (stdout and
                                                          stderr to PREFIX.out and PREFIX.err), answers {"pid": PID},
                                                          then {"code": EXIT} when it ends

A watcher polling the run folder could not hit "right after an epoch's line, before its
checkpoint" reliably (a few milliseconds on a fast machine); the hook can. Everything else is
the real command: the same ``main()`` the console script runs, with ARGS as its command line.
The fork server saves each run the import of torch (over 10 s on a busy two-core machine);
nothing in it computes before forking, so each child starts as a fresh process would.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import sys

from mnist_tui.engine import journal


def _fire(number: int) -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), number)


def _after_lines(count: int, number: int) -> None:
    original = journal.EventLog.append
    written = [0]

    def append(self: journal.EventLog, lines: list[str]) -> None:
        before = written[0]
        original(self, lines)
        written[0] += len(lines)
        if before < count <= written[0]:
            _fire(number)

    journal.EventLog.append = append  # type: ignore[method-assign]


def _in_write(spec: str, *, after: bool = False) -> None:
    name, _, nth = spec.partition("#")
    original = os.replace
    seen = [0]

    def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        fire = False
        if fnmatch.fnmatchcase(os.path.basename(target), name):
            seen[0] += 1
            fire = seen[0] == int(nth or 1)
        if fire and not after:
            _fire(signal.SIGKILL)
        original(source, target)
        if fire and after:
            _fire(signal.SIGKILL)

    journal.os.replace = replace  # type: ignore[assignment]


def _install(action: str, where: str) -> None:
    if action == "kill-after-line":
        _after_lines(int(where), signal.SIGKILL)
    elif action == "stop-after-line":
        _after_lines(int(where), signal.SIGSTOP)
    elif action == "kill-in-write":
        _in_write(where)
    elif action == "kill-after-write":
        _in_write(where, after=True)
    else:
        raise SystemExit(__doc__)


def _run(args: list[str]) -> int:
    sys.argv = ["mnist-tui", *args]
    from mnist_tui.__main__ import main as command

    return command()


def serve() -> int:
    """Answer run requests from stdin, one forked child at a time."""
    import json

    import torch._dynamo  # noqa: F401  what building an optimizer imports (seconds)

    import mnist_tui.__main__  # noqa: F401  the command and everything it imports, once
    import mnist_tui.engine.train  # noqa: F401
    import mnist_tui.headless  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(request["cwd"])
                for fd, suffix in ((1, ".out"), (2, ".err")):
                    target = os.open(request["output"] + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(target, fd)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.environ.update(request.get("env") or {})
                if request["fault"]:
                    _install(*request["fault"])
                code = _run(request["args"])
            except SystemExit as error:  # argparse's usage errors
                code = error.code if isinstance(error.code, int) else 2
            except BaseException as error:  # the child must never return into the server's loop
                print(f"faults.py child: {error!r}", file=sys.stderr)
                code = 99
            os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
    return 0


def main() -> int:
    if sys.argv[1:] == ["serve"]:
        return serve()
    action, where, separator, *args = sys.argv[1:]
    if separator != "--":
        raise SystemExit(__doc__)
    _install(action, where)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
