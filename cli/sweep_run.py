"""Running a resolved sweep headless: workers started, finished trials printed, the best exported."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import optuna
from optuna.trial import TrialState

from .engine.study import TrialRow, describe_storage, fail_dead_trials, trial_row
from .engine.threads import cpu_cores
from .engine.trial import record_in_summary
from .exit_codes import FAILED, FINISHED, INTERRUPTED
from .headless import _Signals
from .sweep import SweepOptions
from .sweep_print import best_of, describe_trial, tally, trial_table
from .sweep_workers import Plan, Workers, threads_per_worker

POLL_SECONDS = 0.5
"""How often the parent looks at the storage for finished trials and dead workers."""


def plan_for(options: SweepOptions) -> Plan:
    """The workers' plan: K workers on C cores get C // K threads each (at least one)."""
    return Plan(
        storage=options.storage,
        runs_dir=options.runs_dir,
        study=options.study,
        base=options.base,
        space=options.space,
        pruner=options.pruner,
        data_dir=options.data_dir,
        trials=options.trials,
        deadline=time.time() + options.timeout if options.timeout else None,
        threads=threads_per_worker(options.workers, cpu_cores()),
        session=uuid.uuid4().hex,
    )


class Leaderboard:
    """Prints each trial once, when it has finished, with the study's best so far."""

    def __init__(self, study: optuna.Study, session: str) -> None:
        self.study = study
        self.session = session
        self.printed = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
        self.earlier = len(self.printed)
        self.mine: list[TrialRow] = []

    def rows(self) -> list[TrialRow]:
        return [trial_row(t) for t in self.study.get_trials(deepcopy=False)]

    def update(self) -> None:
        rows = self.rows()
        best = best_of(rows)
        for row in rows:
            if row.state in ("running", "waiting") or row.number in self.printed:
                continue
            self.printed.add(row.number)
            if row.session == self.session:
                self.mine.append(row)
            print(describe_trial(row, best, mine=row.session == self.session), flush=True)


def fail_orphans(study: optuna.Study, dead: list[int]) -> None:
    """Fail the running trials of dead workers, and say so in their run folders."""
    for trial in fail_dead_trials(study):
        run_dir = trial.user_attrs.get("run_dir")
        if run_dir:
            sweep = {"study": study.study_name, "trial": trial.number, "state": "failed", "outcome": "worker died", "params": trial.params}
            record_in_summary(run_dir, sweep)
    if dead:
        print(f"worker process {', '.join(map(str, dead))} died (its running trial, if any, is failed); a new worker takes its place", flush=True)


def run_sweep(options: SweepOptions, study: optuna.Study) -> int:
    """Run the sweep's workers to the end and print its trials; returns the exit code."""
    plan = plan_for(options)
    board = Leaderboard(study, plan.session)
    fail_orphans(study, [])  # left running by an earlier command on this machine that died
    count = f"{options.trials} trials" if options.trials is not None else "trials until Ctrl+C"
    print(
        f"sweep {options.study} in {describe_storage(options.storage, options.runs_dir)}: {count}"
        f"{f' (none after {options.timeout:g} s)' if options.timeout else ''}, {options.workers} worker(s) "
        f"x {plan.threads} thread(s); searching {', '.join(options.space.fields)}; {board.earlier} earlier trial(s)",
        flush=True,
    )
    workers = Workers(plan, options.workers)
    with _Signals() as signals:
        try:
            workers.start()
            while workers.active():
                dead = workers.wait(POLL_SECONDS)
                if dead:
                    fail_orphans(study, dead)
                if signals.stop.is_set():
                    workers.stop()
                board.update()
        except KeyboardInterrupt:  # a second Ctrl+C: no waiting for the running batches
            workers.kill()
            fail_orphans(study, [])
            print("mnist-tui sweep: aborted (second Ctrl+C); running trials are failed", file=sys.stderr)
            return INTERRUPTED
    fail_orphans(study, [])
    board.update()
    rows = board.rows()
    print(f"\nstudy {options.study}: {len(rows)} trials ({tally(rows)}); this command ran {len(board.mine)} ({tally(board.mine)})")
    if rows:
        print(trial_table(rows, options.space.fields))
    if signals.code is not None:
        return signals.code
    if workers.gave_up:
        print(f"mnist-tui sweep: workers died {workers.deaths} times; giving up", file=sys.stderr)
        return FAILED
    code = export_best(options, study) if options.export_best else FINISHED
    if board.mine and all(row.state == "failed" for row in board.mine):
        print("mnist-tui sweep: every trial failed; see the errors above", file=sys.stderr)
        return FAILED
    return code


def export_best(options: SweepOptions, study: optuna.Study) -> int:
    """Write the best trial's config as a preset TOML; FAILED when no trial completed."""
    from .engine.presets import config_to_toml

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        print(f"mnist-tui sweep: no complete trial to export to {options.export_best}", file=sys.stderr)
        return FAILED
    best = max(complete, key=lambda t: (t.value, -t.number))
    config = options.space.config_for(options.base, best.params, name=f"{options.study}-best")
    header = f"# Best trial {best.number} of study {options.study}: {best.value:.2f} % evaluation accuracy.\n"
    Path(options.export_best or "").write_text(header + config_to_toml(config), encoding="utf-8")
    print(f"best trial {best.number} ({best.value:.2f} %) written to {options.export_best}")
    return FINISHED
