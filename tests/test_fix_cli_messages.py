"""One-line messages of the subcommands: exit codes in --help, a runs folder named for a run, no runs
yet, a run found nowhere, and a runs folder on a read-only file system."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mnist_tui import compare, predict, runs, watch
from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.engine.runs import RunFolder
from test_kills import small_disk  # noqa: F401  (fixture: mounts a small tmpfs, or skips)


@pytest.mark.parametrize("command", [runs, compare, watch, predict], ids=["runs", "compare", "watch", "predict"])
def test_every_subcommands_help_lists_its_exit_codes(command) -> None:
    """runs, compare and watch listed none, though predict and sweep do."""
    text = " ".join(command.build_parser().format_help().split())
    assert "exit codes: 0 " in text and " 2 " in text
    assert " 1 the output could not be written" in text or " 1 the dashboard failed" in text


def test_watchs_help_names_the_signals_it_exits_on() -> None:
    text = " ".join(watch.build_parser().format_help().split())
    assert "130 / 143 / 129 Ctrl+C / SIGTERM / closed terminal" in text


def test_runs_before_any_run_is_no_runs_yet_and_exit_0(cli) -> None:
    """A new user's first ``mnist-tui runs`` was ``error: runs folder runs does not exist``, exit 2."""
    for args in ((), ("--json",)):
        listed = cli("runs", *args)
        assert (listed.returncode, listed.stdout) == (0, "")
        assert listed.stderr == "no runs yet in runs: the first run makes it (train one with mnist-tui)\n"
    named = cli("runs", "--runs-dir", "runz")  # a folder named on purpose and missing: mistyped, most likely
    assert (named.returncode, named.stderr) == (2, "mnist-tui runs: error: runs folder runz does not exist\n")
    empty = cli("runs", "--runs-dir", "")
    assert (empty.returncode, empty.stderr) == (2, "mnist-tui runs: error: --runs-dir is empty; name a folder\n")


def runs_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A runs folder holding one run (its config is enough to tell a run), and that run."""
    run = tmp_path / "runs" / "smoke-20261202-120000-abcd"
    run.mkdir(parents=True)
    (run / "config.toml").write_text(config_to_toml(load_preset("smoke")))
    return run.parent, run


@pytest.mark.parametrize("command", [predict, watch], ids=["predict", "watch"])
def test_a_runs_folder_named_for_a_run_says_it_holds_runs(
    command, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was ``run folder ../pm has no usable config.toml: config file ../pm/config.toml does not exist``."""
    folder, run = runs_folder(tmp_path)
    args = [str(folder), str(tmp_path / "seven.png")] if command is predict else [str(folder)]
    assert command.main(args) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui {command.__name__.rsplit('.', 1)[1]}: error: {folder} is a runs folder, not a run: name one of its 1 runs, "
        f"such as {run} (the newest), as `mnist-tui runs --runs-dir {folder}` lists them\n"
    )


@pytest.mark.parametrize("command", [compare, predict, watch], ids=["compare", "predict", "watch"])
def test_a_run_found_nowhere_is_said_as_resume_says_it(
    command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """compare said ``no run folder 'a' (nor in runs)``, --resume ``run folder a does not exist (nor
    in runs)``; an absolute path, never looked for under the runs folder, is not said to be."""
    _, run = runs_folder(tmp_path)
    monkeypatch.chdir(tmp_path)  # ./runs holds one run, and no run named a
    name = command.__name__.rsplit(".", 1)[1]
    for missing, said in (("a", "run folder a does not exist (nor in runs)"), (str(tmp_path / "a"), f"run folder {tmp_path / 'a'} does not exist")):
        args = {"compare": [missing, str(run)], "predict": [missing, "seven.png"], "watch": [missing]}[name]
        assert command.main(args) == 2
        assert capsys.readouterr().err == f"mnist-tui {name}: error: {said}\n"


def test_a_read_only_runs_folder_is_one_plain_line(small_disk, cli, data_dir: Path) -> None:  # noqa: F811
    """It was ``cannot create a run folder in romnt: [Errno 30] Read-only file system:
    'romnt/.smoke-20261202-203414-e2b3.new'``: the raw error, naming a hidden folder never shown."""
    disk = small_disk("1m")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    for runs_dir in (disk, disk / "runs"):
        refused = cli("--no-ui", "--preset", "smoke", "--device", "cpu", "--runs-dir", str(runs_dir), "--data-dir", str(data_dir))
        assert refused.returncode == 2
        assert refused.stderr == f"mnist-tui: error: cannot create a run folder in {runs_dir}: Read-only file system\n"
    assert list(disk.iterdir()) == []


def test_a_run_folder_that_cannot_be_made_says_why_alone(small_disk, tmp_path: Path) -> None:  # noqa: F811
    disk = small_disk("1m")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.raises(OSError) as refused:
        RunFolder.create(disk, "smoke-20261202-120000-abcd", load_preset("smoke"), {"status": "running"})
    assert str(refused.value) == "Read-only file system"
