"""Headless runs (``--no-ui``): the engine's events printed for people, logs or machines.

On a terminal a Rich progress display; otherwise one stable line per report and per epoch (no
carriage returns in CI logs); both end with the last epoch's confusion matrix and per-class
accuracy. With ``--jsonl`` every event as one JSON object per line and nothing else on stdout.
Ctrl+C, SIGTERM and a closed terminal stop the run gracefully: the engine finishes its batch,
writes the last checkpoint and the summary, then we exit. The run folder's ``commands.jsonl``
steers a headless run too (``engine/commands.py``): pauses, changes and refused commands get a
line, and a stop command ends the run as Ctrl+C does (exit 130).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Callable, Iterable, Protocol

from .command import Options
from .confusion import confusion_lines, confusion_table
from .engine.events import (
    BatchReported,
    CommandAnswered,
    ConfusionCounted,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    SettingsChanged,
    Terminal,
)
from .exit_codes import CLOSED_OUTPUT, HANGUP, INTERRUPTED, TERMINATED, exit_code
from .gil import short_switch_interval
from .heap import TORCH_LAZY, load_quietly


class Printer(Protocol):
    def show(self, event: Event) -> None: ...

    def close(self) -> None: ...


class JsonlPrinter:
    """Every event as one line of JSON on stdout."""

    def show(self, event: Event) -> None:
        sys.stdout.write(event.to_json() + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        pass


def describe_end(event: Terminal, run_dir: str | None = None) -> str:
    """One human sentence for the terminal event."""
    if isinstance(event, RunFinished):
        return (
            f"finished: final accuracy {event.final_accuracy:.2f} % "
            f"(best {event.best_accuracy:.2f} % at epoch {event.best_epoch}), "
            f"{event.train_seconds:.1f} s of training"
        )
    if isinstance(event, RunStopped):
        return f"stopped at epoch {event.epoch}, step {event.step}; continue with: mnist-tui --resume {run_dir or 'RUN_DIR'}"
    if isinstance(event, RunDiverged):
        return f"diverged: the loss became {event.loss} at step {event.step} (epoch {event.epoch}); try a smaller lr"
    if isinstance(event, RunFailed):
        return f"error: {event.error}"
    return event.status


def describe_start(event: RunStarted) -> str:
    config = event.config
    hidden = "-".join(str(h) for h in config["hidden"])
    return (
        f"run {event.run_id} on {event.device}: 784-{hidden}-10 {config['activation']}, "
        f"{config['optimizer']} lr {config['lr']:g}, batch {config['batch_size']}, {config['epochs']} epochs; "
        f"{event.train_size:,} training digits, evaluated on {event.eval_size:,} ({event.eval_name})"
    )


def describe_epoch(event: EpochEnded) -> str:
    best = " *best*" if event.best_epoch == event.epoch else ""
    return (
        f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} acc {event.train_accuracy:.2f} % | "
        f"eval loss {event.eval_loss:.4f} acc {event.eval_accuracy:.2f} %{best} | {event.seconds:.1f} s"
    )


def describe_steering(event: Event) -> str | None:
    """One line for a command's effect or answer (None for other events and for answers the effect shows)."""
    if isinstance(event, SettingsChanged):
        changes = ", ".join(f"{key} {old:g} -> {new:g}" for key, (old, new) in event.changes.items())
        return f"changed at step {event.step} (epoch {event.epoch}): {changes} ({event.source})"
    if isinstance(event, RunPaused):
        return f"paused at step {event.step} (epoch {event.epoch})"
    if isinstance(event, RunResumed):
        return f"resumed at step {event.step} (epoch {event.epoch})"
    if isinstance(event, CommandAnswered) and (not event.accepted or event.command in ("step", "stop")):
        outcome = "done" if event.accepted else "refused"
        return f"command {event.command or '?'} from {event.source} {outcome}: {event.message}"
    return None


class LinePrinter:
    """Plain, stable lines for logs and CI: one per report and per epoch."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.run_dir: str | None = None
        self.confusion: ConfusionCounted | None = None

    def show(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir
            self.write(describe_start(event))
        elif isinstance(event, BatchReported):
            self.write(
                f"epoch {event.epoch} step {event.epoch_step}/{event.steps_per_epoch} "
                f"loss {event.loss:.4f} lr {event.lr:.3g} {event.samples_per_second:,.0f} samples/s"
            )
        elif isinstance(event, EpochEnded):
            self.write(describe_epoch(event))
        elif (steering := describe_steering(event)) is not None:
            self.write(steering)
        elif isinstance(event, ConfusionCounted):
            self.confusion = event
        elif isinstance(event, Terminal) and not isinstance(event, RunFailed):  # failures go to stderr
            if self.confusion is not None:
                for line in confusion_lines(self.confusion):
                    self.write(line)
            self.write(describe_end(event, self.run_dir))
            if self.run_dir:
                self.write(f"run folder: {self.run_dir}")

    def close(self) -> None:
        pass


class RichPrinter:
    """A live progress display on a terminal; epochs and the outcome are printed above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.epoch_task = self.progress.add_task("epoch", total=None, info="", visible=False)
        self.run_task = self.progress.add_task("run", total=None, info="", visible=False)
        self.run_dir: str | None = None
        self.confusion: ConfusionCounted | None = None
        self.progress.start()

    def show(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir
            self.console.print(describe_start(event))
            epochs = event.config["epochs"]
            done = event.start_epoch * event.steps_per_epoch + event.start_step
            self.progress.update(self.run_task, total=epochs * event.steps_per_epoch, completed=done, visible=True)
            self.progress.update(self.epoch_task, total=event.steps_per_epoch, completed=event.start_step, visible=True)
        elif isinstance(event, BatchReported):
            info = f"loss {event.loss:.4f}  {event.samples_per_second:,.0f}/s"
            self.progress.update(self.epoch_task, description=f"epoch {event.epoch}", completed=event.epoch_step, info=info)
            self.progress.update(self.run_task, completed=event.step, info="")
        elif isinstance(event, EpochEnded):
            style = "green" if event.best_epoch == event.epoch else ""
            self.console.print(describe_epoch(event), style=style)
        elif (steering := describe_steering(event)) is not None:
            refused = isinstance(event, CommandAnswered) and not event.accepted
            self.console.print(steering, style="yellow" if refused else "cyan", markup=False, highlight=False)
        elif isinstance(event, ConfusionCounted):
            self.confusion = event
        elif isinstance(event, Terminal):
            self.progress.stop()
            if isinstance(event, RunFailed):  # failures go to stderr
                return
            if self.confusion is not None:
                self.console.print(confusion_table(self.confusion))
            style = {"finished": "bold green", "stopped": "yellow"}.get(event.status, "bold red")
            self.console.print(describe_end(event, self.run_dir), style=style)
            if self.run_dir:
                self.console.print(f"run folder: {self.run_dir}")

    def close(self) -> None:
        self.progress.stop()


class _Signals:
    """Turns SIGINT, SIGTERM and SIGHUP into a graceful stop; a second Ctrl+C aborts at once."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.code: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if number is not None:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.stop.is_set() and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.code = {signal.SIGINT: INTERRUPTED, signal.SIGTERM: TERMINATED}.get(number, HANGUP)
        self.stop.set()


def make_printer(options: Options, write: Callable[[str], None]) -> Printer:
    if options.jsonl:
        return JsonlPrinter()
    if sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        return RichPrinter()
    return LinePrinter(write)


def events_for(options: Options, stop: threading.Event) -> Iterable[Event]:
    """The engine's event stream for these options (a new run or a resumed one)."""
    train = load_quietly("mnist_tui.engine.train", *TORCH_LAZY)  # torch loads here (heap.py)
    resume_training, run_training = train.resume_training, train.run_training

    if options.resume:
        return resume_training(options.resume, data_dir=options.data_dir, stop=stop, epochs=options.resume_epochs)
    return run_training(
        options.config, data_dir=options.data_dir, runs_dir=options.runs_dir, stop=stop, preset=options.preset
    )


def run_headless(options: Options) -> int:
    """Consume the engine's events with a printer; returns the exit code."""
    def write(line: str) -> None:
        print(line, flush=True)

    terminal: Terminal | None = None
    run_dir: str | None = None
    with _Signals() as signals, short_switch_interval():  # Rich's refresh thread runs beside the engine
        printer = make_printer(options, write)
        try:
            for event in events_for(options, signals.stop):
                if isinstance(event, RunStarted):
                    run_dir = event.run_dir
                if isinstance(event, Terminal):
                    terminal = event
                try:
                    printer.show(event)
                except BrokenPipeError:
                    # Nobody reads stdout any more: stop gracefully, keep the run folder whole.
                    _silence_stdout()
                    signals.stop.set()
                    signals.code = signals.code or CLOSED_OUTPUT  # as `| head` ends Unix tools
        except KeyboardInterrupt:
            printer.close()
            print("mnist-tui: aborted (second Ctrl+C); the last epoch's checkpoint is kept", file=sys.stderr)
            return INTERRUPTED
        finally:
            printer.close()
    if isinstance(terminal, RunFailed) or (options.jsonl and isinstance(terminal, (RunStopped, RunDiverged))):
        print(f"mnist-tui: {describe_end(terminal, run_dir)}", file=sys.stderr)
    code = exit_code(terminal, fail_under=options.fail_under, signal_code=signals.code)
    if isinstance(terminal, RunFinished) and code != 0:
        print(
            f"mnist-tui: final accuracy {terminal.final_accuracy:.2f} % is below --fail-under {options.fail_under:g} %",
            file=sys.stderr,
        )
    return code


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
