"""The local worker processes of a sweep, and the parent's supervision of them.

Each worker is a spawned process that joins the study and runs trials one at a time with
``study.optimize`` (so RDB storages get Optuna's heartbeat) until this command's trial count is
claimed or its time is up. The count is shared: a worker claims a slot before each trial. A
worker that dies (killed, out of memory) leaves its trial RUNNING; the parent fails it, gives
its slot back and starts a new worker in its place, so the sweep still runs its count.

K workers on C cores train on ``max(1, C // K)`` intra-op threads each: ``torch.set_num_threads``
caps the engine's thread choice (engine/threads.py never goes above ``torch.get_num_threads()``),
and ``OMP_NUM_THREADS`` sizes the OpenMP pool before torch loads. Ctrl+C reaches every process
of the terminal's group: workers ignore it and stop when the parent sets the shared stop flag.
Each worker takes about half a gigabyte before its first trial, so the count is bounded by the
memory that is free and by the cores (:func:`check_worker_count`).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import wait
from typing import Any, Iterator

from .engine.config import Config, ConfigError
from .engine.space import SearchSpace

STORAGE_LOST = 3
"""A worker's exit code when the study's storage stopped answering: no new worker takes its place."""
MAX_RESTARTS = 3
"""Workers started in place of dead ones, beyond one per worker, before the sweep gives up."""
LOST_TEXT = 400
"""Bytes kept of why a worker lost the storage."""
WORKER_BYTES = 500_000_000
"""Memory a worker takes before its first trial: Python with torch and Optuna loaded (about 0.5 GB measured)."""
MAX_WORKERS_PER_CORE = 4
"""Workers a core may share: past it, more workers start no trial sooner, and a typo (50 for 5) costs gigabytes."""


@dataclass(frozen=True)
class Plan:
    """What every worker needs; sent to the spawned processes (so plain, picklable values)."""

    storage: str | None
    runs_dir: str
    study: str
    base: Config
    preset: str | None
    """The preset ``base`` started from, recorded in each trial's summary."""
    space: SearchSpace
    pruner: str
    data_dir: str | None
    trials: int | None
    deadline: float | None
    """Unix time after which no trial starts (``--timeout``)."""
    threads: int
    session: str
    """This command's id, recorded with each trial it runs."""
    log: str | None = None
    """A file for the workers' stdout and stderr (under the dashboard, which owns the terminal)."""


def threads_per_worker(workers: int, cores: int) -> int:
    """Intra-op threads of each of ``workers`` processes sharing ``cores``: no core runs two."""
    return max(1, cores // workers)


def check_worker_count(workers: int, *, cores: int, available: int | None, trial_bytes: int) -> None:
    """Refuse more workers than ``MAX_WORKERS_PER_CORE`` per core, or than the memory ``available``
    (None: unknown) holds, each taking ``WORKER_BYTES`` and ``trial_bytes`` (the largest trial's
    estimate). One worker is left to the trial's own memory check."""
    most = cores * MAX_WORKERS_PER_CORE
    if workers > most:
        raise ConfigError(
            f"--workers {workers} is more than {MAX_WORKERS_PER_CORE} per core ({cores} core{'' if cores == 1 else 's'} here): use --workers {most} "
            "at most (workers beyond the cores only share them, each trial slower)"
        )
    each = WORKER_BYTES + trial_bytes
    fit = max(1, available // each) if available is not None else workers
    if workers > fit:
        raise ConfigError(
            f"--workers {workers}: {workers} workers need about {_gigabytes(workers * each)} (each {_gigabytes(WORKER_BYTES)} "
            f"to load torch and {_gigabytes(trial_bytes)} for the largest trial), but {_gigabytes(available or 0)} are "
            f"available: use --workers {fit} at most"
        )


def _gigabytes(count: int) -> str:
    return f"{count / 1e9:.1f} GB"


class _Flag:
    """The sweep's stop flag: a byte in shared memory, which needs no semaphore (an Event holds five)."""

    def __init__(self, context: Any) -> None:
        self.value = context.RawValue("b", 0)

    def set(self) -> None:
        self.value.value = 1

    def is_set(self) -> bool:
        return bool(self.value.value)


class _Shared:
    """The state the parent and its workers share: the stop flag and the trial count's slots.

    One lock guards the count: it is the only named semaphore, which multiprocessing's resource
    tracker keeps (and unlinks, should this command be killed), and :meth:`Workers.keep_tracked`
    hands to a new tracker should that one be killed.
    """

    def __init__(self, context: Any, workers: int) -> None:
        self.lock = context.RLock()
        self.lock_name: str = self.lock._semlock.name  # what the tracker knows it by
        self.stop = _Flag(context)
        self.claimed = context.Value("i", 0, lock=self.lock)
        self.holding = context.Array("b", workers, lock=self.lock)
        """Whether worker slot i holds a claimed trial it has not finished."""
        self.lost = context.RawArray("c", LOST_TEXT)
        """Why a worker lost the study's storage (the error's first line), for the parent's one line."""


class _Stop:
    """A trial's stop flag: the parent asked, or the parent is gone."""

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.parent = multiprocessing.parent_process()

    def is_set(self) -> bool:
        return self.shared.stop.is_set() or (self.parent is not None and not self.parent.is_alive())


def _claim(plan: Plan, shared: _Shared, slot: int) -> bool:
    with shared.claimed.get_lock():
        if plan.trials is not None and shared.claimed.value >= plan.trials:
            return False
        if plan.deadline is not None and time.time() >= plan.deadline:
            return False
        shared.claimed.value += 1
        shared.holding[slot] = 1
        return True


def work(plan: Plan, shared: _Shared, slot: int) -> None:
    """A worker process: run trials until the count is claimed, the time is up or the parent stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl+C into the shared stop flag
    if plan.log is not None:  # a warning or traceback must not write over the dashboard
        with open(plan.log, "a", encoding="utf-8") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
    os.environ["OMP_NUM_THREADS"] = str(plan.threads)
    import torch

    torch.set_num_threads(plan.threads)
    from .engine.study import (
        describe_storage,
        fail_dead_trials,
        first_line,
        lost_storage,
        open_storage,
        open_study,
        quiet_optuna,
    )
    from .engine.trial import TrialFailed, run_trial

    quiet_optuna()
    _quiet_lost_storage_in_threads()
    study = open_study(open_storage(plan.storage, plan.runs_dir), plan.study, base=plan.base, space=plan.space, pruner=plan.pruner)
    stop = _Stop(shared)
    objective = functools.partial(
        run_trial, base=plan.base, space=plan.space, data_dir=plan.data_dir, runs_dir=plan.runs_dir, stop=stop,
        session=plan.session, preset=plan.preset, storage=describe_storage(plan.storage, plan.runs_dir),
    )
    try:
        while not stop.is_set() and _claim(plan, shared, slot):
            fail_dead_trials(study)
            study.optimize(objective, n_trials=1, catch=(TrialFailed,))
            shared.holding[slot] = 0
    except Exception as error:
        lost = lost_storage(error)
        if lost is None:
            raise  # a bug: its traceback is the report
        why = first_line(lost)
        with shared.lock:  # the parent's one line says it
            shared.lost.value = why.encode("utf-8", "replace")[: LOST_TEXT - 1]
        if plan.log is not None:
            print(f"mnist-tui sweep: worker {slot}: lost the storage: {why}", file=sys.stderr, flush=True)
        os._exit(STORAGE_LOST)
    # Every trial is in the storage and every run folder closed: skip the interpreter's teardown,
    # which takes seconds with torch loaded (as the command itself does, in __main__.py).
    os._exit(0)


def _quiet_lost_storage_in_threads() -> None:
    """Optuna's heartbeat thread fails with the storage: the trial stops and the parent says why, once."""
    from .engine.study import lost_storage

    default = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or lost_storage(args.exc_value) is None:
            default(args)

    threading.excepthook = hook


@contextlib.contextmanager
def _stderr_with_a_descriptor() -> Iterator[None]:
    """``sys.stderr`` as one a new resource tracker can be handed: the dashboard's capture of it has no
    file descriptor (-1), on which the tracker's start fails; the terminal's, as the first tracker got."""
    try:
        usable = sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable or sys.__stderr__ is None:
        yield
        return
    captured, sys.stderr = sys.stderr, sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = captured


class Workers:
    """The parent's side: start K workers, replace dead ones, stop them all."""

    def __init__(self, plan: Plan, count: int) -> None:
        self.plan = plan
        self.context = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
        self.shared = _Shared(self.context, count)
        self.processes: list[Any] = [None] * count
        self.restarts_left = count + MAX_RESTARTS
        self.deaths = 0
        self.gave_up = False
        self.storage_lost = False
        """A worker lost the study's storage: the others are stopped, none is restarted."""

    def start(self) -> None:
        if self.plan.trials == 0:
            return  # --trials 0: the study as it stands; a worker would only load torch and end
        for slot in range(len(self.processes)):
            self._start(slot)

    def keep_tracked(self) -> None:
        """Start multiprocessing's resource tracker again if it was killed, quietly, and hand it the shared
        lock. Left to Python, the next worker started or the lock's release relaunches it with a warning,
        and the new tracker, which never heard of the lock, prints a KeyError traceback at its release."""
        with warnings.catch_warnings(record=True) as relaunched, _stderr_with_a_descriptor():
            warnings.simplefilter("always")
            resource_tracker.ensure_running()  # its one warning says it had to start a new one
        if relaunched and self.shared is not None:
            resource_tracker.register(self.shared.lock_name, "semaphore")

    def _start(self, slot: int) -> None:
        self.keep_tracked()  # a worker is handed the tracker
        process = self.context.Process(
            target=work, args=(self.plan, self.shared, slot), name=f"mnist-tui sweep worker {slot}", daemon=False
        )
        process.start()
        self.processes[slot] = process

    def active(self) -> bool:
        """Whether any worker runs or has ended without :meth:`wait` having seen it."""
        return any(p is not None for p in self.processes)

    def wait(self, timeout: float) -> list[int]:
        """Wait up to ``timeout`` s for a worker to end; returns the pids of workers that died.

        A dead worker's claimed slot goes back to the count, and a new worker takes its place
        while trials remain and the sweep is not stopping.
        """
        self.keep_tracked()
        running = [p for p in self.processes if p is not None and p.is_alive()]
        if running:
            wait([p.sentinel for p in running], timeout=timeout)
        dead = []
        for slot, process in enumerate(self.processes):
            if process is None or process.is_alive():
                continue
            process.join()  # reaped: its pid no longer looks alive to fail_dead_trials
            self.processes[slot] = None
            if process.exitcode == 0:
                continue
            if process.exitcode == STORAGE_LOST:
                self.storage_lost = True
                self.shared.stop.set()  # the others cannot record their trials either
                continue
            dead.append(process.pid)
            self.deaths += 1
            with self.shared.claimed.get_lock():
                if self.shared.holding[slot]:
                    self.shared.holding[slot] = 0
                    self.shared.claimed.value -= 1
            if self.shared.stop.is_set():
                continue
            if self.restarts_left > 0:
                self.restarts_left -= 1
                self._start(slot)
            else:
                self.gave_up = True
        return dead

    def stop(self) -> None:
        """Ask every worker to stop: running trials end after their batch, checkpointed."""
        self.shared.stop.set()

    def close(self) -> None:
        """Release the shared flag and counters once every worker has ended (their semaphores go now,
        not at exit, which the command skips: the resource tracker would warn of leaks)."""
        if not self.active() and self.shared is not None:
            self.keep_tracked()  # the release tells the tracker
            self.shared = None  # type: ignore[assignment]

    def lost_reason(self) -> str:
        """Why a worker lost the storage (the error's first line), or "" where none said."""
        if self.shared is None:
            return ""
        with self.shared.lock:
            return self.shared.lost.value.decode("utf-8", "replace")

    def kill(self) -> None:
        """End every worker now (a second Ctrl+C)."""
        self.shared.stop.set()
        for process in self.processes:
            if process is not None and process.is_alive():
                process.kill()
        for process in self.processes:
            if process is not None:
                process.join()
