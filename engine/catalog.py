"""The runs under a runs folder, as a listing shows them: read from each folder's ``summary.json`` alone.

Listing never opens ``events.jsonl`` (a run's events are read when the run is opened), so a
thousand folders list in a fraction of a second. A damaged folder (no or corrupt summary, one
whose fields no run writes together, no or no readable event log or config, unreadable) is
listed with the reason instead of raising.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

from . import paths
from .config import MAX_EPOCHS, MAX_NAME, Config, ConfigError
from .events import EVENT_TYPES, Terminal
from .lock import writer_alive
from .presets import load_config_file, regular_file

REQUIRED_FILES = ("summary.json", "events.jsonl", "config.toml")
SORT_KEYS = ("date", "run", "name", "preset", "state", "epochs", "final", "best", "time", "device", "damage")


class DamagedRun(ValueError):
    """A run folder that cannot be read as a run; the message says what is wrong.

    ``sound``: where a summary could be read but some of its fields break their rules, the fields
    that keep them (a listing shows those, rather than a blank row)."""

    def __init__(self, message: str, sound: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.sound = sound or {}


@dataclass(frozen=True)
class RunEntry:
    """One run folder: its summary (only its sound fields when damaged) and the reason it is damaged."""

    path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    damage: str | None = None
    """Why the folder is not a readable run (None for a sound one)."""
    when: float = 0.0
    """Start time as a Unix timestamp (the folder's modification time when the summary has none)."""
    interrupted: bool = False
    """The summary says running, but the process that wrote it is gone (killed, or its machine
    went down): the run shows as "interrupted" and resumes from its last checkpoint."""

    @property
    def run(self) -> str:
        """The folder's name, which is also the run id."""
        return self.path.name

    @property
    def state(self) -> str:
        if self.damage:
            return "damaged"
        return "interrupted" if self.interrupted else str(self.summary.get("status", "unknown"))

    def get(self, key: str) -> Any:
        """A summary field, None when absent (older summaries lack name, preset, epochs and started)."""
        return self.summary.get(key)

    def to_dict(self) -> dict[str, Any]:
        """The listing's row as JSON-ready values; summary fields keep their summary.json names."""
        return {
            "run": self.run,
            "path": str(self.path),
            "state": self.state,
            "damage": self.damage,
            **{key: self.get(key) for key in ROW_FIELDS},
        }


ROW_FIELDS = (
    "name", "preset", "started", "status", "epochs_completed", "epochs", "final_test_accuracy",
    "best_test_accuracy", "best_epoch", "train_seconds", "device",
)
MOST_EPOCHS = MAX_EPOCHS
"""The most epochs a config allows (``Config.epochs``): no summary counts more."""
MOST_SECONDS = 366 * 24 * 3600
"""A year: no run trains or evaluates longer, and the widest duration a listing shows (8784h00m)."""
RUN_STATES = ("running", *(kind.status for kind in EVENT_TYPES.values() if issubclass(kind, Terminal)))
"""The statuses a summary can hold: running until one of the events that end a run names how it ended."""


MOST_LABEL = 200
"""The longest a short text of a summary may be (a preset, a device, a start time, what a run
evaluated on): the engine writes a few dozen characters, so a longer one was not written by it."""
MOST_PATH = 4096
"""The longest path a summary may name (Linux's PATH_MAX): no folder has a longer one."""
MOST_MESSAGE = 500
"""Characters of a summary's error message kept at read: a message is prose, however long, so a
longer one is cut (with an ellipsis and its length) rather than taken for damage."""


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MOST_LABEL


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MOST_PATH


def _are_versions(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_label(key) and _is_label(version) for key, version in value.items())


def _is_name(value: Any) -> bool:
    """Text as long as a name the engine writes (a config's ``name``: 1 to 64 characters). Its
    characters are not checked: a hand-edited or older name lists, escaped where it is shown."""
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME


def _is_state(value: Any) -> bool:
    return value in RUN_STATES


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MOST_EPOCHS


def is_percent(value: Any) -> bool:
    # NaN fails both comparisons; JSON's Infinity fails the second.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100


def _is_seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MOST_SECONDS


def _or_null(rule: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``rule``, letting null through: older summaries lack fields, and a run not yet past its
    first epoch has no accuracy."""
    return lambda value: value is None or rule(value)


_LABEL = f"text of at most {MOST_LABEL} characters"

# Summary fields a listing, compare or a resume reads, each with its rule and what the rule asks
# for; a summary with anything else there is damaged. Every summary the engine writes has a status.
# Short texts (names, labels, paths) longer than the engine writes are damage; the error message,
# prose, is cut at read instead (``read_summary``).
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "status": (_is_state, "a run state"),
    "name": (_or_null(_is_name), f"a run name (1 to {MAX_NAME} characters)"),
    "preset": (_or_null(_is_label), _LABEL),
    "started": (_or_null(_is_label), _LABEL),
    "epochs_completed": (_or_null(is_count), f"a count of epochs from 0 to {MOST_EPOCHS:,}"),
    "epochs": (_or_null(is_count), f"a count of epochs from 0 to {MOST_EPOCHS:,}"),
    "final_test_accuracy": (_or_null(is_percent), "a percentage from 0 to 100"),
    "best_test_accuracy": (_or_null(is_percent), "a percentage from 0 to 100"),
    "best_epoch": (_or_null(is_count), f"a count of epochs from 0 to {MOST_EPOCHS:,}"),
    "train_seconds": (_or_null(_is_seconds), "seconds from 0 to a year"),
    "eval_seconds": (_or_null(_is_seconds), "seconds from 0 to a year"),
    "evaluated_on": (_or_null(_is_label), _LABEL),
    "device": (_or_null(_is_label), _LABEL),
    "error": (_or_null(_is_text), "text"),
    "data_dir": (_or_null(_is_path), f"a folder's path (at most {MOST_PATH:,} characters)"),
    "versions": (_or_null(_are_versions), f"a table of library versions ({_LABEL})"),
}


def not_a_run_folder(path: Path) -> str | None:
    """Why ``path`` cannot be a run folder ("run folder X does not exist"), or None if it is a folder."""
    if paths.is_dir(path):
        return None
    if not paths.exists(path):
        return f"run folder {path} {paths.absent(path)}"
    return f"run folder {path} is {'a file' if paths.is_file(path) else 'no folder (a device, a pipe or a socket)'}, not a run folder"


def find_run(name: str, runs_dir: Path) -> Path | None:
    """The run folder ``name`` names: a path, else a folder of that name under ``runs_dir``."""
    if not name.strip():
        return None  # Path("") is the current folder
    for folder in (Path(name), runs_dir / name):
        if paths.is_dir(folder):
            return folder
    return None


def list_runs(runs_dir: Path | str) -> list[RunEntry]:
    """Every run folder under ``runs_dir``, newest first; a missing ``runs_dir`` is a FileNotFoundError."""
    root = Path(runs_dir)
    with os.scandir(root) as entries:
        folders = [Path(e.path) for e in entries if not e.name.startswith(".") and e.is_dir()]
    return newest_first(read_entry(folder) for folder in folders)


def newest_first(entries: Iterable[RunEntry]) -> list[RunEntry]:
    """Entries newest first, those started at the same moment by their run's name."""
    return sorted(sorted(entries, key=lambda entry: entry.run), key=lambda entry: entry.when, reverse=True)


def read_entry(folder: Path) -> RunEntry:
    """One folder as a RunEntry; never raises (whatever is wrong becomes its ``damage``)."""
    try:
        names = {entry.name for entry in os.scandir(folder)}
        modified = folder.stat().st_mtime
    except OSError as error:
        return RunEntry(folder, damage=f"unreadable: {error.strerror or error}")
    problems = ([] if "summary.json" in names else ["no summary.json"]) + file_problems(folder, names)
    summary: dict[str, Any] = {}
    if "summary.json" in names:
        try:
            summary = read_summary(folder)
        except DamagedRun as error:
            problems.insert(0, str(error))
            summary = error.sound  # QA: one bad value blanked the name, the dates and the accuracies
    when = parse_timestamp(summary.get("started")) or modified
    return RunEntry(folder, summary, "; ".join(problems) or None, when, is_interrupted(folder, summary))


def file_problems(folder: Path, names: set[str]) -> list[str]:
    """What is wrong with a run folder's event log and config, as a listing tells it (``names``:
    the folder's files)."""
    problems = [f"no {name}" for name in REQUIRED_FILES[1:] if name not in names]
    if "events.jsonl" in names:
        problem = _unreadable_log(folder / "events.jsonl")
        if problem:
            problems.append(problem)
    if "config.toml" in names:
        problem = _unparsable_config(folder / "config.toml")
        if problem:
            problems.append(problem)
    return problems


def is_interrupted(folder: Path, summary: dict[str, Any]) -> bool:
    """Whether ``summary`` says running but the process that wrote it is gone (``RunEntry.interrupted``)."""
    return summary.get("status") == "running" and writer_alive(folder) is False


def holds_no_run(folder: Path) -> bool:
    """Whether ``folder`` was never a run folder: it has neither a config nor an event log (a runs
    folder, or any other), as a damaged run that lost one of them still has the other."""
    return not any(os.path.lexists(folder / name) for name in ("config.toml", "events.jsonl"))


def runs_folder_hint(folder: Path) -> str | None:
    """What to name instead of ``folder`` where it is a runs folder, named in place of one of the
    runs it holds (``predict runs IMAGE``); None for any other folder."""
    if not paths.is_dir(folder) or not holds_no_run(folder):
        return None
    try:
        runs = [entry.path for entry in list_runs(folder) if not holds_no_run(entry.path)]
    except OSError:  # unreadable: it cannot be told to hold runs
        return None
    if not runs:
        return None
    return (
        f"{folder} is a runs folder, not a run: name one of its {len(runs):,} runs, such as {runs[0]} "
        f"(the newest), as `mnist-tui runs --runs-dir {shlex.quote(str(folder))}` lists them"
    )


def look_up_run(name: str, runs_dir: Path) -> tuple[Path, str | None]:
    """The folder ``name`` names (a path, else a run's name under ``runs_dir``) and why it is no
    run folder (found nowhere, a file, a runs folder), or None: a folder, perhaps a damaged run's."""
    found = find_run(name, runs_dir)
    folder = found or Path(name)
    if found is None and not (name.strip() and paths.exists(folder)):  # Path("") is the current folder
        return folder, missing_run(name, runs_dir)
    return folder, not_a_run_folder(folder) or runs_folder_hint(folder)


def missing_run(name: str, runs_dir: Path | str) -> str:
    """The one line for a run found nowhere, as ``--resume`` says it: ``run folder NAME does not
    exist (nor in RUNS_DIR)``; an absolute path is never looked for under the runs folder."""
    why = paths.absent(Path(name)) if name.strip() else "does not exist"
    looked_up = "" if Path(name).is_absolute() or why != "does not exist" else f" ({_looked_in(Path(runs_dir))})"
    return f"run folder {name if name.strip() else repr(name)} {why}{looked_up}"


def _looked_in(runs_dir: Path) -> str:
    """Where a run's name was looked for, and why the runs folder could hold none (QA: a runs
    folder that was a file read "nor in /etc/hostname")."""
    if paths.is_dir(runs_dir):
        return f"nor in {runs_dir}"
    if paths.exists(runs_dir):
        return f"and --runs-dir {runs_dir} is a file, not a folder of runs"
    return f"nor in {runs_dir}, which {paths.absent(runs_dir)}"


def _unreadable_log(path: Path) -> str | None:
    """Why ``events.jsonl`` cannot be read (a folder, a FIFO, no read permission), or None; the
    listing does not open it (it may be large), so it asks only what opening it would answer."""
    try:
        regular_file(path)
    except OSError as error:
        return f"events.jsonl is unreadable: {error.strerror or error}"
    if not os.access(path, os.R_OK):
        return "events.jsonl is unreadable: Permission denied"
    return None


def read_summary(folder: Path) -> dict[str, Any]:
    """A run folder's ``summary.json``, checked; a DamagedRun names what is wrong."""
    path = folder / "summary.json"
    try:
        text = regular_file(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DamagedRun("no summary.json") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedRun(f"summary.json is unreadable: {getattr(error, 'strerror', None) or error}") from None
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as error:
        raise DamagedRun(f"summary.json is corrupt (not JSON at line {error.lineno})") from None
    except ValueError:  # Python refuses integers of over 4,300 digits
        raise DamagedRun("summary.json is corrupt (a number too long to read)") from None
    except RecursionError:
        raise DamagedRun("summary.json is corrupt (nested too deep to read)") from None
    if not isinstance(summary, dict):
        raise DamagedRun("summary.json is not a JSON object")
    error = summary.get("error")
    if isinstance(error, str) and len(error) > MOST_MESSAGE:
        summary["error"] = f"{error[:MOST_MESSAGE]}… ({len(error):,} characters)"
    problems = _summary_problems(summary)
    if problems:
        raise DamagedRun(f"summary.json: {'; '.join(problems)}", sound_fields(summary))
    return summary


def _summary_problems(summary: dict[str, Any]) -> list[str]:
    """Every field of a summary that breaks its rule, each with its value: all at once, so that
    a summary with several bad fields is not mended one listing at a time."""
    problems = [] if "status" in summary else ["no status"]
    problems += [
        f"{key} is {_shown(summary[key])}, not {wanted}"
        for key, (valid, wanted) in _RULES.items()
        if key in summary and not valid(summary[key])
    ]
    return problems or _inconsistencies(summary)


def _inconsistencies(summary: dict[str, Any]) -> list[str]:
    """Fields of a summary, each valid alone, that no run writes together: the engine never trains
    past its configured epochs (a resume refuses fewer), and the best accuracy is the highest of
    the epochs the final one is the last of."""
    done, total, best_epoch = (summary.get(key) for key in ("epochs_completed", "epochs", "best_epoch"))
    best, final = summary.get("best_test_accuracy"), summary.get("final_test_accuracy")
    problems = []
    if done is not None and total is not None and done > total:
        problems.append(f"epochs_completed is {done}, more than its epochs ({total})")
    if best_epoch is not None and done is not None and best_epoch > done:
        problems.append(f"best_epoch is {best_epoch}, after its epochs_completed ({done})")
    if best is not None and final is not None and best < final:
        problems.append(f"best_test_accuracy is {best}, below its final_test_accuracy ({final})")
    return problems


def sound_fields(summary: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``summary`` that keep their rules (a resume carries its preset and start into
    the summary it writes: a damaged one must not be copied on)."""
    return {key: value for key, value in summary.items() if key not in _RULES or _RULES[key][0](value)}


def _shown(value: Any) -> str:
    """A summary value as a reason quotes it: null as JSON writes it, a 300-digit number or a long text cut short."""
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}… ({len(text):,} characters)"


_checked_configs: dict[Path, tuple[tuple[int, int, int], str | None]] = {}
"""Each config.toml checked, by the version of the file it was (inode, size, modification time)."""


_STRING = r'"[^"\\\x00-\x1f]*"'
_NUMBER = r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:e[+-]?\d+)?"  # TOML refuses leading zeros (007)
_PLAIN_LINE = re.compile(
    rf"(?:#[^\x00-\x08\x0a-\x1f\x7f]*|([a-z_]+) = (?:true|false|{_NUMBER}|{_STRING}|\[(?:(?:{_NUMBER}|{_STRING})(?:, (?:{_NUMBER}|{_STRING}))*)?\]))?"
)
"""A line as ``config_to_toml`` writes it: a comment, or ``key = value`` with a plain value."""


def _plainly_toml(text: str) -> bool:
    """Whether every line is one ``config_to_toml`` could have written, each key once: valid TOML
    at a tenth of tomllib's cost (30 us a file instead of 330); anything else goes to tomllib."""
    keys: set[str] = set()
    for line in text.splitlines():
        match = _PLAIN_LINE.fullmatch(line)
        if match is None:
            return False
        key = match.group(1)
        if key is not None:
            if key in keys:
                return False
            keys.add(key)
    return True


def _unparsable_config(path: Path) -> str | None:
    """Why ``config.toml`` is no TOML at all, if it is not (its values are checked when the run is
    opened: a full check per folder would cost a listing 0.6 ms a run). Parsing costs 0.3 ms, so
    a file is parsed again only when it changed (the Runs view lists every few seconds)."""
    try:
        status = path.stat()
    except OSError as error:
        return f"config.toml cannot be read: {error.strerror or error}"
    version = (status.st_ino, status.st_size, status.st_mtime_ns)
    known = _checked_configs.get(path)
    if known is not None and known[0] == version:
        return known[1]
    try:
        with open(regular_file(path), "rb") as handle:
            text = handle.read().decode("utf-8-sig")  # a byte order mark, as load_config_file allows
        if not _plainly_toml(text):
            tomllib.loads(text)
        problem = None
    except tomllib.TOMLDecodeError as error:
        problem = f"config.toml: TOML syntax error: {error}"
    except (OSError, UnicodeDecodeError, RecursionError) as error:
        problem = f"config.toml cannot be read: {getattr(error, 'strerror', None) or error}"
    _checked_configs[path] = (version, problem)
    return problem


def read_config(folder: Path) -> Config:
    """A run folder's ``config.toml`` as a Config; a DamagedRun when it is missing or invalid."""
    try:
        return load_config_file(folder / "config.toml")
    except ConfigError as error:
        raise DamagedRun(str(error)) from None


def summary_data_dir(folder: Path) -> str | None:
    """The data folder a run folder's summary records (None: no readable summary, or one written
    before summaries recorded it); whether it still holds the data is the caller's look."""
    try:
        recorded = read_summary(folder).get("data_dir")
    except DamagedRun:
        return None
    return recorded if isinstance(recorded, str) else None


def parse_timestamp(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
