"""Where a sweep's trials live: Optuna's own storages and studies, and this project's view of them.

The default storage is Optuna's journal storage in ``RUNS_DIR/sweeps.journal``: an append-only
file whose writers take a lock, safe for several processes on one machine or on a shared
filesystem. Any SQLAlchemy URL opens Optuna's RDB storage (PostgreSQL, MySQL), which several
machines share; SQLite is refused with more than one worker, as Optuna advises.

A trial whose process died stays RUNNING in the storage until someone fails it. With an RDB
storage, Optuna's heartbeat does it (a trial silent for ``GRACE_SECONDS`` is failed when another
trial starts); the journal storage has no heartbeat, so every trial records its host and process
and :func:`fail_dead_trials` fails this machine's running trials whose process is gone (the
sweep calls it when a worker dies and before each trial).
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal._storage import JournalOperation
from optuna.trial import FrozenTrial, TrialState

from . import paths
from .config import Config
from .presets import NotRegularFile, regular_file
from .space import SearchSpace
from .trial_rows import TrialRow

JOURNAL_FILE = "sweeps.journal"
"""The default storage's file in the runs folder."""
HEARTBEAT_SECONDS = 20
"""How often a trial on an RDB storage says it is alive (Optuna's heartbeat)."""
GRACE_SECONDS = 60
"""How long an RDB trial may stay silent before another worker fails it."""
OPEN_ATTEMPTS = 3
"""Tries to open an RDB storage (its tables may be being created by another command)."""
STATES = {
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
}


class StudyError(RuntimeError):
    """A storage that cannot be opened or a study that cannot be joined; the message says why."""


def quiet_optuna() -> None:
    """Optuna's own log lines and experimental warnings off: the sweep prints what happened."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def storage_errors() -> tuple[type[BaseException], ...]:
    """What Optuna and SQLAlchemy raise when a storage that opened stops answering."""
    errors: list[type[BaseException]] = [optuna.exceptions.StorageInternalError]
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        pass
    else:
        errors.append(SQLAlchemyError)
    return tuple(errors)


def lost_storage(error: BaseException) -> BaseException | None:
    """The storage error in ``error``'s chain, if any (Optuna re-raises its own errors while handling
    one): the deepest, which says what happened ("server closed the connection unexpectedly")
    where Optuna's own wrapper guesses at invalid data."""
    errors = storage_errors()
    found: BaseException | None = None
    seen: BaseException | None = error
    for _ in range(20):  # a chain is a few links; a cycle must not hang here
        if seen is None:
            break
        if isinstance(seen, errors):
            found = seen
        seen = seen.__cause__ or seen.__context__
    return found


def first_line(error: BaseException) -> str:
    """An error's first line (SQLAlchemy's run on with the statement and a link), or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_storage(url: str | None, runs_dir: str | Path) -> str:
    """The storage as people should read it (a URL's password hidden)."""
    if url is None:
        return str(Path(runs_dir) / JOURNAL_FILE)
    if "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    # libpq and SQLAlchemy also take the password as a query parameter (?password=...).
    return f"{scheme}://" + _PASSWORD_PARAMETER.sub(r"\1***", rest)


_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def check_storage(url: str | None, *, workers: int) -> None:
    """Refuse what Optuna cannot do safely, and a journal or SQLite file in no folder, before anything is opened."""
    if url is not None and not url.strip():  # else read as the current folder: "--storage  is a folder"
        raise StudyError(
            "--storage is empty; name a journal file, such as sweeps.journal, or an SQLAlchemy URL "
            "(or leave it out for RUNS_DIR/sweeps.journal)"
        )
    if url is not None and url.startswith("sqlite") and (url.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in url):
        raise StudyError(
            f"--storage {url} is an in-memory database: each worker process would have its own, empty one, "
            "and no trial would be kept; name a file, such as sqlite:///sweeps.db"
        )
    if url is not None and url.startswith("sqlite") and workers > 1:
        raise StudyError(
            f"--storage {url} with --workers {workers}: Optuna does not support SQLite for parallel "
            "workers (it locks the whole file); use --workers 1, the default journal storage, "
            "or a PostgreSQL or MySQL URL"
        )
    database = _sqlite_file(url)
    local = database if database is not None else Path(url) if url is not None and "://" not in url else None
    unreachable = paths.unreachable(local) if local is not None else None
    if unreachable is not None:
        raise StudyError(f"--storage {url}: {local} {unreachable}")
    if database is not None and not database.parent.is_dir():
        # SQLite's own word for it is "unable to open database file".
        raise StudyError(f"--storage {url}: its folder {database.parent} does not exist")
    if database is not None and database.is_dir():
        raise StudyError(f"--storage {url}: {database} is a folder; name a file, such as {database / 'sweeps.db'}")
    if url is not None and "://" not in url and not Path(url).parent.is_dir():
        # Not created: a typo in a shared journal's path would start a second study there.
        raise StudyError(f"--storage {url}: its folder does not exist")
    if url is not None and "://" not in url:
        _check_regular(Path(url), f"--storage {url}")


def require_study(storage: BaseStorage | None, name: str, *, url: str | None, runs_dir: str | Path) -> None:
    """Refuse a study that is not there, for a command that runs no trial (``--trials 0``) and so must
    not create one: a misspelled ``--study`` made an empty study (and a missing journal a new file).

    ``storage`` None: it is not opened yet, and only a journal or SQLite file that is missing is refused."""
    where = describe_storage(url, runs_dir)
    why = "--trials 0 runs no trial: it shows a study that exists (and exports its best with --export-best), and"
    if storage is None:
        local = Path(runs_dir) / JOURNAL_FILE if url is None else Path(url) if "://" not in url else _sqlite_file(url)
        if local is not None and not paths.exists(local):
            raise StudyError(f"{why} {where} does not exist")
        return
    names = sorted(optuna.get_all_study_names(storage))
    if name not in names:
        held = f"; its studies: {', '.join(names)}" if names else ", which holds no study"
        raise StudyError(f"{why} there is no study {name!r} in {where}{held}")


def _sqlite_file(url: str | None) -> Path | None:
    """The database file an ``sqlite:///`` URL names; None for any other storage, or an SQLite URI."""
    if url is None or not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(url).database
    except ArgumentError:
        return None  # opening it says what is wrong
    return None if not database or database.startswith("file:") else Path(database)


def open_storage(url: str | None, runs_dir: str | Path) -> BaseStorage:
    """Optuna's storage for ``--storage``: a journal file (the default, or a path), or an SQLAlchemy URL."""
    if url is None or "://" not in url:
        path = Path(runs_dir) / JOURNAL_FILE if url is None else Path(url)
        try:
            if url is None:  # the sweep's own choice; a path the user named must be there (check_storage)
                path.parent.mkdir(parents=True, exist_ok=True)
            _check_regular(path, f"journal storage {path}")
            check_journal(path)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as error:
            raise StudyError(f"cannot open the journal storage {path}: {error}") from None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
        except ImportError as error:
            extra = " (pip install 'mnist-tui[postgres]')" if url.startswith("postgres") else ""
            raise StudyError(f"--storage {describe_storage(url, '')}: its database driver is missing{extra}: {error}") from None
        except Exception as error:  # SQLAlchemy's errors for a bad URL or a server that does not answer
            from sqlalchemy.exc import DBAPIError

            if attempt + 1 < OPEN_ATTEMPTS and isinstance(error, DBAPIError):
                # Two commands creating a fresh database's tables at once: one loses the race.
                time.sleep(0.5 + random.random())
                continue
            raise StudyError(f"--storage {describe_storage(url, '')}: cannot open it: {first_line(error)}") from None
    raise AssertionError("unreachable")


def _check_regular(path: Path, name: str) -> None:
    """Refuse a journal path that exists as anything but a regular file: Optuna's appends hang on a
    FIFO and fail in ``fsync`` on a device."""
    try:
        regular_file(path)
    except FileNotFoundError:
        return  # Optuna creates it
    except IsADirectoryError:
        raise StudyError(f"{name} is a folder; name a file, such as {path / JOURNAL_FILE}") from None
    except NotRegularFile:
        raise StudyError(f"{name} is not a regular file") from None
    except OSError as error:
        raise StudyError(f"{name} cannot be read ({error.strerror or error})") from None
    # Optuna appends to it, and locks it with a link made beside it: both must be allowed (QA: a
    # read-only journal or folder ended in a PermissionError's traceback). A real write, not
    # os.access, which root passes for files it cannot change.
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise StudyError(f"{name} cannot be written ({error.strerror or error})") from None
    try:
        handle, probe = tempfile.mkstemp(dir=path.parent, prefix=".mnist-tui-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise StudyError(
            f"{name}: its folder {path.parent} cannot be written ({error.strerror or error}); "
            "Optuna locks the journal with a file beside it"
        ) from None


def check_journal(path: Path) -> None:
    """Refuse a file that is not an Optuna journal, or one Optuna would fail on, naming its first bad
    line and leaving it as it is; a torn last line (a writer killed mid-record, or a full disk) after
    whole records is cut off.

    Optuna skips a last line without its newline but appends straight after it, which leaves a
    broken line inside the file: every later read fails. The cut happens under Optuna's own lock
    of the file, so a writer on another machine is never cut mid-record.
    """
    if not path.is_file():
        return
    # Read and checked before the lock: a long journal checked under it would keep writers waiting
    # past the lock's grace period, and they would break it.
    data = path.read_bytes()
    if data.startswith(_SQLITE_HEADER):
        raise StudyError(
            f"journal storage {path} is an SQLite database, not an Optuna journal; it was left as it is: "
            f"name it as --storage sqlite:///{path}"
        )
    end = data.rfind(b"\n") + 1
    _check_records(path, data[:end], first=1)
    if end == len(data):
        return
    last = data.count(b"\n") + 1
    if not _looks_like_a_record(data[end:]):
        # No Optuna write begins like that: someone else's file, or notes written after the records.
        raise _bad_line(path, last, "not an Optuna record")
    from optuna.storages.journal import JournalFileSymlinkLock

    lock = JournalFileSymlinkLock(str(path))
    if not lock.acquire():
        return  # another process holds it for long: it reads and writes the file itself
    try:
        now = path.read_bytes()  # its writer may have finished that record, and others appended since
        if not now.startswith(data[:end]):
            return  # replaced meanwhile: the next open checks it again
        whole = now.rfind(b"\n") + 1
        _check_records(path, now[end:whole], first=last)
        if whole < len(now) and _looks_like_a_record(now[whole:]):
            os.truncate(path, whole)
    finally:
        lock.release()


def _check_records(path: Path, data: bytes, *, first: int) -> None:
    """Refuse ``data`` (whole lines of ``path``, the first numbered ``first``) unless each is an Optuna record."""
    known = {operation.value for operation in JournalOperation}
    for number, line in enumerate(data.split(b"\n")[:-1], first):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, or not UTF-8
            raise _bad_line(path, number, "not JSON") from None
        operation = record.get("op_code") if isinstance(record, dict) else None
        if isinstance(operation, bool) or operation not in known:
            raise _bad_line(path, number, "no Optuna operation")


def _bad_line(path: Path, number: int, why: str) -> StudyError:
    """The refusal of ``path`` for its line ``number``: a bad first line means it never was a journal."""
    if number == 1:
        return StudyError(f"journal storage {path} is not an Optuna journal (line 1: {why}); {_JOURNAL_ADVICE}")
    return StudyError(f"journal storage {path} is corrupt at line {number} ({why}); {_JOURNAL_ADVICE}")


def _looks_like_a_record(tail: bytes) -> bool:
    """Whether ``tail`` can be the start of a record Optuna wrote (``{"op_code":...``), cut anywhere."""
    compact = re.sub(rb"\s+", b"", tail[:64])  # spaced as json.dumps writes by default, too
    return compact != b"" and (compact.startswith(_RECORD_START) or _RECORD_START.startswith(compact))


_RECORD_START = b'{"op_code":'
_SQLITE_HEADER = b"SQLite format 3\x00"
_JOURNAL_ADVICE = "it was left as it is: move it aside to start afresh, or name another --storage"


def open_study(storage: BaseStorage, name: str, *, base: Config, space: SearchSpace, pruner: str) -> optuna.Study:
    """Create the study, or join it when it exists with the same base config and space."""
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        load_if_exists=True,
        # The constant liar keeps parallel workers from sampling the same point while trials run.
        sampler=optuna.samplers.TPESampler(constant_liar=True),
        pruner=optuna.pruners.MedianPruner() if pruner == "median" else optuna.pruners.NopPruner(),
    )
    wanted = {"space": _plain(space.to_dict()), "base": _plain(base.to_dict())}
    saved = study.user_attrs
    if "base" not in saved:
        # The space first, the base last: a command joining between the two writes (two machines
        # starting at once) sees no base yet, and writes the same values, instead of a base without its space.
        for key, value in wanted.items():
            study.set_user_attr(key, value)
        return study
    for key, word in (("base", "base config"), ("space", "search space")):
        if _plain(saved.get(key)) != wanted[key]:
            fields = _differences(saved.get(key) or {}, wanted[key])
            raise StudyError(
                f"study {name!r} was created with another {word} ({fields}); "
                "run it with the same --preset/--config, --set and --space, or name a new --study"
            )
    return study


def study_base_and_space(study: optuna.Study) -> tuple[dict[str, Any], dict[str, Any]]:
    """The base config and space a study was created with (as saved in its attributes)."""
    return study.user_attrs.get("base", {}), study.user_attrs.get("space", {})


def trial_row(trial: FrozenTrial) -> TrialRow:
    """The row of a trial read from the storage."""
    attrs = trial.user_attrs
    state = STATES.get(trial.state, trial.state.name.lower())
    outcome = attrs.get("outcome") or ("worker died" if trial.state == TrialState.FAIL else state)
    end = _last_seen(attrs) or trial.datetime_complete or (datetime.now() if trial.state == TrialState.RUNNING else None)
    seconds = (end - trial.datetime_start).total_seconds() if end and trial.datetime_start else None
    if seconds is not None and trial.state != TrialState.RUNNING:
        # Its run's pauses (watch's p, the dashboard's) as its worker recorded them: no training
        # time. A running trial's are the dashboard's to take out (cli/sweep_ui.py), as it sees them.
        seconds = max(0.0, seconds - float(attrs.get("paused_seconds") or 0.0))
    return TrialRow(
        number=trial.number,
        state=state,
        params=dict(trial.params),
        accuracies=tuple(value for _, value in sorted(trial.intermediate_values.items())),
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        seconds=seconds,
        run_dir=attrs.get("run_dir"),
        outcome=outcome,
        error=attrs.get("error"),
        session=attrs.get("session"),
    )


def _last_seen(attrs: dict[str, Any]) -> datetime | None:
    """When a trial failed as its worker died was last seen training (:func:`fail_dead_trials`)."""
    try:
        return datetime.fromisoformat(attrs["last_seen"]) if "last_seen" in attrs else None
    except (TypeError, ValueError):
        return None


def mark_process(trial: optuna.Trial, session: str) -> None:
    """Record which command (``session``), machine and process run ``trial`` (for :func:`fail_dead_trials`)."""
    trial.set_user_attr("session", session)
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("pid_started", process_started(os.getpid()))


def fail_dead_trials(study: optuna.Study) -> list[tuple[FrozenTrial, str]]:
    """Fail this machine's running trials whose process is gone; returns each as it was, with its
    outcome: "worker died", or "storage lost" where its run's summary says the storage was lost."""
    host = socket.gethostname()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("host") != host or "pid" not in attrs:
            continue  # another machine's (its heartbeat or its own sweep decides), or just asked
        if process_alive(attrs["pid"], attrs.get("pid_started")):
            continue
        outcome = _note_death(study, trial)
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # another process failed or finished it first
        failed.append((trial, outcome))
    return failed


def _note_death(study: optuna.Study, trial: FrozenTrial) -> str:
    """Before a dead worker's trial is failed: when its run last wrote to its log (its time ends
    there, not when this command found it dead, maybe a day later), and a storage lost mid-run,
    which its summary says (the worker could not tell the study), kept as its outcome."""
    run_dir = trial.user_attrs.get("run_dir")
    if not run_dir:
        return "worker died"
    notes: dict[str, Any] = {}
    try:
        notes["last_seen"] = datetime.fromtimestamp(os.stat(Path(run_dir) / "events.jsonl").st_mtime).isoformat()
    except (OSError, ValueError):
        pass
    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
        sweep = summary.get("sweep") if isinstance(summary, dict) else None
        if isinstance(sweep, dict) and sweep.get("trial") == trial.number and sweep.get("outcome") == "storage lost":
            notes["outcome"] = "storage lost"
            if isinstance(summary.get("error"), str):
                notes["error"] = summary["error"]
    except (OSError, ValueError, RecursionError):
        pass
    for key, value in notes.items():
        try:  # FrozenTrial has no public id; the storage sets a running trial's attributes by it
            study._storage.set_trial_user_attr(trial._trial_id, key, value)
        except Exception:  # finished meanwhile by another process: tell() below says so
            break
    return notes.get("outcome", "worker died")


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (Linux); tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22: starttime (the name may hold spaces)


def process_alive(pid: int, started: str | None) -> bool:
    """Whether process ``pid`` runs and, where known, is the one that started at ``started``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return started is None or process_started(pid) in (None, started)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _differences(saved: dict[str, Any], wanted: dict[str, Any]) -> str:
    """Every field in which the study's saved values and this command's differ, each with both
    (QA: only the first was named, and a user mended one field a try)."""
    keys = [key for key in {**saved, **wanted} if saved.get(key) != wanted.get(key)]
    if not keys:
        return "something differs"
    return "; ".join(f"{key}: {_value(saved.get(key))} in the study, {_value(wanted.get(key))} here" for key in keys)


def _value(value: Any) -> str:
    """A saved or wanted value as a refusal quotes it: JSON, cut short where long."""
    text = "unset" if value is None else json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= 60 else f"{text[:57]}..."
