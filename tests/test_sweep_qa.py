"""QA findings on ``mnist-tui sweep``: a storage that is no journal left byte for byte as it was, a file
as the runs folder refused up front, and the wording of refusals and counts."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest

pytest.importorskip("optuna")

from mnist_tui.engine.study import StudyError, open_storage  # noqa: E402

SPACE = "lr = { low = 1e-4, high = 1e-1, log = true }\n"
RECORD = b'{"op_code":0,"worker_id":"w","study_name":"s","directions":[2]}\n'


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_file(path: Path) -> bytes:
    with sqlite3.connect(path) as db:
        db.execute("create table t (x)")
        db.executemany("insert into t values (?)", [("x" * 500,)] * 50)
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "contents, message",
    [
        (b"important notes without newline", r"is not an Optuna journal \(line 1: not an Optuna record\)"),
        (SPACE.encode() + b'hidden = { choices = [[32], [64]] }', r"is not an Optuna journal \(line 1: not JSON\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x1c", r"is not an Optuna journal \(line 1: not JSON\)"),
        (RECORD + b"my notes after the records", r"is corrupt at line 2 \(not an Optuna record\)"),
        (RECORD + b"whitespace   ", r"is corrupt at line 2 \(not an Optuna record\)"),
        (sqlite_file, r"is an SQLite database, not an Optuna journal; it was left as it is: name it as --storage sqlite:///"),
    ],
    ids=["notes", "space file", "png", "notes after records", "words after records", "sqlite"],
)
def test_a_storage_that_is_no_journal_is_refused_and_left_byte_for_byte(
    tmp_path: Path, contents: bytes | Callable[[Path], bytes], message: str
) -> None:
    """Every line after the last newline was cut before any line was checked: notes without a final
    newline were replaced by Optuna's records, an SQLite file lost 4 KB, a space file its last line."""
    path = tmp_path / "kept"
    if callable(contents):
        contents(path)
    else:
        path.write_bytes(contents)
    before = digest(path)
    with pytest.raises(StudyError, match=message):
        open_storage(str(path), tmp_path)
    assert digest(path) == before


def test_notes_named_as_storage_stop_the_sweep_before_a_trial(
    cli: Callable[..., Any], data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "S.toml").write_text(SPACE)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"important notes without newline")
    before = digest(notes)
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--storage", "notes.txt",
                 "--trials", "1", "--runs-dir", "runs", "--data-dir", str(data_dir))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == (
        "mnist-tui sweep: error: journal storage notes.txt is not an Optuna journal (line 1: not an Optuna record); "
        "it was left as it is: move it aside to start afresh, or name another --storage"
    )
    assert digest(notes) == before and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("torn", [b'{"op_code":0,"worker_id":"w","stu', b"{", b'{ "op_code": 0, "wor'])
def test_a_journal_torn_in_its_first_record_is_cut_back_and_opens(tmp_path: Path, torn: bytes) -> None:
    """A writer killed in the first record leaves no whole line before it: still a journal, cut."""
    path = tmp_path / "sweeps.journal"
    path.write_bytes(torn)
    open_storage(None, tmp_path)
    assert path.read_bytes() == b""


def test_a_torn_last_record_after_whole_ones_is_cut_back_to_them(tmp_path: Path) -> None:
    path = tmp_path / "sweeps.journal"
    path.write_bytes(RECORD + b'{"op_code":4,"worker_id":"x","study_id":0,"dat')
    open_storage(None, tmp_path)
    assert path.read_bytes() == RECORD and json.loads(RECORD)["op_code"] == 0


@pytest.mark.parametrize("runs", ["notes.png", "notes.png/runs"])
def test_a_file_as_runs_folder_is_refused_before_the_study_is_touched(
    cli: Callable[..., Any], data_dir: Path, tmp_path: Path, runs: str
) -> None:
    """Every trial failed on it ("Not a directory"), without end when --trials was not given."""
    (tmp_path / "S.toml").write_text(SPACE)
    (tmp_path / "notes.png").write_bytes(b"\x89PNG\r\n")
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--runs-dir", runs, "--trials", "1",
                 "--storage", "s.journal", "--data-dir", str(data_dir))
    told = "is a file, not a folder" if runs == "notes.png" else "cannot be made: notes.png is a file, not a folder"
    assert (result.returncode, result.stderr) == (2, f"mnist-tui sweep: error: --runs-dir {runs} {told}\n")
    assert not (tmp_path / "s.journal").exists() and (tmp_path / "notes.png").read_bytes() == b"\x89PNG\r\n"


def test_a_folder_as_space_file_is_called_a_folder(tmp_path: Path) -> None:
    from mnist_tui.engine.config import ConfigError
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import load_space

    with pytest.raises(ConfigError, match=f"^search space file {tmp_path} is a folder$"):
        load_space(tmp_path, load_preset("smoke"))


@pytest.mark.parametrize(
    "url, message",
    [
        ("sqlite:////nonexistent-qa/x.db", "--storage sqlite:////nonexistent-qa/x.db: its folder /nonexistent-qa does not exist"),
        ("sqlite:///nope/x.db", "--storage sqlite:///nope/x.db: its folder nope does not exist"),
        ("sqlite:///.", "--storage sqlite:///.: . is a folder; name a file, such as sweeps.db"),
    ],
)
def test_an_sqlite_file_that_cannot_be_made_is_named_before_sqlite_opens_it(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SQLite said only "(sqlite3.OperationalError) unable to open database file"."""
    from mnist_tui.engine.study import check_storage

    monkeypatch.chdir(tmp_path)
    with pytest.raises(StudyError) as caught:
        check_storage(url, workers=1)
    assert str(caught.value) == message
    check_storage("sqlite:///fine.db", workers=1)  # a new file in a folder that exists
    assert not (tmp_path / "fine.db").exists()


def sweep_of(tmp_path: Path, *args: str) -> Any:
    """A headless sweep of ``args`` as ``mnist-tui sweep`` resolves and opens it, its workers not started."""
    from mnist_tui.engine.study import open_study
    from mnist_tui.sweep import build_parser, resolve
    from mnist_tui.sweep_run import Sweep

    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "S.toml").write_text(SPACE)
    options = resolve(build_parser().parse_args(
        ["--no-ui", "--preset", "smoke", "--space", str(tmp_path / "S.toml"), "--runs-dir", str(tmp_path / "runs"), *args]
    ))
    study = open_study(open_storage(None, options.runs_dir), options.study, base=options.base, space=options.space,
                       pruner=options.pruner)
    return Sweep(options, study)


def test_a_stopped_sweep_says_it_exported_nothing_and_how_to_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl+C exited 130 and wrote no --export-best file without a word about it."""
    assert sweep_of(tmp_path, "--export-best", str(tmp_path / "best.toml")).finish(130) == 130
    assert capsys.readouterr().err == (
        f"mnist-tui sweep: nothing was exported to {tmp_path / 'best.toml'} (the sweep was stopped); "
        "export the best trial with the same command and --trials 0\n"
    )
    assert not (tmp_path / "best.toml").exists()
    sweep_of(tmp_path / "plain").finish(130)  # no export asked: nothing said
    assert capsys.readouterr().err == ""


def test_the_study_line_counts_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It read "0 trials (no trials); this command ran 0 (no trials)", and "1 trials"."""
    from mnist_tui.engine.trial_rows import TrialRow
    from mnist_tui.sweep_print import study_summary, trial_table

    sweep_of(tmp_path, "--trials", "0").finish(None)
    assert capsys.readouterr().out.strip() == "study smoke-S: no trials; this command ran none"
    one = TrialRow(0, "failed", {"lr": 0.01}, (), None, 1.0, None, "failed")
    assert study_summary("s", [one], []) == "study s: 1 trial (1 failed); this command ran none"
    assert study_summary("s", [one, one], [one]) == "study s: 2 trials (2 failed); this command ran 1 (1 failed)"
    header = sweep_of(tmp_path / "one", "--trials", "1").header()
    assert header.startswith(f"sweep smoke-S in {tmp_path / 'one' / 'runs' / 'sweeps.journal'}: 1 trial, ")
    assert trial_table([one] * 21, ("lr",)).endswith("\n... and 1 more trial")


@pytest.mark.parametrize("ended", ["worker died", "storage lost"])
def test_a_dead_workers_trial_found_later_keeps_its_time_and_its_outcome_and_counts_as_earlier(
    tmp_path: Path, ended: str
) -> None:
    """QA, on a later command over the study: a trial whose worker died the day before counted the whole
    day as its time; one left running by a lost storage was relabelled "worker died" (its summary too);
    and the header's earlier trials left it out (it was failed after they were counted)."""
    import os
    import socket
    import subprocess
    from datetime import datetime, timedelta

    import optuna
    from optuna.distributions import FloatDistribution

    from mnist_tui.engine.study import trial_row

    study = sweep_of(tmp_path, "--trials", "1").study
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process that ran a trial and is gone
    run_dir = tmp_path / "runs" / "smoke-S-t0000-20261202-100000-abcd"
    run_dir.mkdir(parents=True)
    (run_dir / "events.jsonl").write_text('{"event":"started"}\n')
    summary = {"status": "stopped", "epochs_completed": 1}
    if ended == "storage lost":
        summary["error"] = "the sweep lost its storage x: gone"
        summary["sweep"] = {"study": "smoke-S", "trial": 0, "state": "failed", "outcome": "storage lost", "params": {}}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    started = datetime.now() - timedelta(days=1)
    os.utime(run_dir / "events.jsonl", (started.timestamp() + 42, started.timestamp() + 42))  # its last line
    study.add_trial(optuna.trial.FrozenTrial(
        number=0, trial_id=0, state=optuna.trial.TrialState.RUNNING, value=None, values=None,
        datetime_start=started, datetime_complete=None, params={"lr": 0.01},
        distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True)}, intermediate_values={1: 80.0}, system_attrs={},
        user_attrs={"run_dir": str(run_dir), "session": "old", "host": socket.gethostname(), "pid": gone.pid,
                    "pid_started": None},
    ))

    later = sweep_of(tmp_path, "--trials", "1")  # the next command over the study
    assert later.header().endswith("; 1 earlier trial(s)")
    (row,) = later.rows()
    assert row.state == "failed" and row.outcome == ended
    assert row.seconds == pytest.approx(42, abs=1), row.seconds  # till its log's last line, not till found
    assert json.loads((run_dir / "summary.json").read_text())["sweep"]["outcome"] == ended
