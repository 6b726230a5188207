"""``mnist-tui runs`` and ``mnist-tui compare`` over real, stopped and damaged run folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest
from conftest import cli_env

from mnist_tui.engine.events import RunStopped
from mnist_tui.engine.presets import load_config_file

Cli = Callable[..., subprocess.CompletedProcess]
TINY = ("--preset", "smoke", "--set", "train_limit=256", "--set", "eval_limit=200", "--device", "cpu")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Two real headless runs (seeds 1 and 2), one stopped run, and three damaged folders."""
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.train import run_training

    root = tmp_path_factory.mktemp("runs")
    from mnist_tui.command import main

    for seed in ("1", "2"):  # headless, as the command trains them (in this process: no second torch import)
        assert main(["--no-ui", *TINY, "--seed", seed, "--runs-dir", str(root), "--data-dir", str(data_dir)]) == 0
    flag = threading.Event()
    config = load_preset("smoke").replace(train_limit=256, eval_limit=200, device="cpu", epochs=3, name="halted")
    events = run_training(config, data_dir=data_dir, runs_dir=root, stop=flag, preset="smoke")
    for event in events:
        if event.kind == "epoch":
            flag.set()
        last = event
    assert isinstance(last, RunStopped)
    template = next(root.glob("smoke-*"))
    for name, damage in {
        "no-log": lambda f: (f / "events.jsonl").unlink(),
        "corrupt-summary": lambda f: (f / "summary.json").write_text('{"status": "runn'),
    }.items():
        shutil.copytree(template, root / name)
        damage(root / name)
    (root / "empty").mkdir()
    return root


def summaries(root: Path) -> dict[str, dict]:
    return {
        folder.name: json.loads((folder / "summary.json").read_text())
        for folder in root.iterdir()
        if folder.name not in ("corrupt-summary", "empty")
    }


def test_runs_json_matches_every_summary_and_names_the_damage(cli: Cli, runs_dir: Path) -> None:
    result = cli("runs", "--runs-dir", str(runs_dir), "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["run"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {folder.name for folder in runs_dir.iterdir()}
    for run, summary in summaries(runs_dir).items():
        shown = {key: rows[run][key] for key in rows[run] if key in summary}
        assert shown == {key: summary[key] for key in shown}, run
        assert len(shown) == 11, "every summary field the listing has"
    states = {run: (row["state"], row["damage"]) for run, row in rows.items()}
    halted = next(run for run in rows if run.startswith("halted-"))
    assert states[halted] == ("stopped", None)
    assert rows[halted]["preset"] == "smoke" and (rows[halted]["epochs_completed"], rows[halted]["epochs"]) == (1, 3)
    real = [run for run in rows if run.startswith("smoke-")]
    assert len(real) == 2 and all(states[run] == ("finished", None) for run in real)
    assert all(rows[run]["preset"] == "smoke" and rows[run]["name"] == "smoke" for run in real)
    assert states["no-log"] == ("damaged", "no events.jsonl")
    assert states["corrupt-summary"] == ("damaged", "summary.json is corrupt (not JSON at line 1)")
    assert states["empty"] == ("damaged", "no summary.json; no events.jsonl; no config.toml")
    # Newest first (the empty folder by its own time: it was made last).
    started = [row["started"] for row in rows.values() if row["started"]]
    assert started == sorted(started, reverse=True) and list(rows)[0] == "empty"
    assert list(rows).index(halted) < min(map(list(rows).index, real))


def test_runs_prints_aligned_plain_lines_off_a_terminal(cli: Cli, runs_dir: Path) -> None:
    result = cli("runs", "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["run", "name", "preset", "state", "epochs", "final", "%", "best", "%", "training",
                              "device", "started", "damage"]
    assert len(lines) == 6 and "\x1b" not in result.stdout
    start = header.index("state")
    assert all(line[start - 2: start] == "  " for line in lines), "the columns line up"
    (halted,) = [line for line in lines if line.startswith("halted-")]
    assert halted.split()[1:5] == ["halted", "smoke", "stopped", "1/3"]
    (empty,) = [line for line in lines if line.startswith("empty ")]
    assert empty.split()[1] == "damaged" and empty.endswith("no summary.json; no events.jsonl; no config.toml")


def test_compare_shows_the_differences_and_results_side_by_side(cli: Cli, runs_dir: Path) -> None:
    first, second = sorted(runs_dir.glob("smoke-*"), key=lambda f: load_config_file(f / "config.toml").seed)
    halted = next(runs_dir.glob("halted-*"))
    result = cli("compare", str(first), second.name, halted.name, "--runs-dir", str(runs_dir), "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["runs"] == [first.name, second.name, halted.name]
    assert shown["differences"] == {"name": ["smoke", "smoke", "halted"], "epochs": [1, 1, 3], "seed": [1, 2, 0]}
    runs = summaries(runs_dir)
    assert shown["metrics"]["final accuracy"] == [runs[r]["final_test_accuracy"] for r in shown["runs"]]
    assert shown["metrics"]["status"] == ["finished", "finished", "stopped"]
    assert shown["accuracy_by_epoch"]["epoch 1"] == [runs[r]["final_test_accuracy"] for r in shown["runs"]]
    table = cli("compare", str(first), str(second))
    assert table.returncode == 0, table.stderr
    assert "Configuration differences" in table.stdout
    (seed,) = [line for line in table.stdout.splitlines() if line.startswith("seed")]
    assert seed.split() == ["seed", "1", "2"]
    (final,) = [line for line in table.stdout.splitlines() if line.startswith("final accuracy")]
    assert final.split()[2:] == [f"{runs[r.name]['final_test_accuracy']:.2f}" for r in (first, second)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "--runs-dir", "nowhere"], "mnist-tui runs: error: runs folder nowhere does not exist"),
        (["compare", "one-run"], "mnist-tui compare: error: name at least two runs"),
        (["compare", "a", "b"], "mnist-tui compare: error: run folder a does not exist (nor in runs, which does not exist)"),
        (["compare", "--runs-dir", "", "a", "b"], "mnist-tui compare: error: --runs-dir is empty; name a folder"),
        (["predict", "--runs-dir", "", "a", "x.png"], "mnist-tui predict: error: --runs-dir is empty; name a folder"),
        (["watch", "--runs-dir", " ", "a"], "mnist-tui watch: error: --runs-dir is empty; name a folder"),
        (["predict", "/dev/null", "x.png"], "run folder /dev/null is no folder (a device, a pipe or a socket), not a run folder"),
        (["compare", "", "a"], "mnist-tui compare: error: run folder '' does not exist (nor in "),
        (["compare", "no-log", "empty"], "is damaged: no events.jsonl"),
        (["compare", "empty", "no-log"], "empty is not a run folder (it has no config.toml and no events.jsonl)"),
        (["runs", "--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(cli: Cli, runs_dir: Path, args: list[str], message: str) -> None:
    named = args[0] == "compare" and args[1] != "a" and "--runs-dir" not in args
    result = cli(*args, "--runs-dir", str(runs_dir)) if named else cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("spaced", [False, True], ids=["compact", "spaced"])
@pytest.mark.parametrize(
    ("accuracy", "problem"),
    [
        ('"high"', '"high", not a number'),
        ("null", "null, not a number"),
        ('"96.5"', '"96.5", not a number'),  # float() took it: shown as an accuracy
        ("true", "true, not a number"),  # shown as 1.00 %
        ("NaN", "NaN, not a number"),
        ("250", "250, not a percentage from 0 to 100"),
    ],
)
def test_compare_names_an_epoch_accuracy_that_is_not_a_number(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], accuracy: str, problem: str, spaced: bool
) -> None:
    """A spaced epoch line (another JSON writer's) with a text or null accuracy was "no line for
    epoch 1" (the log cut short); a compact one "a corrupt epoch line", naming no field."""
    from mnist_tui.compare import main

    damaged = tmp_path / "damaged"
    shutil.copytree(next(runs_dir.glob("smoke-*")), damaged)
    log = damaged / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if line.startswith('{"event":"epoch"'))
    event = json.loads(lines[number - 1])
    event["eval_accuracy"] = "ACCURACY"
    text = json.dumps(event) if spaced else json.dumps(event, separators=(",", ":"))
    lines[number - 1] = text.replace('"ACCURACY"', accuracy) + "\n"
    log.write_text("".join(lines))

    assert main([str(damaged), str(next(runs_dir.glob("smoke-*")))]) == 2
    error = capsys.readouterr().err
    assert error == f"mnist-tui compare: error: {damaged} is damaged: events.jsonl line {number} is an epoch line whose eval_accuracy is {problem}\n"


def test_the_training_flags_still_work_beside_the_commands(cli: Cli) -> None:
    result = cli("--help")
    assert result.returncode == 0
    epilog = " ".join(result.stdout.split())
    assert all(f"mnist-tui {name}" in epilog for name in ("runs", "compare RUN RUN...", "watch RUN"))
    assert cli("--list-presets").stdout.split()[0] == "batchnorm-dropout-he"


def test_watch_refuses_what_is_no_run_folder(cli: Cli, runs_dir: Path) -> None:
    missing = cli("watch", str(runs_dir / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.startswith("mnist-tui watch: error: run folder ")
    assert missing.stderr.rstrip().endswith("nowhere does not exist")  # an absolute path: not looked for in runs
    (runs_dir / "a-file").write_text("")
    file = cli("watch", str(runs_dir / "a-file"))
    assert file.returncode == 2 and file.stderr.rstrip().endswith("a-file is a file, not a run folder")
    empty = cli("watch", str(runs_dir / "empty"))
    assert empty.returncode == 2 and "is not a usable run folder: config file" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


def test_watch_finds_a_run_by_its_name_under_runs_dir(cli: Cli, runs_dir: Path) -> None:
    """``watch RUN --runs-dir DIR`` was refused by argparse, though every other command takes --runs-dir."""
    empty = cli("watch", "empty", "--runs-dir", str(runs_dir))  # not in the command's folder: in DIR
    assert empty.returncode == 2, empty.stderr
    assert empty.stderr.startswith(f"mnist-tui watch: error: {runs_dir / 'empty'} is not a usable run folder: config file")
    nowhere = cli("watch", "nowhere", "--runs-dir", str(runs_dir))
    assert nowhere.returncode == 2
    assert nowhere.stderr == f"mnist-tui watch: error: run folder nowhere does not exist (nor in {runs_dir})\n"


def test_watch_follows_a_run_named_under_the_default_runs_folder(
    runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare name is looked up in ./runs, as compare looks it up; the watcher gets that folder."""
    from mnist_tui import watch

    run = next(runs_dir.glob("halted-*"))
    shutil.copytree(run, tmp_path / "runs" / run.name)
    opened: dict[str, object] = {}

    class App:  # the dashboard, as far as watch's main uses it
        def __init__(self, config: object, **options: object) -> None:
            opened.update(options, config=config)

        def run(self) -> int:
            return 0

    monkeypatch.setattr("mnist_tui.tui.app.MnistApp", App)
    monkeypatch.setattr("mnist_tui.tui.hangup.stdin_is_terminal", lambda: True)  # pytest's stdin is none
    monkeypatch.chdir(tmp_path)
    assert watch.main([run.name]) == 0
    assert opened["watch"] == Path("runs") / run.name and opened["runs_dir"] == Path("runs")
    assert opened["config"] == load_config_file(run / "config.toml")


@pytest.mark.parametrize("args", [["--list-presets"], ["runs"], ["compare", "smoke", "halted"]])
def test_output_into_a_closed_pipe_ends_quietly_with_141(runs_dir: Path, args: list[str]) -> None:
    """``mnist-tui runs | head -1``: the reader went away; a traceback was printed, and exit 1."""
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, as once head has its line
    names = {"smoke": str(next(runs_dir.glob("smoke-*"))), "halted": str(next(runs_dir.glob("halted-*")))}
    command = [names.get(arg, arg) for arg in args]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mnist_tui", *command, *(["--runs-dir", str(runs_dir)] if args[0] == "runs" else [])],
            stdout=write, stderr=subprocess.PIPE, text=True, env=cli_env(None), timeout=120,
        )
    finally:
        os.close(write)
    assert result.returncode == 141 and result.stderr == ""


def test_on_a_narrow_terminal_the_run_names_stay_whole(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 80 columns every column was cut to a letter or two, the run's name to "smok…"."""
    from mnist_tui import runs as runs_command
    from mnist_tui import table

    monkeypatch.setattr(table, "on_terminal", lambda: True)
    monkeypatch.setattr(runs_command, "on_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "40")
    assert runs_command.main(["--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    for folder in runs_dir.glob("smoke-*"):
        assert folder.name in out
    header = next(line for line in out.splitlines() if " run " in line)
    assert all(word in header for word in ("state", "epochs", "final")) and "preset" not in header


@pytest.mark.parametrize("json_lines", [False, True], ids=["table", "json"])
def test_runs_given_a_run_folder_names_the_folder_that_lists_it(cli: Cli, runs_dir: Path, json_lines: bool) -> None:
    """QA: ``runs --runs-dir runs/smoke-...`` said only "no runs in runs/smoke-..." (and --json nothing), exit 0."""
    run = next(p for p in sorted(runs_dir.iterdir()) if (p / "config.toml").is_file())
    result = cli("runs", "--runs-dir", str(run), *(["--json"] if json_lines else []))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"mnist-tui runs: error: {run} is a run folder, not a folder of runs: mnist-tui runs --runs-dir {runs_dir} lists it\n"
    )
