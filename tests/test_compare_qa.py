"""``mnist-tui compare`` as QA drove it: a killed run's state, a narrow terminal, a shell glob over a
sweep's runs folder, folders that never were runs, and a run named twice."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_catalog import epoch_line, make_run
from test_cli_output import on_a_terminal, rich_rows

from mnist_tui.compare import main
from mnist_tui.engine.config import Config

STAMP = "-20261202-171931-ab1"


def sweep_runs(root: Path, trials: int = 3) -> list[Path]:
    """A sweep's runs folder: ``trials`` finished trials of one second, and its ``sweeps.journal``."""
    folders = [
        make_run(
            root, f"smoke-s2-t00{t}{STAMP}{t}", config=Config(name=f"smoke-s2-t00{t}", lr=0.001 * (t + 1)),
            events=epoch_line(1, 80.0 + t), epochs=1, epochs_completed=1, final_test_accuracy=80.0 + t,
            best_test_accuracy=80.0 + t, started="2026-12-02T17:19:31+00:00",
        )
        for t in range(trials)
    ]
    (root / "sweeps.journal").write_text('{"op_code": 0}\n')
    return folders


@pytest.mark.skipif(sys.platform == "win32", reason="runs are not locked on Windows (no flock)")
def test_a_killed_run_compares_as_interrupted_as_runs_lists_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """compare printed the summary's "running" (in --json too) for a run ``runs`` listed as interrupted."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    sound, killed = sweep_runs(tmp_path, 2)
    summary = json.loads((killed / "summary.json").read_text())
    (killed / "summary.json").write_text(json.dumps({**summary, "status": "running", "epochs": 5}))
    (killed / ".lock").write_text(f"{gone.pid} {socket.gethostname()}\n")
    assert main([str(sound), str(killed), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["status"] == ["finished", "interrupted"]
    assert main([str(sound), str(killed)]) == 0
    (status,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("status")]
    assert status.split() == ["status", "finished", "interrupted"]


def test_at_80_columns_each_run_keeps_a_name_of_its_own_and_its_start_as_runs_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three sweep trials all read ``smoke-s2-t00…`` in the headers and the name row; started ``2026-12-02T1…``."""
    from mnist_tui import compare
    from mnist_tui.engine.catalog import list_runs
    from mnist_tui.engine.run_rows import row_cells

    folders = sweep_runs(tmp_path)
    on_a_terminal(monkeypatch, 80)
    monkeypatch.setattr(compare, "on_terminal", lambda: True)
    assert main([str(folder) for folder in folders]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    lines = out.splitlines()
    title = next(n for n, line in enumerate(lines) if line.startswith("Results"))
    header, rows = rich_rows("\n".join(lines[title + 1:]))
    names = header[1:]
    assert len(set(names)) == 3 and all(len(name) < len(folders[0].name) for name in names), names
    for shown, folder in zip(names, folders):
        start, end = shown.split("…")
        assert folder.name.startswith(start) and folder.name.endswith(end) and end.endswith(folder.name[-5:])
    (started,) = [row[1:] for row in rows if row[0] == "started"]
    assert started == [row_cells(list_runs(tmp_path)[0])["date"]] * 3
    _, config_rows = rich_rows("\n".join(lines[1:title]))
    (name_row,) = [row[1:] for row in config_rows if row[0] == "name"]
    assert name_row == ["smoke-s2-t000", "smoke-s2-t001", "smoke-s2-t002"], "config values are never cut"


def test_names_that_shorten_alike_keep_more_until_they_differ() -> None:
    from mnist_tui.compare import fit_names

    names = ["experiment-one-" + "x" * 30, "experiment-two-" + "x" * 30]
    shown = fit_names(names, [("metric", "1", "2")], 40)
    assert len(set(shown)) == 2 and all("…" in name for name in shown), shown


def test_a_glob_of_a_sweeps_runs_folder_compares_its_runs_and_notes_the_journal_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``compare kwruns/*`` stopped on ``no run folder 'kwruns/sweeps.journal' (nor in runs)``."""
    sweep_runs(tmp_path)
    assert main(sorted(str(path) for path in tmp_path.iterdir()) + ["--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["runs"]) == 3
    assert captured.err == f"mnist-tui compare: note: left out {tmp_path / 'sweeps.journal'}: it is a file, not a run folder\n"


def test_a_file_named_beside_one_run_is_no_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It said ``no run folder 'img/d0_7.png' (nor in runs)`` of a file that is there."""
    run, *_ = sweep_runs(tmp_path)
    image = tmp_path / "d0_7.png"
    image.write_bytes(b"\x89PNG")
    assert main([str(run), str(image)]) == 2
    assert capsys.readouterr().err == f"mnist-tui compare: error: run folder {image} is a file, not a run folder\n"


def test_a_folder_that_never_was_a_run_is_not_called_damaged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``compare runs RUN`` said ``runs is damaged: config file runs/config.toml does not exist``."""
    run, *_ = sweep_runs(tmp_path / "runs")
    assert main([str(tmp_path / "runs"), str(run)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"mnist-tui compare: error: {tmp_path / 'runs'} is not a run folder (it has no config.toml and no events.jsonl)")
    assert "damaged" not in error and error.count("\n") == 1
    (run / "config.toml").unlink()  # a run that lost its config is still a run, damaged
    assert main([str(run), str(tmp_path / "runs")]) == 2
    assert f"{run} is damaged: config file" in capsys.readouterr().err


def test_a_run_named_twice_is_compared_once_and_alone_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``compare RUN RUN`` showed the run in two identical columns, with no note."""
    first, second, _ = sweep_runs(tmp_path / "runs")
    assert main([str(first), str(first)]) == 2
    assert capsys.readouterr().err == f"mnist-tui compare: error: {first} is named twice; name at least two different runs\n"
    assert main([str(first), first.name, str(second), "--runs-dir", str(tmp_path / "runs"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["runs"] == [first.name, second.name]
    assert captured.err == f"mnist-tui compare: note: {first} is named twice; it is compared once\n"


def test_a_value_wider_than_its_column_goes_on_over_lines_uncut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rich cut a word wider than its column to ``smoke-s2-t00…``: runs told apart by it read the same."""
    from mnist_tui import compare

    names = [f"a-trial-with-a-rather-long-name-{t}" for t in range(3)]
    folders = [make_run(tmp_path, f"r{t}{STAMP}{t}", config=Config(name=name), epochs_completed=0) for t, name in enumerate(names)]
    on_a_terminal(monkeypatch, 80)
    monkeypatch.setattr(compare, "on_terminal", lambda: True)
    assert main([str(folder) for folder in folders]) == 0
    lines = capsys.readouterr().out.splitlines()
    title = next(n for n, line in enumerate(lines) if line.startswith("Results"))
    _, rows = rich_rows("\n".join(lines[1:title]))
    assert all(len(line) <= 80 for line in lines) and len(rows) > 1, lines
    for column, name in enumerate(names, 1):
        assert "".join(row[column] for row in rows) == name, rows
