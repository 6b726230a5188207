"""``mnist-tui compare`` and ``runs`` on a 60-column terminal, as QA drove them with six runs of one preset.

compare squeezed six runs' columns beside the labels into four or five cells each: names, labels,
accuracies and start times broken over several lines. Now a table shows as many runs as keep every
value on its one line, and more runs go on in further tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_catalog import epoch_line, make_run
from test_cli_output import on_a_terminal

from mnist_tui.engine.config import Config

HEX = ("2e87", "1f70", "e12d", "e53a", "f80b", "1dc8")


def preset_runs(root: Path, count: int = 6) -> list[Path]:
    """``count`` finished two-epoch runs of relu-adam-500, seconds apart, each with its own learning rate."""
    return [
        make_run(
            root, f"relu-adam-500-20261203-1428{40 + t}-{HEX[t]}", config=Config(name="relu-adam-500", lr=0.001 * (t + 1)),
            events=epoch_line(1, 70.0 + t) + epoch_line(2, 76.0 + t), preset="relu-adam-500", name="relu-adam-500",
            epochs=2, epochs_completed=2, final_test_accuracy=76.0 + t, best_test_accuracy=76.0 + t, best_epoch=2,
            train_seconds=0.1 + t, eval_seconds=0.2, evaluated_on="test set", device="cpu",
            started=f"2026-12-03T14:28:{40 + t}+00:00",
        )
        for t in range(count)
    ]


def drawn_tables(out: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each Rich table as drawn: its title, its header's cells (one line: a wrapped name fails) and its rows."""
    tables = []
    for block in out.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not any(line.startswith("┏") for line in lines):
            continue
        heads = [line for line in lines if line.startswith("┃")]
        assert len(heads) == 1, f"a header went on over lines:\n{block}"
        header = [cell.strip() for cell in heads[0].strip("┃").split("┃")]
        rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]
        tables.append((lines[0].strip(), header, rows))
    return tables


def full_name(shown: str, folders: list[Path]) -> str:
    """The folder a shown name stands for: its start and its end, with the random suffix whole."""
    if "…" not in shown:
        return shown
    start, end = shown.split("…")
    (folder,) = [f.name for f in folders if f.name.startswith(start) and f.name.endswith(end)]
    assert len(start) >= 3 and end.endswith(folder[-5:]), shown
    return folder


def compare_on_a_terminal(folders: list[Path], width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    from mnist_tui import compare

    on_a_terminal(monkeypatch, width)
    monkeypatch.setattr(compare, "on_terminal", lambda: True)
    assert compare.main([str(folder) for folder in folders]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("width", "per_table"), [(60, 2), (80, 3), (120, 3)])
def test_compare_shows_every_value_whole_in_as_many_tables_as_the_runs_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], width: int, per_table: int
) -> None:
    """Six runs at 60 columns: ``fina/l/accu/racy``, ``76.1/0`` and ``2026/-12-/03`` in four-cell columns."""
    from mnist_tui import compare

    folders = preset_runs(tmp_path)
    assert compare.main([str(folder) for folder in folders] + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    out = compare_on_a_terminal(folders, width, monkeypatch, capsys)
    assert all(len(line) <= width for line in out.splitlines()), out
    tables = drawn_tables(out)
    count = 6 // per_table
    assert [title for title, _, _ in tables] == [
        f"{section}: runs {first}-{first + per_table - 1} of 6"
        for section in ("Configuration differences", "Results (accuracy in %)")
        for first in range(1, 7, per_table)
    ], out
    results = tables[count:]
    labels = [*data["metrics"], *data["accuracy_by_epoch"]]
    seen = []
    for _, header, rows in results:
        assert [row[0] for row in rows] == labels, "each label on one line: no value went on over lines"
        for column, shown in enumerate(header[1:], 1):
            run = data["runs"].index(full_name(shown, folders))
            seen.append(run)
            for row, label in zip(rows, labels):
                value = data["metrics"][label][run] if label in data["metrics"] else data["accuracy_by_epoch"][label][run]
                expected = compare.show(label, value) if label in data["metrics"] else compare.format_percent(value)
                if label == "started":
                    expected = compare.started_of({"started": value})
                assert row[column] == expected, (label, shown, out)
    assert seen == list(range(6)), "every run once, in the order named"
    for _, header, rows in tables[:count]:
        assert [row[0] for row in rows] == ["lr"] and all("…" not in cell for cell in rows[0][1:])


def test_compare_with_runs_that_fit_is_one_table_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = compare_on_a_terminal(preset_runs(tmp_path, 2), 80, monkeypatch, capsys)
    assert [title for title, _, _ in drawn_tables(out)] == ["Configuration differences", "Results (accuracy in %)"]


def test_a_lone_last_run_is_titled_as_one_and_the_title_is_not_wrapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = compare_on_a_terminal(preset_runs(tmp_path, 5), 60, monkeypatch, capsys)
    titles = [title for title, _, _ in drawn_tables(out)]
    assert titles[:3] == [f"Configuration differences: {which} of 5" for which in ("runs 1-2", "runs 3-4", "run 5")], out


def test_piped_compare_is_one_table_whatever_the_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain lines for a program or a file: every run in one table, names whole, as before."""
    from mnist_tui import compare

    folders = preset_runs(tmp_path)
    monkeypatch.setenv("COLUMNS", "60")
    assert compare.main([str(folder) for folder in folders]) == 0
    lines = capsys.readouterr().out.splitlines()
    (header,) = [line for line in lines if line.startswith("metric")]
    assert header.split() == ["metric", *(folder.name for folder in folders)]


def test_runs_per_table_shares_the_runs_evenly_and_keeps_one_at_least() -> None:
    from mnist_tui.compare import runs_per_table

    results = [("started", *["2026-12-03 14:28"] * 6)]  # 16 cells a column, 15 for the labels
    assert runs_per_table(results + [("evaluation time", *"abcdef")], results, 60) == 2
    assert runs_per_table(results + [("evaluation time", *"abcdef")], results, 100) == 3, "two tables of three, not 4 and 2"
    assert runs_per_table(results + [("evaluation time", *"abcdef")], results, 30) == 1


def test_runs_at_60_columns_tells_runs_of_one_preset_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA's report: names cut to ``relu-adam-500-20261203-…`` alike; each keeps its start and unique end."""
    from mnist_tui import runs

    folders = preset_runs(tmp_path)
    on_a_terminal(monkeypatch, 60)
    assert runs.main(["--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 60 for line in out.splitlines()), out
    ((_, header, rows),) = drawn_tables("\n" + out)
    assert header[0] == "run" and {"state", "final %"} <= set(header)
    names = [full_name(row[0], folders) for row in rows]
    assert sorted(names) == sorted(folder.name for folder in folders), out
