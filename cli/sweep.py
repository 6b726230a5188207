"""``mnist-tui sweep``: search hyperparameters with Optuna, in local worker processes and beyond.

Everything the user gave is checked before any study is created: the base config, the search
space, the storage URL, the data, the device, the memory the largest model needs, and the number
of workers against the cores and the memory (each worker loads torch). Then the study is created
or joined, K worker processes run trials (``sweep_workers.py``), and this process prints a line
per finished trial (any worker's, any machine's) and a final table; ``--export-best`` writes the
best trial's config as a preset file.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .command import ENV_DATA_DIR, check_runs_dir
from .engine import paths
from .engine.config import MAX_NAME, NAME_PATTERN, Config, ConfigError, parse_assignment
from .engine.presets import DEFAULT_PRESET, load_config_file, load_preset
from .engine.space import SearchSpace, load_space
from .engine.trial_rows import trial_name
from .exit_codes import USAGE
from .sweep_workers import MAX_WORKERS_PER_CORE, WORKER_BYTES

@dataclass(frozen=True)
class SweepOptions:
    """What ``mnist-tui sweep`` resolved to."""

    base: Config
    preset: str | None
    """The preset the base config started from (None: a config file); each trial's summary names it."""
    space: SearchSpace
    trials: int | None
    timeout: float | None
    workers: int
    storage: str | None
    study: str
    pruner: str
    export_best: str | None
    inputs: dict[str, Path]
    """The files the sweep reads or keeps, by how the user named them: the export must not replace them."""
    headless: bool
    runs_dir: str
    data_dir: str | None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui sweep",
        description=(
            "Search hyperparameters with Optuna: every trial is an ordinary run (its folder in --runs-dir), "
            "worker processes share this machine's cores, and any number of machines can share one study."
        ),
        epilog=(
            "exit codes: 0 done, 1 workers kept dying, no trial succeeded, --timeout passed before any trial started, "
            "the storage was lost mid-sweep or the best config could not be exported, "
            "2 usage/config/data/storage error (or a dashboard whose stdin is no terminal), 130 / 143 / 129 Ctrl+C / SIGTERM / closed terminal"
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help=f"the fixed part of every trial's config (default: {DEFAULT_PRESET})")
    source.add_argument("--config", metavar="FILE", help="the fixed part from a TOML config file")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                        help="fix a config field for every trial (repeatable)")
    parser.add_argument("--space", metavar="FILE", required=True,
                        help="TOML search space: one entry per field, such as lr = { low = 1e-4, high = 1e-1, log = true }")
    parser.add_argument("--trials", type=int, metavar="N",
                        help="trials this command runs (default: until --timeout or Ctrl+C); 0 runs none: it shows "
                             "a study that exists (and exports its best with --export-best)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="start no trial after SECONDS, counted from this command's start (running ones finish); "
                             "exit 1 if it passes before any worker was ready to start one (loading takes seconds)")
    parser.add_argument("--workers", type=int, default=1, metavar="K",
                        help=f"local worker processes (default: 1; at most {MAX_WORKERS_PER_CORE} per core, "
                             f"and as many as the free memory holds: each takes about {WORKER_BYTES / 1e9:g} GB "
                             "to load, and its trial's memory)")
    parser.add_argument("--storage", metavar="URL",
                        help="an SQLAlchemy URL (postgresql://..., mysql://...) or a journal file path "
                             "(default: RUNS_DIR/sweeps.journal)")
    parser.add_argument("--study", metavar="NAME", help="study name; the same name joins or resumes it (default: PRESET-SPACE)")
    parser.add_argument("--pruner", choices=("median", "none"), default="median",
                        help="stop trials whose epoch accuracy is below the median of earlier trials' (default: median)")
    parser.add_argument("--export-best", metavar="FILE", help="write the best trial's full config as a preset TOML file")
    parser.add_argument("--no-ui", action="store_true", help="print a line per trial and a final table instead of the dashboard")
    parser.add_argument("--runs-dir", metavar="DIR", default="runs", help="where trial run folders go (default: ./runs)")
    parser.add_argument("--data-dir", metavar="DIR", help=f"dataset folder (default: ${ENV_DATA_DIR}, else ~/.cache/mnist-tui)")
    return parser


def resolve(args: argparse.Namespace) -> SweepOptions:
    """Check every option (nothing is created); raises ConfigError with the reason."""
    if args.config is not None:
        preset = None
        base = load_config_file(args.config)
    else:
        preset = args.preset or DEFAULT_PRESET
        base = load_preset(preset)
    changes = dict(parse_assignment(text) for text in args.overrides)
    if changes:
        base = base.replace(source="--set", **changes)
    space = load_space(args.space, base)
    both = [field for field in space.fields if field in changes]
    if both:
        raise ConfigError(f"{both[0]} is fixed by --set and searched by {args.space}: drop one")
    if args.trials is not None and args.trials < 0:
        raise ConfigError(f"--trials must be 0 or more, not {args.trials}")
    if args.timeout is not None and not args.timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {args.workers}")
    check_runs_dir(args.runs_dir)  # else every trial fails on it, without end when --trials is not given
    workers = args.workers
    if args.trials is not None and 0 < args.trials < workers:
        workers = args.trials  # a worker with no trial to run would only load torch
    study = args.study if args.study is not None else f"{base.name}-{Path(args.space).stem}"
    # It names every trial's run: the run names' own rule decides (a long study broke every trial).
    if not NAME_PATTERN.fullmatch(trial_name(study, 0)):
        longest = MAX_NAME - len(trial_name("", 0))
        too_long = f"; at most {longest} characters" if len(study) > longest else ""
        if args.study is None:
            raise ConfigError(
                f"the study's name {study!r}, made from the config's name and the space file's, is not only letters, "
                f"digits, '.', '_' or '-'{too_long} (it names run folders): name the study with --study"
            )
        raise ConfigError(
            f"--study must be letters, digits, '.', '_' or '-', starting with a letter or digit (it names run folders), "
            f"not {study!r}{too_long}"
        )
    inputs = inputs_of(args)
    if args.export_best is not None:
        if not args.export_best.strip():
            raise ConfigError("--export-best is empty; name the file to write, such as best.toml")
        check_export_path(Path(args.export_best), inputs)
    return SweepOptions(
        base=base,
        preset=preset,
        space=space,
        trials=args.trials,
        timeout=args.timeout,
        workers=workers,
        storage=args.storage,
        study=study,
        pruner=args.pruner,
        export_best=args.export_best,
        inputs=inputs,
        headless=args.no_ui,
        runs_dir=args.runs_dir,
        data_dir=args.data_dir or os.environ.get(ENV_DATA_DIR) or None,
    )


def inputs_of(args: argparse.Namespace) -> dict[str, Path]:
    """The files the sweep reads or keeps, by how the user named them: an export must not replace them."""
    from .engine.study import JOURNAL_FILE

    inputs = {f"the --space file {args.space}": Path(args.space)}
    if args.config is not None:
        inputs[f"the --config file {args.config}"] = Path(args.config)
    storage = args.storage
    if storage is None:
        inputs[f"the study's storage {Path(args.runs_dir) / JOURNAL_FILE}"] = Path(args.runs_dir) / JOURNAL_FILE
    elif "://" not in storage:
        inputs[f"the study's storage {storage}"] = Path(storage)
    elif storage.startswith("sqlite:///"):
        inputs[f"the study's storage {storage}"] = Path(storage.removeprefix("sqlite:///"))
    return inputs


def check_export_path(path: Path, inputs: dict[str, Path] | None = None) -> None:
    """Refuse a path the best config could not be written to, or should not be: one of the sweep's
    ``inputs`` (storage, space, config) or an existing file that is no config (a previous export is
    replaced; a checkpoint or a journal is not). Checked before any trial, and again before the write."""
    if (unreachable := paths.unreachable(path)) is not None:
        raise ConfigError(f"--export-best {path} {unreachable}")
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"--export-best {path} is a broken link (to {os.readlink(path)}); name another file, or remove the link")
    folder = path.resolve().parent
    if path.is_dir():
        raise ConfigError(f"--export-best {path} is a folder; name a file in it, such as {path / 'best.toml'}")
    if not folder.is_dir():
        raise ConfigError(f"--export-best {path}: its folder does not exist")
    for what, kept in (inputs or {}).items():
        if _same_file(path, kept):
            raise ConfigError(f"--export-best {path} is {what}: the export would overwrite it; name another file")
    if path.is_file():
        try:
            load_config_file(path)
        except ConfigError:
            raise ConfigError(
                f"--export-best {path} exists and is not an mnist-tui config file: the export would overwrite it; "
                "name a new file or an earlier export"
            ) from None
    try:  # a real write, not os.access: root passes that for /proc, which refuses every new file
        if path.exists():
            with open(path, "ab"):
                pass
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(path)
    except OSError as error:
        raise ConfigError(f"--export-best {path} cannot be written ({error.strerror or error})") from None


def _same_file(path: Path, other: Path) -> bool:
    """Whether two paths name one file: the same place once links are followed (it may not exist
    yet, as a new study's journal), or the same existing file by another name (a hard link)."""
    if path.resolve() == other.resolve():
        return True
    try:
        return path.exists() and other.exists() and os.path.samefile(path, other)
    except OSError:
        return False


def preflight(options: SweepOptions) -> None:
    """Fail now, not in every trial, on an absent device, a model too large for memory, more workers
    than the cores or the memory can take, or missing data (and download data once)."""
    from .engine.data import DataError, ensure_files
    from .engine.memory import available_host_memory, check_memory, estimate
    from .engine.threads import cpu_cores
    from .engine.train import resolve_device
    from .sweep_workers import check_worker_count

    choices = {d.field: d.choices for d in options.space.dimensions}
    devices = {name: resolve_device(name) for name in choices.get("device") or (options.base.device,)}
    largest = 0
    for config in options.space.corners(options.base):  # each is the base config with searched values
        check_memory(config, devices[config.device])
        largest = max(largest, estimate(config).total)
    check_worker_count(options.workers, cores=cpu_cores(), available=available_host_memory(), trial_bytes=largest)
    for dataset in choices.get("dataset") or (options.base.dataset,):
        try:
            ensure_files(options.data_dir, dataset)
        except DataError as error:
            raise ConfigError(str(error)) from None


def main(argv: Sequence[str]) -> int:
    """``mnist-tui sweep ARGS``; returns the exit code."""
    args = build_parser().parse_args(argv)
    from .engine.study import StudyError, check_storage, open_storage, open_study, quiet_optuna, require_study
    from .engine.threads import cpu_cores
    from .tui.hangup import NO_TERMINAL, stdin_is_terminal

    try:
        options = resolve(args)
        if not options.headless and not stdin_is_terminal():  # before any study is made
            raise ConfigError(f"{NO_TERMINAL}; run the sweep with --no-ui instead")
        check_storage(options.storage, workers=options.workers)
        preflight(options)
        quiet_optuna()
        if options.trials == 0:
            require_study(None, options.study, url=options.storage, runs_dir=options.runs_dir)
        storage = open_storage(options.storage, options.runs_dir)
        if options.trials == 0:
            require_study(storage, options.study, url=options.storage, runs_dir=options.runs_dir)
        study = open_study(storage, options.study, base=options.base, space=options.space, pruner=options.pruner)
    except (ConfigError, StudyError) as error:
        print(f"mnist-tui sweep: error: {error}", file=sys.stderr)
        return USAGE
    cores = cpu_cores()
    if options.workers > cores:
        print(
            f"mnist-tui sweep: note: {options.workers} workers share {cores} cores (one thread each): "
            f"trials run slower, not more of them at once than with --workers {cores}",
            file=sys.stderr,
        )
    if options.headless:
        from .sweep_run import run_sweep

        return run_sweep(options, study)
    from .sweep_ui import run_sweep_dashboard

    return run_sweep_dashboard(options, study)
