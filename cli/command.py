"""The ``mnist-tui`` command line: parse flags, resolve the config, then run headless or the dashboard.

Only what the user typed overrides the preset: every flag defaults to ``None`` and is applied on
top of the preset (or config file) only when given. Once the dashboard's screen has closed, the
terminal says how its last run ended and where it is (and how to continue it), as headless ends.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import __version__
from .exit_codes import ENGINE_GRACE_SECONDS, ENGINE_THREAD, HANGUP, USAGE
from .heap import load_quietly

# Light imports only: the engine package pulls in torch lazily (train.py is imported on demand).
from .engine import paths
from .engine.catalog import DamagedRun, find_run, not_a_run_folder, read_config, read_summary
from .engine.config import Config, ConfigError, parse_assignment
from .engine.events import RunFailed
from .engine.presets import DEFAULT_PRESET, list_presets, load_config_file, load_preset, preset_description

ENV_DATA_DIR = "MNIST_TUI_DATA"
RUNS_DIR = "runs"
"""Where run folders go unless ``--runs-dir`` says otherwise."""
SUBCOMMANDS = {
    "predict": "predict",
    "sweep": "sweep",
    "runs": "runs",
    "compare": "compare",
    "watch": "watch",
}
"""``mnist-tui NAME ...`` runs ``main(args)`` of the module named here (in mnist_tui); anything else is a training run."""


@dataclass(frozen=True)
class Options:
    """What the command line resolved to."""

    config: Config
    preset: str | None
    explicit: bool
    """Whether the user named a preset or config file (the dashboard then starts at once)."""
    data_dir: str | None
    runs_dir: str
    resume: str | None
    resume_epochs: int | None
    fail_under: float | None
    jsonl: bool
    headless: bool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui",
        description="Train MLPs on MNIST in a terminal dashboard, or headless with --no-ui.",
        epilog=(
            "subcommands: mnist-tui predict RUN_DIR IMAGE... classifies image files with a run's model; "
            "mnist-tui sweep --space FILE.toml searches hyperparameters with Optuna; "
            "mnist-tui runs lists the run folders; mnist-tui compare RUN RUN... compares runs; "
            "mnist-tui watch RUN follows and steers a run another process trains (each has --help). "
            "exit codes: 0 finished, 1 failed or the output could not be written, 2 usage/config/data error, 3 diverged, "
            "4 finished below --fail-under, 130 Ctrl+C or a stop command, 143 SIGTERM, 129 terminal closed, "
            "141 output pipe closed"
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset", metavar="NAME", help=f"start from a shipped preset (default: {DEFAULT_PRESET}; see --list-presets)"
    )
    source.add_argument("--config", metavar="FILE", help="start from a TOML config file")
    source.add_argument(
        "--resume", metavar="RUN_DIR",
        help="continue a run folder (or a run's name under --runs-dir) from its last checkpoint",
    )
    parser.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
        help="override any config field, e.g. --set lr=0.003 --set hidden=256,128 (repeatable)",
    )
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs to train (with --resume: train up to N)")
    parser.add_argument("--seed", type=int, metavar="N", help="random seed")
    parser.add_argument("--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--data-dir", metavar="DIR",
        help=f"dataset folder in torchvision's layout (default: ${ENV_DATA_DIR}, else ~/.cache/mnist-tui)",
    )
    parser.add_argument(
        "--runs-dir", metavar="DIR",
        help=f"where run folders go (default: ./{RUNS_DIR}; with --resume, the folder that holds the run)",
    )
    parser.add_argument(
        "--list-presets", action="store_true",
        help="list the presets and exit (with --jsonl: one JSON object each, its settings included)",
    )
    parser.add_argument(
        "--fail-under", type=float, metavar="PERCENT",
        help="exit 4 if the final evaluation accuracy is below PERCENT",
    )
    parser.add_argument("--jsonl", action="store_true", help="print every event as JSON lines on stdout (implies --no-ui)")
    parser.add_argument("--no-ui", action="store_true", help="train headless: progress on a terminal, plain lines otherwise")
    parser.add_argument("--version", action="version", version=f"mnist-tui {__version__}")
    return parser


def resolve(args: argparse.Namespace) -> Options:
    """Turn parsed flags into Options; raises ConfigError for a bad preset, file or value."""
    for flag in ("preset", "config", "resume", "data_dir", "runs_dir"):
        value = getattr(args, flag)
        if value is not None and not value.strip():  # not "not given": '' would fall back to a default
            raise ConfigError(f"--{flag.replace('_', '-')} is empty; name a {'preset' if flag == 'preset' else 'file' if flag == 'config' else 'folder'}")
    if args.resume is not None:
        typed = (("--set", args.overrides or None), ("--seed", args.seed), ("--device", args.device))
        clashing = [flag for flag, value in typed if value is not None]  # --seed 0 was typed too
        if clashing:
            raise ConfigError(f"--resume continues a run with its saved config; drop {', '.join(clashing)}")
        config = Config()
        preset = None
    elif args.config is not None:
        config = load_config_file(args.config)
        preset = None
    else:
        preset = args.preset or DEFAULT_PRESET
        config = load_preset(preset)
    if args.resume is None:
        changes = dict(parse_assignment(text) for text in args.overrides)
        for key in ("epochs", "seed", "device"):
            if getattr(args, key) is not None:
                changes[key] = getattr(args, key)
        if changes:
            config = config.replace(source="command line", **changes)
    if args.epochs is not None and args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, not {args.epochs}")
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise ConfigError(f"--fail-under must be a percentage between 0 and 100, not {args.fail_under}")
    resumed = resumable_folder(args.resume, args.runs_dir) if args.resume is not None else None
    # A resumed run's folder is where its Runs view looks and the next runs go, unless told otherwise.
    runs_dir = args.runs_dir or (str(resumed.parent) if resumed is not None else RUNS_DIR)
    check_runs_dir(runs_dir)
    return Options(
        config=config,
        preset=preset,
        explicit=bool(args.preset or args.config or args.resume),
        data_dir=args.data_dir or os.environ.get(ENV_DATA_DIR) or None,
        runs_dir=runs_dir,
        resume=str(resumed) if resumed is not None else None,
        resume_epochs=args.epochs if args.resume else None,
        fail_under=args.fail_under,
        jsonl=args.jsonl,
        headless=args.no_ui or args.jsonl,
    )


def resumable_folder(name: str, runs_dir: str | None) -> Path:
    """The run folder ``--resume NAME`` names (a path, else a run's name under the runs folder),
    checked before torch loads (the engine checks again as it opens the folder); a ConfigError says
    why it cannot be resumed."""
    folder = find_run(name, Path(runs_dir or RUNS_DIR)) or Path(name)
    problem = not_a_run_folder(folder)
    if problem is not None:
        looked_up = not (paths.exists(folder) or Path(name).is_absolute())  # an absolute path is never looked for there
        raise ConfigError(problem + (f" (nor in {runs_dir or RUNS_DIR})" if looked_up else ""))
    try:
        read_config(folder)
    except DamagedRun as error:
        raise ConfigError(f"run folder {folder} cannot be resumed: {error}") from None
    return folder


def check_runs_dir(runs_dir: str) -> None:
    """A ConfigError if ``runs_dir`` cannot hold run folders because it, or a folder above it, is a file."""
    path = Path(runs_dir)
    for above in (path, *path.parents):
        if paths.is_dir(above):
            return
        if paths.exists(above):
            raise ConfigError(
                f"--runs-dir {runs_dir} is a file, not a folder" if above == path
                else f"--runs-dir {runs_dir} cannot be made: {above} is a file, not a folder"
            )


def print_presets(*, jsonl: bool) -> None:
    """``--list-presets``: a line each, name and what it reproduces; with ``--jsonl``, also its settings."""
    width = max(len(name) for name in list_presets())
    for name in list_presets():
        if jsonl:
            line = {"name": name, "description": preset_description(name), "config": load_preset(name).to_dict()}
            print(json.dumps(line, separators=(",", ":")))
        else:
            print(f"{name:<{width}}  {preset_description(name)}")


def stray_word(word: str) -> str:
    """What is wrong with ``word`` on the training command line, which takes options only: a command
    after an option (``--runs-dir runs runs``), or a mistyped one (``predcit``, with a did-you-mean)."""
    if word in SUBCOMMANDS:
        return (
            f"the command {word} must come first, its own options after it: "
            f"mnist-tui {word} ... (see mnist-tui {word} --help)"
        )
    names = list(SUBCOMMANDS)
    close = difflib.get_close_matches(word, [*names, "--help"], n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return (
        f"unknown command {word!r}{guess}; the commands are {', '.join(names[:-1])} and {names[-1]}, "
        "and training takes options only (see mnist-tui --help)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mnist-tui`` and ``python -m mnist_tui``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(f".{SUBCOMMANDS[argv[0]]}", __package__).main(argv[1:])
    parser = build_parser()
    args, stray = parser.parse_known_args(argv)
    if stray and not stray[0].startswith("-"):  # training takes no word: a mistyped or misplaced command
        print(f"mnist-tui: error: {stray_word(stray[0])}", file=sys.stderr)
        return USAGE
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")  # as parse_args says it
    if args.list_presets:
        print_presets(jsonl=args.jsonl)
        return 0
    try:
        options = resolve(args)
    except ConfigError as error:
        print(f"mnist-tui: error: {error}", file=sys.stderr)
        return USAGE
    if options.headless:
        from .headless import run_headless

        return run_headless(options)
    from .tui.hangup import NO_TERMINAL, stdin_is_terminal

    if not stdin_is_terminal():
        print(f"mnist-tui: error: {NO_TERMINAL}; train with --no-ui instead", file=sys.stderr)
        return USAGE
    run_dashboard = load_quietly("mnist_tui.tui.app").run_dashboard  # Textual; torch loads with the first run

    trained: list[Path | RunFailed] = []
    code = run_dashboard(
        options.config,
        preset=options.preset,
        autostart=options.explicit,
        data_dir=options.data_dir,
        runs_dir=options.runs_dir,
        resume=options.resume,
        resume_epochs=options.resume_epochs,
        trained=trained,
    )
    if trained and code != HANGUP:  # a closed terminal: nobody is left to read what the run became
        last = trained[-1]
        if isinstance(last, Path):
            say_how_the_dashboard_ended(last, options)
        else:  # failed before it had a folder to read: its error, as headless says it
            from .headless import describe_end, resume_flags

            print(f"mnist-tui: {describe_end(last, None, resume_flags(options))}", file=sys.stderr)
    return code


def say_how_the_dashboard_ended(folder: Path, options: Options) -> None:
    """Print how the run in ``folder``, the last the dashboard trained, ended and where it is."""
    from .headless import resume_flags

    deadline = time.monotonic() + ENGINE_GRACE_SECONDS
    while any(thread.name == ENGINE_THREAD for thread in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)  # quitting mid-run: the engine finishes its batch and writes the checkpoint
    print("\n".join(closing_lines(folder, resume_flags(options))), flush=True)


def closing_lines(folder: Path, flags: Sequence[str]) -> list[str]:
    """How the run in ``folder`` ended, from its summary, and where it is: headless's last two lines.

    ``flags``: what a resume repeats of this command line (``headless.resume_flags``).
    """
    from .headless import resume_command, training_time

    try:
        summary = read_summary(folder)
    except DamagedRun as error:
        return [f"run folder: {folder} ({error})"]
    done = summary.get("epochs_completed") or 0
    epochs = summary.get("epochs")
    status = summary.get("status")
    final, best, seconds = (summary.get(key) for key in ("final_test_accuracy", "best_test_accuracy", "train_seconds"))
    if status == "finished" and None not in (final, best, seconds):
        ended = (
            f"finished: final accuracy {final:.2f} % (best {best:.2f} % at epoch {summary.get('best_epoch')}), "
            f"{training_time(seconds)} of training"
        )
    elif status == "finished":  # a summary from before summaries counted these
        ended = f"finished after epoch {done}"
    elif status == "diverged":
        ended = f"diverged in epoch {done + 1}: the loss blew up; try a smaller lr"
    elif status == "failed":
        ended = f"error: {summary.get('error') or 'the run failed'}"
    else:  # stopped; or still "running" where the engine was cut off: its last checkpoint resumes it
        where = f"after epoch {done}" + (f" of {epochs}" if epochs else "") if done else "before its first epoch ended"
        ended = f"stopped {where}, its checkpoint saved; continue with: {resume_command(str(folder), flags)}"
    return [ended, f"run folder: {folder}"]
