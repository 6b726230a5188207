"""Headless runs (``--no-ui``): the engine's events printed for people, logs or machines.

On a terminal a Rich progress display; otherwise one stable line per report and per epoch (no
carriage returns in CI logs); both end with the last epoch's confusion matrix and per-class
accuracy. With ``--jsonl`` every event as one JSON object per line and nothing else on stdout.
Ctrl+C, SIGTERM, a closed terminal and a stdout that takes no more output (a closed pipe, a full
disk) stop the run gracefully: the engine finishes its batch, writes the last checkpoint and the
summary, then we exit. The run folder's ``commands.jsonl`` steers a headless run too
(``engine/commands.py``): pauses, changes and refused commands get a line, and a stop command ends
the run as Ctrl+C does (exit 130).
"""

from __future__ import annotations

import errno
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Callable, Iterable, Protocol, Sequence

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
    few_eval_digits,
)
from .engine.commands import NOT_REPLAYED
from .engine.steering import describe_step
from .exit_codes import BELOW_THRESHOLD, CLOSED_OUTPUT, FAILED, FINISHED, HANGUP, INTERRUPTED, TERMINATED, exit_code
from .gil import short_switch_interval
from .heap import TORCH_LAZY, load_quietly
from .table import on_terminal, silence_stdout

RESUME = "mnist-tui --resume "
"""How a message names the command that continues a run (the engine's write failures end with it)."""


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


def resume_flags(options: Options) -> tuple[str, ...]:
    """What a resume must repeat of this command line to work as printed: headless stays headless,
    the data is read from the same folder (not the default one, where it may be missing), and a
    runs folder other than the resumed run's own (where a resume looks by default) stays the one
    whose runs the Runs view lists and where the next runs go."""
    flags: tuple[str, ...] = ("--no-ui",) if options.headless else ()
    if options.data_dir:
        flags += ("--data-dir", options.data_dir)
    if options.resume is not None and Path(options.runs_dir).resolve() != Path(options.resume).resolve().parent:
        flags += ("--runs-dir", options.runs_dir)
    return flags


def resume_command(run_dir: str | None, flags: Sequence[str] = ()) -> str:
    """The command that continues a run, quoted for a shell so that it can be pasted as printed."""
    return RESUME + shlex.join([run_dir or "RUN_DIR", *flags])


def training_time(seconds: float) -> str:
    """``12.3 s``; under a tenth of a second in milliseconds (the smoke preset trains in 30 ms: not "0.0 s")."""
    return f"{seconds:.1f} s" if seconds >= 0.1 else f"{seconds * 1000:.0f} ms"


def describe_end(
    event: Terminal, run_dir: str | None = None, flags: Sequence[str] = (), steps_per_epoch: int | None = None
) -> str:
    """One human sentence for the terminal event; ``flags`` are those a resume needs (``resume_flags``).
    A stop or a divergence names its step as the report lines count it (``steps_per_epoch``: the run's)."""
    if isinstance(event, RunFinished):
        return (
            f"finished: final accuracy {event.final_accuracy:.2f} % "
            f"(best {event.best_accuracy:.2f} % at epoch {event.best_epoch}), "
            f"{training_time(event.train_seconds)} of training"
        )
    if isinstance(event, RunStopped):
        where = describe_step(event.epoch, event.step, steps_per_epoch)
        return f"stopped at {where}; continue with: {resume_command(run_dir, flags)}"
    if isinstance(event, RunDiverged):
        where = describe_step(event.epoch, event.step, steps_per_epoch)
        return f"diverged: the loss became {event.loss} at {where}; try a smaller lr"
    if isinstance(event, RunFailed):
        before, found, folder = event.error.rpartition(RESUME)
        if found and flags:  # the engine names the folder; this command line knows the flags
            return f"error: {before}{resume_command(folder, flags)}"
        return f"error: {event.error}"
    return event.status


def describe_start(event: RunStarted) -> str:
    config = event.config
    hidden = "-".join(str(h) for h in config["hidden"])
    epochs = f"{config['epochs']} epoch{'' if config['epochs'] == 1 else 's'}"
    return (
        f"run {event.run_id} on {event.device}: 784-{hidden}-10 {config['activation']}, "
        f"{config['optimizer']} lr {config['lr']:g}, batch {config['batch_size']}, {epochs}; "
        f"{event.train_size:,} training digits, evaluated on {event.eval_size:,} ({event.eval_name}){_few(event.eval_size)}"
    )


def _few(eval_size: int) -> str:
    few = few_eval_digits(eval_size)
    return "" if few is None else f"; {few}: its accuracy moves in steps of {100 / eval_size:.3g} %"


def describe_epoch(event: EpochEnded) -> str:
    best = " *best*" if event.best_epoch == event.epoch else ""
    return (
        f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} acc {event.train_accuracy:.2f} % | "
        f"eval loss {event.eval_loss:.4f} acc {event.eval_accuracy:.2f} %{best} | {event.seconds:.1f} s"
    )


NOT_REPLAYED_NOTE = "note: the commands written to commands.jsonl before this session started were not replayed"
"""Said once for the lines the engine answers ``NOT_REPLAYED`` (after a kill, those carried out
since the checkpoint): a refusal each read as errors."""


class OneNote:
    """Lets the first ``NOT_REPLAYED`` answer of a session through, as a note, and drops the others."""

    def __init__(self) -> None:
        self.said = False

    def quiet(self, event: Event) -> bool:
        """Whether ``event`` is a later ``NOT_REPLAYED`` answer, which says nothing."""
        if not (isinstance(event, CommandAnswered) and event.message == NOT_REPLAYED):
            return False
        said, self.said = self.said, True
        return said


def describe_steering(event: Event, steps_per_epoch: int | None) -> str | None:
    """One line for a command's effect or answer (None for other events and for answers the effect shows);
    where it happened as the report lines count it (``epoch 2, step 641``; ``steps_per_epoch``: the run's)."""
    if isinstance(event, SettingsChanged):
        changes = ", ".join(f"{key} {old:g} -> {new:g}" for key, (old, new) in event.changes.items())
        return f"changed at {describe_step(event.epoch, event.step, steps_per_epoch)}: {changes} ({event.source})"
    if isinstance(event, RunPaused):
        return f"paused at {describe_step(event.epoch, event.step, steps_per_epoch)}"
    if isinstance(event, RunResumed):
        return f"resumed at {describe_step(event.epoch, event.step, steps_per_epoch)}"
    if isinstance(event, CommandAnswered) and event.message == NOT_REPLAYED:
        return NOT_REPLAYED_NOTE
    if isinstance(event, CommandAnswered) and (not event.accepted or event.command in ("step", "stop")):
        outcome = "done" if event.accepted else "refused"
        return f"command {event.command or '?'} from {event.source} {outcome}: {event.message}"
    return None


class LinePrinter:
    """Plain, stable lines for logs and CI: one per report and per epoch."""

    def __init__(self, write: Callable[[str], None], flags: Sequence[str] = ()) -> None:
        self.write = write
        self.flags = flags
        """What the resume hint repeats of the command line (``resume_flags``)."""
        self.run_dir: str | None = None
        self.steps_per_epoch: int | None = None
        self.confusion: ConfusionCounted | None = None
        self.note = OneNote()

    def show(self, event: Event) -> None:
        if self.note.quiet(event):
            return
        if isinstance(event, RunStarted):
            self.run_dir, self.steps_per_epoch = event.run_dir, event.steps_per_epoch
            self.write(describe_start(event))
        elif isinstance(event, BatchReported):
            self.write(
                f"epoch {event.epoch} step {event.epoch_step}/{event.steps_per_epoch} "
                f"loss {event.loss:.4f} lr {event.lr:.3g} {event.samples_per_second:,.0f} samples/s"
            )
        elif isinstance(event, EpochEnded):
            self.write(describe_epoch(event))
        elif (steering := describe_steering(event, self.steps_per_epoch)) is not None:
            self.write(steering)
        elif isinstance(event, ConfusionCounted):
            self.confusion = event
        elif isinstance(event, Terminal) and not isinstance(event, RunFailed):  # failures go to stderr
            if self.confusion is not None:
                for line in confusion_lines(self.confusion):
                    self.write(line)
            self.write(describe_end(event, self.run_dir, self.flags, self.steps_per_epoch))
            if self.run_dir:
                self.write(f"run folder: {self.run_dir}")

    def close(self) -> None:
        pass


class RichPrinter:
    """A live progress display on a terminal; epochs and the outcome are printed above it."""

    def __init__(self, flags: Sequence[str] = ()) -> None:
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
        self.flags = flags
        """What the resume hint repeats of the command line (``resume_flags``)."""
        self.run_dir: str | None = None
        self.steps_per_epoch: int | None = None
        self.confusion: ConfusionCounted | None = None
        self.note = OneNote()
        self.progress.start()

    def show(self, event: Event) -> None:
        if self.note.quiet(event):
            return
        if isinstance(event, (RunPaused, RunResumed)):
            self._clock(running=isinstance(event, RunResumed))
        if isinstance(event, RunStarted):
            self.run_dir, self.steps_per_epoch = event.run_dir, event.steps_per_epoch
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
        elif (steering := describe_steering(event, self.steps_per_epoch)) is not None:
            refused = isinstance(event, CommandAnswered) and not event.accepted and event.message != NOT_REPLAYED
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
            # Paths are no markup: a folder named "[x]" must print as itself.
            self.console.print(describe_end(event, self.run_dir, self.flags, self.steps_per_epoch), style=style, markup=False)
            if self.run_dir:
                self.console.print(f"run folder: {self.run_dir}", markup=False)

    def _clock(self, *, running: bool) -> None:
        """Paused, the bars' time left reads ``-:--:--`` (nothing trains); resumed, it is measured from
        the batches after the resume alone. QA: Rich's speed, averaged over its last 30 s, took the
        pause in: the estimate after a resume was the pause's length too long, for half a minute."""
        for task in (self.epoch_task, self.run_task):
            done = self.progress.tasks[task].completed
            self.progress.reset(task, start=running, completed=int(done))

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
    if on_terminal():
        return RichPrinter(resume_flags(options))
    return LinePrinter(write, resume_flags(options))


class GuardedPrinter:
    """A printer whose output may go away: the first write stdout refuses (a closed pipe, a full
    disk) is kept in ``lost`` and stops the run through ``on_lost``; later events print nothing."""

    def __init__(self, printer: Printer, on_lost: Callable[[OSError], None]) -> None:
        self.printer = printer
        self.on_lost = on_lost
        self.lost: OSError | None = None

    def show(self, event: Event) -> None:
        if self.lost is None:
            self._guard(self.printer.show, event)

    def close(self) -> None:
        self._guard(self.printer.close)  # even after a loss: Rich's display thread must end

    def _guard(self, action: Callable[..., None], *args: object) -> None:
        try:
            action(*args)
        except OSError as error:
            silence_stdout()  # what is still buffered, and the rest, goes nowhere quietly
            if self.lost is None:
                self.lost = error
                self.on_lost(error)


def events_for(options: Options, stop: threading.Event) -> Iterable[Event]:
    """The engine's event stream for these options (a new run or a resumed one)."""
    train = load_quietly("mnist_tui.engine.train", *TORCH_LAZY)  # torch loads here (heap.py)
    resume_training, run_training = train.resume_training, train.run_training

    if options.resume:
        return resume_training(
            options.resume, data_dir=options.data_dir, stop=stop, epochs=options.resume_epochs, headless=True
        )
    return run_training(
        options.config, data_dir=options.data_dir, runs_dir=options.runs_dir, stop=stop, preset=options.preset,
        headless=True,
    )


def run_headless(options: Options) -> int:
    """Consume the engine's events with a printer; returns the exit code."""
    def write(line: str) -> None:
        print(line, flush=True)

    terminal: Terminal | None = None
    started: RunStarted | None = None
    was_terminal = _is_terminal(sys.stdout)  # once the terminal hangs up, isatty() says no
    with _Signals() as signals, short_switch_interval():  # Rich's refresh thread runs beside the engine
        def stop_for(error: OSError) -> None:
            """Nobody can read stdout any more: stop gracefully, keep the run folder whole."""
            signals.stop.set()
            signals.code = signals.code or lost_output_code(error, was_terminal=was_terminal)

        events = events_for(options, signals.stop)  # torch loads: seconds in which Ctrl+C may come
        if signals.stop.is_set():  # before the run began: no folder to leave behind, nothing to resume
            print("mnist-tui: interrupted", file=sys.stderr)
            return signals.code or INTERRUPTED
        printer = GuardedPrinter(make_printer(options, write), stop_for)
        try:
            for event in events:
                if isinstance(event, RunStarted):
                    started = event
                if isinstance(event, Terminal):
                    terminal = event
                printer.show(event)
        except KeyboardInterrupt:
            printer.close()
            print("mnist-tui: aborted (second Ctrl+C); the last epoch's checkpoint is kept", file=sys.stderr)
            return INTERRUPTED
        finally:
            printer.close()
    lost = None if isinstance(printer.lost, BrokenPipeError) else printer.lost
    code = exit_code(terminal, fail_under=options.fail_under, signal_code=signals.code)
    if lost is not None and code == FINISHED:
        code = FAILED  # the run's last lines were never shown
    said = closing_words(terminal, started, options, lost)
    if said:
        _tell(f"mnist-tui: {said}")
    if isinstance(terminal, RunFinished) and code == BELOW_THRESHOLD:
        _tell(f"mnist-tui: final accuracy {terminal.final_accuracy:.2f} % is below --fail-under {options.fail_under:g} %")
    return code


def _tell(line: str) -> None:
    """One line on stderr; where stderr is the terminal that hung up (EIO), nobody is left to read it."""
    try:
        print(line, file=sys.stderr)
    except OSError as error:
        if error.errno != errno.EIO:
            raise


def lost_output_code(error: OSError, *, was_terminal: bool) -> int:
    """The exit code of a run whose stdout refused a write: a closed pipe ends quietly, as ``| head``
    ends Unix tools (141); a terminal that hung up (the kernel answers EIO) is a hangup (129), as if
    SIGHUP had come first; any other write error (a full disk) is one (1)."""
    if isinstance(error, BrokenPipeError):
        return CLOSED_OUTPUT
    if error.errno == errno.EIO and was_terminal:
        return HANGUP
    return FAILED


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def closing_words(terminal: Terminal | None, started: RunStarted | None, options: Options, lost: OSError | None) -> str:
    """What stderr says of the run's end, in one line: a failure, an outcome stdout could not show
    (it was JSON lines, or it could not be written), and why stdout could not be written;
    ``started``: the run's start event (its folder and steps per epoch), if it came."""
    said = [] if lost is None else [f"cannot write the output: {lost.strerror or lost}"]
    unseen = isinstance(terminal, RunFailed) or lost is not None or (options.jsonl and not isinstance(terminal, RunFinished))
    if terminal is not None and unseen:
        run_dir, steps_per_epoch = (started.run_dir, started.steps_per_epoch) if started is not None else (None, None)
        said.append(describe_end(terminal, run_dir, resume_flags(options), steps_per_epoch))
    return "; ".join(said)
