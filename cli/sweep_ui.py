"""``mnist-tui sweep`` with the dashboard: the Sweep view, fed from the study while the workers run.

A thread started once the app is mounted supervises the workers (as the headless loop does) and
posts a :class:`SweepUpdated` snapshot whenever the study changed: new trials, an epoch's
accuracy, a trial's end, a trial's run paused or resumed (read from its log: the study only knows
it runs). Quitting stops the workers gracefully (running trials end after their batch,
checkpointed); the study's table is printed after the dashboard closes.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import optuna

from .engine.events import RunDiverged, RunFailed, RunFinished, RunPaused, RunResumed, RunStarted, RunStopped
from .engine.study import describe_storage, first_line, lost_storage
from .engine.trial_rows import SweepSnapshot, TrialRow
from .exit_codes import FAILED, INTERRUPTED
from .gil import short_switch_interval
from .sweep import SweepOptions
from .sweep_run import POLL_SECONDS, Sweep

if TYPE_CHECKING:
    from .tui.app import MnistApp

FEED_SECONDS = 1.0
"""How often the dashboard's snapshot of the study is refreshed (posted only when it changed)."""
LOG_TAIL_BYTES = 65536
"""How much of a running trial's log is read for whether it is paused: while paused a run logs only
its steps (each ends with a pause again) and setting changes, so the pause is among its last lines."""
PAUSE_MARKS = {RunPaused.kind: True} | {
    event.kind: False for event in (RunResumed, RunStarted, RunFinished, RunStopped, RunDiverged, RunFailed)
}
"""Events that say whether a run is paused, by the kind that begins their line in ``events.jsonl``."""


def run_is_paused(run_dir: Path) -> bool:
    """Whether the run logging in ``run_dir`` is paused now: its latest pause has no resume, start or end after it."""
    try:
        with open(run_dir / "events.jsonl", "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            tail = (b"" if size > LOG_TAIL_BYTES else b"\n") + handle.read(LOG_TAIL_BYTES)
    except OSError:
        return False  # no log yet (or none readable): nothing says it is paused
    found = {tail.rfind(b'\n{"event":"%s"' % kind.encode()): paused for kind, paused in PAUSE_MARKS.items()}
    latest = max(found)
    return latest >= 0 and found[latest]


class PausedTrials:
    """Which running trials' runs are paused, and how long each was paused while this command
    looked: a paused trial is shown as such, its time standing still (Optuna counts its wall time).
    Once a trial ends, its worker's record of its pauses takes over (``paused_seconds``, which
    :func:`~mnist_tui.engine.study.trial_row` takes out), for this command and every later one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._since: dict[int, float] = {}
        """Trials paused now, and when they were first seen so."""
        self._held: dict[int, float] = {}
        """Seconds each trial was paused before it was last resumed."""

    def apply(self, rows: list[TrialRow]) -> list[TrialRow]:
        """``rows`` with the paused ones marked, and the paused time out of every trial's seconds."""
        now = self.clock()
        shown = []
        for row in rows:
            number = row.number
            if row.state != "running":  # ended: its worker recorded its pauses, and its row has them out
                self._since.pop(number, None)
                self._held.pop(number, None)
                shown.append(row)
                continue
            paused = row.run_dir is not None and run_is_paused(Path(row.run_dir))
            if paused:
                self._since.setdefault(number, now)
            elif number in self._since:
                self._held[number] = self._held.get(number, 0.0) + now - self._since.pop(number)
            held = self._held.get(number, 0.0) + (now - self._since[number] if paused else 0.0)
            if paused or held:
                seconds = None if row.seconds is None else max(0.0, row.seconds - held)
                row = dataclasses.replace(row, paused=paused, seconds=seconds)
            shown.append(row)
        return shown


class SweepFeed:
    """Supervises the workers in a thread and posts the study's snapshots to the app."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mnist-tui sweep feed", daemon=True)
        self.app: object | None = None
        self.done = False
        """Whether every worker ended on its own (the trial count ran, or the time was up)."""
        self.lost: BaseException | None = None
        """The error that lost the study's storage (the sweep stopped), if one did."""
        self.paused = PausedTrials()

    def start(self, app: object) -> None:
        """The app's ``on_ready``: start the workers and the feed."""
        self.app = app
        self.thread.start()

    def snapshot(self, status: str) -> SweepSnapshot:
        options = self.sweep.options
        return SweepSnapshot(
            study=options.study,
            storage=describe_storage(options.storage, options.runs_dir),
            space=options.space.to_dict(),
            rows=tuple(self.paused.apply(self.sweep.rows())),
            status=status,
        )

    def _run(self) -> None:
        from .tui.sweep_view import SweepUpdated

        sweep, last = self.sweep, None
        sweep.workers.start()
        while not self.stop.is_set():
            try:
                if sweep.workers.active():
                    sweep.step(FEED_SECONDS)
                    status = f"running on {self.sweep.options.workers} worker(s)"
                elif sweep.workers.storage_lost:  # run_sweep_dashboard says so once the app closes
                    self._tell_lost("a worker could not reach it")
                    return
                else:
                    self.done = True
                    status = "done: every worker ended" if sweep.options.trials != 0 else "no trial to run (--trials 0)"
                snapshot = self.snapshot(status)
            except Exception as error:
                self.lost = lost_storage(error)
                if self.lost is None:
                    raise
                sweep.workers.stop()
                self._tell_lost(first_line(self.lost))
                return
            if snapshot != last:
                self.app.post_message(SweepUpdated(snapshot))  # type: ignore[attr-defined]
                last = snapshot
            if self.done:
                self.stop.wait(FEED_SECONDS)

    def _tell_lost(self, why: str) -> None:
        self.app.call_from_thread(  # type: ignore[attr-defined]
            self.app.notify,  # type: ignore[attr-defined]
            f"Lost the storage ({why}): the sweep stopped. Quit (q) and run the same command again once it answers.",
            severity="error", timeout=30,
        )

    def close(self) -> None:
        """Stop feeding; stop the workers gracefully and wait for them."""
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        if self.sweep.workers.active() and self.lost is None:  # with the storage lost, Sweep.lost stops them
            print("stopping the sweep's workers (each running trial ends after its batch) ...", flush=True)
            self.sweep.workers.stop()
            try:
                while self.sweep.workers.active():
                    self.sweep.step(POLL_SECONDS)
            except Exception as error:
                self.lost = lost_storage(error)
                if self.lost is None:
                    raise


def sweep_app(options: SweepOptions, on_ready: Callable[[MnistApp], None]) -> MnistApp:
    """The dashboard of a sweep, open on the Sweep view; its form holds the trials' fixed config as
    their runs record it: the preset and the fields ``--set`` edited (it said ``custom``)."""
    from .tui.app import MnistApp
    from .tui.source import engine_source

    source = engine_source(data_dir=options.data_dir, runs_dir=options.runs_dir)
    return MnistApp(
        options.base, source=source, preset=options.preset, view="SweepView", on_ready=on_ready,
        runs_dir=options.runs_dir,
    )


def run_sweep_dashboard(options: SweepOptions, study: optuna.Study) -> int:
    """Run the sweep with the dashboard open on the Sweep view; returns the exit code."""
    log = Path(options.runs_dir) / f"{options.study}-workers.log"
    sweep = Sweep(options, study, log=str(log))
    feed = SweepFeed(sweep)
    sweep.shown = feed.paused.apply  # the table printed at the end, as the view showed the trials' times
    app = sweep_app(options, feed.start)
    try:
        with short_switch_interval():
            code = app.run()
    finally:
        feed.close()
    print(sweep.header())
    if log.is_file() and log.stat().st_size:
        print(f"the workers' output (warnings, errors) is in {log}")
    else:
        log.unlink(missing_ok=True)
    if feed.lost is not None or sweep.workers.storage_lost:
        return sweep.lost(feed.lost)
    if code is None:  # ended without a result: Textual has printed why
        code = app.return_code or FAILED
    else:  # a run started from the dashboard's form is no trial: its outcome is not the sweep's
        code = app.signal_code
    # A signal or a crash; else whether the workers ended on their own.
    return sweep.unless_lost(lambda: sweep.finish(code or (None if feed.done else INTERRUPTED)))
