"""``mnist-tui sweep`` refuses bad input in one line, exit 2, and loses nothing: exports over its own
files, storages that are no regular file, passwords in what it prints, and a best from the future."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

pytest.importorskip("optuna")

from mnist_tui.engine.presets import config_to_toml, load_config_file, load_preset  # noqa: E402
from mnist_tui.engine.study import StudyError, describe_storage, open_storage  # noqa: E402
from mnist_tui.engine.trial_rows import TrialRow  # noqa: E402

SPACE = "lr = { low = 1e-4, high = 1e-1, log = true }\n"
SWEEP = ("sweep", "--no-ui", "--space", "S.toml", "--trials", "0", "--runs-dir", "runs")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    """A space, a config, a study's journal and a run's checkpoint, as a sweep's folder holds them."""
    (tmp_path / "runs" / "run-1").mkdir(parents=True)
    contents = {
        "S.toml": SPACE.encode(),
        "base.toml": config_to_toml(load_preset("smoke")).encode(),
        "runs/sweeps.journal": b'{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [2]}\n',
        "runs/run-1/last.pt": b"PK\x03\x04\x80\x02 a torch checkpoint",
        "other.journal": b'{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [2]}\n',
    }
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    return contents


@pytest.mark.parametrize(
    "args, message",
    [
        (("--preset", "smoke", "--export-best", "runs/sweeps.journal"),
         "--export-best runs/sweeps.journal is the study's storage runs/sweeps.journal: the export would overwrite it"),
        (("--preset", "smoke", "--storage", "other.journal", "--export-best", "./other.journal"),
         "--export-best other.journal is the study's storage other.journal: the export would overwrite it"),
        (("--preset", "smoke", "--export-best", "S.toml"),
         "--export-best S.toml is the --space file S.toml: the export would overwrite it"),
        (("--config", "base.toml", "--export-best", "base.toml"),
         "--export-best base.toml is the --config file base.toml: the export would overwrite it"),
        (("--preset", "smoke", "--export-best", "runs/run-1/last.pt"),
         "--export-best runs/run-1/last.pt exists and is not an mnist-tui config file: the export would overwrite it"),
    ],
    ids=["default journal", "named journal", "space", "config", "checkpoint"],
)
def test_an_export_over_the_sweeps_own_files_is_refused_before_anything(
    args: tuple[str, ...], message: str, files: dict[str, bytes], cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = cli(*SWEEP, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"mnist-tui sweep: error: {message}") and result.stderr.count("\n") == 1
    assert not result.stdout  # refused before the study was opened
    for name, data in files.items():
        assert (tmp_path / name).read_bytes() == data, name


def test_an_export_through_a_link_to_the_journal_is_refused(files: dict[str, bytes], tmp_path: Path) -> None:
    from mnist_tui.engine.config import ConfigError
    from mnist_tui.sweep import build_parser, resolve

    os.link(tmp_path / "runs" / "sweeps.journal", tmp_path / "hard.journal")
    args = ["--preset", "smoke", "--space", str(tmp_path / "S.toml"), "--runs-dir", str(tmp_path / "runs")]
    with pytest.raises(ConfigError, match="is the study's storage"):
        resolve(build_parser().parse_args([*args, "--export-best", str(tmp_path / "hard.journal")]))


def test_an_export_to_a_broken_link_names_the_link(files: dict[str, bytes], tmp_path: Path) -> None:
    """QA: it said "its folder does not exist" of a folder that does."""
    from mnist_tui.engine.config import ConfigError
    from mnist_tui.sweep import build_parser, resolve

    (tmp_path / "gone.toml").symlink_to(tmp_path / "nowhere" / "best.toml")
    args = ["--preset", "smoke", "--space", str(tmp_path / "S.toml"), "--runs-dir", str(tmp_path / "runs")]
    with pytest.raises(ConfigError, match=f"gone.toml is a broken link \\(to {tmp_path / 'nowhere' / 'best.toml'}\\)"):
        resolve(build_parser().parse_args([*args, "--export-best", str(tmp_path / "gone.toml")]))


def test_an_empty_export_path_is_called_empty(files: dict[str, bytes], tmp_path: Path) -> None:
    """QA: ``--export-best ""`` said ". is a folder"."""
    from mnist_tui.engine.config import ConfigError
    from mnist_tui.sweep import build_parser, resolve

    args = ["--preset", "smoke", "--space", str(tmp_path / "S.toml"), "--runs-dir", str(tmp_path / "runs")]
    with pytest.raises(ConfigError, match="^--export-best is empty; name the file to write, such as best.toml$"):
        resolve(build_parser().parse_args([*args, "--export-best", ""]))


def test_an_earlier_export_or_a_new_file_may_be_written(files: dict[str, bytes], tmp_path: Path) -> None:
    import optuna

    from mnist_tui.sweep import build_parser, resolve
    from mnist_tui.sweep_run import export_best

    earlier = tmp_path / "best.toml"
    earlier.write_text("# Best trial 3 of study smoke-S: 91.00 % evaluation accuracy.\n" + config_to_toml(load_preset("smoke")))
    for path in (earlier, tmp_path / "new.toml"):
        options = resolve(build_parser().parse_args(["--preset", "smoke", "--space", str(tmp_path / "S.toml"),
                                                     "--runs-dir", str(tmp_path / "runs"), "--export-best", str(path)]))
        study = optuna.create_study(direction="maximize")
        trial = study.ask()
        options.space.suggest(trial)
        study.tell(trial, 95.0)
        assert export_best(options, study) == 0
        assert load_config_file(path).lr == trial.params["lr"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("hidden = { choices = [" + "[" * 5000 + "]" * 5000 + "] }", "S.toml: values are nested too deeply (at most 4 levels)"),
        ("epochs = { low = 1, high = " + "9" * 5000 + " }", "S.toml: a number has too many digits"),
    ],
    ids=["deep", "digits"],
)
def test_a_space_file_past_a_config_files_bounds_exits_2_in_one_line(
    text: str, message: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "S.toml").write_text(text + "\n")
    result = cli(*SWEEP, "--preset", "smoke")
    assert (result.returncode, result.stderr) == (2, f"mnist-tui sweep: error: {message}\n")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_storage_that_is_no_regular_file_is_refused(
    kind: str, cli: Callable[..., Any], tmp_path: Path, data_dir: Path
) -> None:
    """/dev/null failed in Optuna's fsync with a traceback; a FIFO hung forever."""
    (tmp_path / "S.toml").write_text(SPACE)
    if kind == "fifo":
        os.mkfifo(tmp_path / "f.journal")
        storage = "f.journal"
    else:
        storage = "/dev/null"
    result = cli(*SWEEP, "--preset", "smoke", "--data-dir", str(data_dir), "--storage", storage, timeout=60)
    assert (result.returncode, result.stderr) == (2, f"mnist-tui sweep: error: --storage {storage} is not a regular file\n")
    assert not (tmp_path / "runs").exists()


def test_a_default_journal_that_is_a_fifo_is_refused_not_opened(tmp_path: Path) -> None:
    import signal

    def hung(*_: object) -> None:
        raise TimeoutError("open_storage waited on the FIFO")

    os.mkfifo(tmp_path / "sweeps.journal")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)  # opening a FIFO waits for a writer: fail the test, not hang it
    try:
        with pytest.raises(StudyError, match=r"journal storage .*sweeps\.journal is not a regular file"):
            open_storage(None, tmp_path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://postgres:secret@host/db", "postgresql://postgres:***@host/db"),
        ("postgresql://postgres@host:5432/db?password=hunter2", "postgresql://postgres@host:5432/db?password=***"),
        ("postgresql://u@h/db?sslmode=require&Password=x&application_name=a",
         "postgresql://u@h/db?sslmode=require&Password=***&application_name=a"),
        ("postgresql://u:one@h/db?password=two", "postgresql://u:***@h/db?password=***"),
    ],
)
def test_a_password_is_hidden_in_either_url_form(url: str, shown: str) -> None:
    assert describe_storage(url, "runs") == shown


def test_the_error_line_hides_a_password_given_as_a_query_parameter(
    cli: Callable[..., Any], tmp_path: Path, data_dir: Path
) -> None:
    """The line of a storage that does not open (the header uses the same description)."""
    (tmp_path / "S.toml").write_text(SPACE)
    result = cli(*SWEEP, "--preset", "smoke", "--data-dir", str(data_dir), "--storage", "nosuchdb://u@h/db?password=hunter2")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr and "password=***" in result.stderr


def test_each_trials_line_shows_the_best_of_the_trials_printed_by_then(capsys: pytest.CaptureFixture[str]) -> None:
    """Trial 1 (better) finished in the same poll as trial 0: trial 0's line named trial 1 before its own line."""
    from mnist_tui.sweep_run import Leaderboard

    earlier = TrialRow(number=0, state="complete", value=70.0, outcome="complete", session="old")
    rows = [earlier, TrialRow(number=1, state="running", session="me"), TrialRow(number=2, state="running", session="me")]
    sweep = SimpleNamespace(rows=lambda: rows, plan=SimpleNamespace(session="me"))
    board = Leaderboard(sweep)  # type: ignore[arg-type]
    rows[1:] = [
        TrialRow(number=1, state="complete", value=78.0, outcome="complete", session="me"),
        TrialRow(number=2, state="complete", value=80.3, outcome="complete", session="me"),
    ]
    board.update()
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("trial   1 complete") and first.endswith("*best*")
    assert second.startswith("trial   2 complete") and second.endswith("*best*")
    rows.append(TrialRow(number=3, state="complete", value=75.0, outcome="complete", session="me"))
    board.update()
    assert capsys.readouterr().out.rstrip().endswith("best: trial 2 80.30 %")


@pytest.mark.parametrize("meanwhile", ["a file that is no config", "its folder removed", "a folder"])
def test_an_export_path_that_changed_during_the_sweep_is_refused_and_the_best_stays_exportable(
    meanwhile: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], command_env: dict[str, str]
) -> None:
    """It was checked only at the start: hours later, a file that is no config was overwritten."""
    import subprocess
    import sys

    from mnist_tui.engine.study import open_storage, open_study
    from mnist_tui.sweep import build_parser, resolve
    from mnist_tui.sweep_run import export_best

    (tmp_path / "S.toml").write_text(SPACE)
    (tmp_path / "out").mkdir()
    best = tmp_path / "out" / "best.toml"
    args = ["--preset", "smoke", "--space", str(tmp_path / "S.toml"), "--runs-dir", str(tmp_path / "runs")]
    options = resolve(build_parser().parse_args([*args, "--export-best", str(best)]))  # fine at the start
    study = open_study(open_storage(None, tmp_path / "runs"), options.study, base=options.base, space=options.space, pruner="none")
    trial = study.ask()
    options.space.suggest(trial)
    study.tell(trial, 91.0)
    if meanwhile == "a file that is no config":
        best.write_bytes(b"PK\x03\x04 someone's checkpoint")
    elif meanwhile == "its folder removed":
        (tmp_path / "out").rmdir()
    else:
        best.mkdir()

    assert export_best(options, study) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"mnist-tui sweep: error: --export-best {best}") and err.count("\n") == 1 and not out
    assert err.rstrip().endswith(
        "best trial 0 (91.00 %) stays in the study: export it with the same command, --trials 0 and an --export-best "
        "file that can be written"
    )
    if meanwhile == "a file that is no config":
        assert best.read_bytes() == b"PK\x03\x04 someone's checkpoint"
        # As the line says: the same command with --trials 0 exports the best from the study.
        again = tmp_path / "again.toml"
        result = subprocess.run(
            [sys.executable, "-m", "mnist_tui", "sweep", "--no-ui", *args, "--data-dir", str(data_dir), "--trials", "0",
             "--export-best", str(again)],
            capture_output=True, text=True, timeout=120, env=command_env, cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert load_config_file(again).lr == trial.params["lr"]
    elif meanwhile == "its folder removed":
        assert not (tmp_path / "out").exists()
    else:
        assert best.is_dir() and not list(best.iterdir())


def _unwritable(path: Path) -> Callable[[], None]:
    """Make ``path`` refuse writes, as a read-only journal or folder does; returns the undo. Root
    writes through permission bits, so as root the file is made immutable (skipped where it cannot be)."""
    import subprocess

    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        return lambda: path.chmod(mode)
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make {path} read-only as root here: {done.stderr.decode().strip() or 'no chattr'}")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("what", ["journal", "folder"])
def test_a_journal_that_cannot_be_written_is_refused_in_one_line(
    what: str, files: dict[str, bytes], cli: Callable[..., Any], tmp_path: Path, data_dir: Path
) -> None:
    """QA: an existing journal in a read-only file or folder ended in a PermissionError's traceback, exit 1."""
    journal = tmp_path / "runs" / "sweeps.journal"
    undo = _unwritable(journal if what == "journal" else journal.parent)
    try:
        result = cli(*SWEEP, "--preset", "smoke", "--data-dir", str(data_dir))
    finally:
        undo()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    expected = (
        "runs/sweeps.journal cannot be written (" if what == "journal"
        else f"runs/sweeps.journal: its folder {Path('runs')} cannot be written ("
    )
    assert result.stderr.startswith("mnist-tui sweep: error: ") and expected in result.stderr, result.stderr
    assert journal.read_bytes() == files["runs/sweeps.journal"]
