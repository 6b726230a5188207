"""Running a resolved sweep on this machine: its workers supervised, its trials printed, the best exported.

:class:`Sweep` is what the headless loop here and the dashboard (``sweep_ui.py``) share: it starts
the workers, fails the trials of dead ones, and ends with the study's table and exit code.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import TrialState

from .engine.config import ConfigError
from .engine.journal import WriteFailed, atomic_write
from .engine.study import describe_storage, fail_dead_trials, first_line, lost_storage, trial_row
from .engine.threads import cpu_cores
from .engine.trial import record_in_summary
from .engine.trial_rows import TrialRow, best_of
from .exit_codes import FAILED, FINISHED, INTERRUPTED
from .headless import _Signals
from .sweep import SweepOptions, check_export_path
from .sweep_print import count_of, describe_trial, study_summary, trial_table
from .sweep_workers import Plan, Workers, threads_per_worker

POLL_SECONDS = 0.5
"""How often the parent looks at the storage for finished trials and dead workers."""
LOST_GRACE_SECONDS = 10.0
"""How long the workers get to stop once the storage is lost, before they are killed."""


def plan_for(options: SweepOptions, log: str | None = None) -> Plan:
    """The workers' plan: K workers on C cores get C // K threads each (at least one); ``log`` takes their output."""
    return Plan(
        storage=options.storage,
        runs_dir=options.runs_dir,
        study=options.study,
        base=options.base,
        preset=options.preset,
        space=options.space,
        pruner=options.pruner,
        data_dir=options.data_dir,
        trials=options.trials,
        deadline=time.time() + options.timeout if options.timeout else None,
        threads=threads_per_worker(options.workers, cpu_cores()),
        session=uuid.uuid4().hex,
        log=log,
    )


class Sweep:
    """A sweep this command runs: its study, its workers and the trials they ran."""

    def __init__(self, options: SweepOptions, study: optuna.Study, *, log: str | None = None) -> None:
        self.options = options
        self.study = study
        self.plan = plan_for(options, log)
        self.workers = Workers(self.plan, options.workers)
        self.fail_orphans()  # left running by an earlier command on this machine that died: earlier trials too
        self.earlier = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
        self.shown: Callable[[list[TrialRow]], list[TrialRow]] = lambda rows: rows
        """The rows as the final table shows them: the dashboard's leave out the time its trials were
        paused, as its Sweep view did (Optuna counts a trial's wall time)."""

    def rows(self) -> list[TrialRow]:
        """Every trial of the study (any command's, any machine's), by number."""
        return [trial_row(t) for t in self.study.get_trials(deepcopy=False)]

    def mine(self, rows: list[TrialRow]) -> list[TrialRow]:
        """The finished trials this command ran."""
        return [r for r in rows if r.session == self.plan.session and r.state not in ("running", "waiting")]

    def header(self) -> str:
        options = self.options
        count = count_of(options.trials, "trial") if options.trials is not None else "trials until Ctrl+C"
        timeout = f" (none after {options.timeout:g} s)" if options.timeout else ""
        workers = f"{count}{timeout}, {options.workers} worker(s) x {self.plan.threads} thread(s)"
        if options.trials == 0:  # QA: it said "0 trials, 1 worker(s)" of workers that never start
            workers = "no trial to run (--trials 0), the study as it stands"
        return (
            f"sweep {options.study} in {describe_storage(options.storage, options.runs_dir)}: {workers}; "
            f"searching {', '.join(options.space.fields)}; {self.earlier} earlier trial(s)"
        )

    def step(self, timeout: float) -> list[int]:
        """Wait up to ``timeout`` s for the workers; returns the pids of those that died (their trials failed)."""
        dead = self.workers.wait(timeout)
        if dead:
            self.fail_orphans()
        return dead

    def fail_orphans(self) -> None:
        """Fail this machine's running trials whose process is gone, and say so in their run folders."""
        for trial, outcome in fail_dead_trials(self.study):
            run_dir = trial.user_attrs.get("run_dir")
            if run_dir:
                sweep = {"study": self.study.study_name, "trial": trial.number, "state": "failed",
                         "outcome": outcome, "params": trial.params}
                record_in_summary(run_dir, sweep)

    def lost(self, error: BaseException | None) -> int:
        """The storage stopped answering: stop every worker (none can record a trial), say so in one line.

        Each running trial's run stops after its batch, checkpointed, and its summary says the
        storage was lost (``engine/trial.py``); a worker still busy after the grace period is killed.
        """
        self.workers.stop()
        deadline = time.monotonic() + LOST_GRACE_SECONDS
        while self.workers.active() and time.monotonic() < deadline:
            self.workers.wait(POLL_SECONDS)
        killed = self.workers.active()
        self.workers.kill()
        why = first_line(error) if error is not None else self.workers.lost_reason()  # a worker's, if it found out
        self.workers.close()  # its semaphore goes now (the resource tracker would warn of a leak at exit)
        runs = (
            f"workers that did not stop within {LOST_GRACE_SECONDS:g} s were killed (their runs resume from their last checkpoint)"
            if killed else "each running trial stopped with a checkpoint in its run folder"
        )
        print(
            f"mnist-tui sweep: error: lost the storage {describe_storage(self.options.storage, self.options.runs_dir)}"
            f"{': ' + why if why else ''}; the trials it recorded are kept there and {runs}: "
            "run the same command again once it answers, to go on with the study",
            file=sys.stderr,
        )
        return FAILED

    def note_no_export(self) -> None:
        """Say that a stopped sweep wrote no ``--export-best`` file, and how to write it."""
        if self.options.export_best:
            print(
                f"mnist-tui sweep: nothing was exported to {self.options.export_best} (the sweep was stopped); "
                "export the best trial with the same command and --trials 0",
                file=sys.stderr,
            )

    def unless_lost(self, run: Callable[[], int]) -> int:
        """``run()``'s exit code, or :meth:`lost`'s where the storage stopped answering meanwhile."""
        try:
            return run()
        except Exception as error:
            lost = lost_storage(error)
            if lost is None:
                raise
            return self.lost(lost)

    def finish(self, signal_code: int | None) -> int:
        """Print the study's table, export the best trial; returns the exit code."""
        self.workers.close()
        self.fail_orphans()
        rows = self.shown(self.rows())
        mine = self.mine(rows)
        print("\n" + study_summary(self.options.study, rows, mine))
        if rows:
            print(trial_table(rows, self.options.space.fields))
        if signal_code is not None:
            self.note_no_export()
            return signal_code
        if self.workers.gave_up:
            print(f"mnist-tui sweep: workers died {self.workers.deaths} times; giving up", file=sys.stderr)
            return FAILED
        if not mine and self.options.timeout and self.options.trials != 0:
            exported = f" and nothing was exported to {self.options.export_best}" if self.options.export_best else ""
            print(
                f"mnist-tui sweep: --timeout {self.options.timeout:g} s passed before any worker was ready to start a trial "
                f"(a worker takes seconds to load, longer when workers outnumber the cores): no trial ran{exported}; "
                "give a longer --timeout",
                file=sys.stderr,
            )
            return FAILED
        code = export_best(self.options, self.study) if self.options.export_best else FINISHED
        if mine and all(row.state == "failed" for row in mine):
            if all(row.outcome in ("interrupted", "stopped") for row in mine):
                print("mnist-tui sweep: every trial was stopped before its end", file=sys.stderr)
            else:
                print("mnist-tui sweep: every trial failed; see the errors above", file=sys.stderr)
            return FAILED
        return code


def death_message(dead: list[int]) -> str:
    return f"worker process {', '.join(map(str, dead))} died (its running trial, if any, is failed); a new worker takes its place"


class Leaderboard:
    """Prints each trial once, when it has finished, with the best of the trials finished before it
    (the earlier lines and the study's earlier trials), never of one whose line is yet to come."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        earlier = [r for r in sweep.rows() if r.state not in ("running", "waiting")]
        self.printed = {r.number for r in earlier}
        self.best = best_of(earlier)

    def update(self) -> None:
        for row in self.sweep.rows():
            if row.state in ("running", "waiting") or row.number in self.printed:
                continue
            self.printed.add(row.number)
            self.best = best_of([row] if self.best is None else [self.best, row])
            print(describe_trial(row, self.best, mine=row.session == self.sweep.plan.session), flush=True)


def run_sweep(options: SweepOptions, study: optuna.Study) -> int:
    """Run the sweep headless: a line per finished trial, then the table; returns the exit code."""
    sweep = Sweep(options, study)
    board = Leaderboard(sweep)
    print(sweep.header(), flush=True)
    return sweep.unless_lost(lambda: _supervise(sweep, board))


def _supervise(sweep: Sweep, board: Leaderboard) -> int:
    """Run the workers to the end, printing each finished trial; returns the exit code."""
    with _Signals() as signals:
        try:
            sweep.workers.start()
            while sweep.workers.active():
                dead = sweep.step(POLL_SECONDS)
                if dead:
                    print(death_message(dead), flush=True)
                if signals.stop.is_set():
                    sweep.workers.stop()
                board.update()
        except KeyboardInterrupt:  # a second Ctrl+C: no waiting for the running batches
            sweep.workers.kill()
            sweep.fail_orphans()
            print("mnist-tui sweep: aborted (second Ctrl+C); running trials are failed", file=sys.stderr)
            sweep.note_no_export()
            return INTERRUPTED
    if sweep.workers.storage_lost:  # a worker lost it (the parent's reads may not have failed yet)
        return sweep.lost(None)
    board.update()
    return sweep.finish(signals.code)


def export_best(options: SweepOptions, study: optuna.Study) -> int:
    """Write the best trial's config as a preset TOML; FAILED when no trial completed or it cannot be written."""
    from .engine.presets import config_to_toml

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        print(f"mnist-tui sweep: no complete trial to export to {options.export_best}", file=sys.stderr)
        return FAILED
    best = max(complete, key=lambda t: (t.value, -t.number))
    config = options.space.config_for(options.base, best.params, name=f"{options.study}-best")
    header = f"# Best trial {best.number} of study {options.study}: {best.value:.2f} % evaluation accuracy.\n"
    path = Path(options.export_best or "")
    # Checked at the start too; the sweep may have run for hours since (a file made there, its folder removed).
    kept = (
        f"; best trial {best.number} ({best.value:.2f} %) stays in the study: export it with the same command, "
        "--trials 0 and an --export-best file that can be written"
    )
    try:
        check_export_path(path, options.inputs)
    except ConfigError as error:
        print(f"mnist-tui sweep: error: {error}{kept}", file=sys.stderr)
        return FAILED
    try:
        write_export(path, (header + config_to_toml(config)).encode("utf-8"))
    except WriteFailed as error:
        print(f"mnist-tui sweep: {error}{kept}", file=sys.stderr)
        return FAILED
    print(f"best trial {best.number} ({best.value:.2f} %) written to {options.export_best}")
    return FINISHED


def write_export(path: Path, data: bytes) -> None:
    """Write the exported config whole or not at all: an empty or cut file would be a valid config
    that trains the defaults. A device or pipe (``/dev/stdout``) is written in place, and a link's
    target is replaced, as a rename would replace them. Raises WriteFailed naming the path and why."""
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as handle:
                handle.write(data)
        except OSError as error:
            raise WriteFailed(path, error) from None
        return
    atomic_write(path.resolve() if path.is_symlink() else path, data)
