"""The plain table of the listing commands: aligned, and never padded to an unbounded width."""

from __future__ import annotations

import pytest

from mnist_tui.table import PADDED_AT_MOST, print_table


def test_one_huge_cell_does_not_pad_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    """A 5,000,000-character value made every row of ``mnist-tui runs`` 5 MB wide."""
    huge = "p" * 5_000_000
    rows = [["run-a", "smoke", "finished"], ["run-b", huge, "finished"], ["run-c", "", "stopped"]]
    print_table(["run", "preset", "state"], rows)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert huge in lines[2], "a cell is never cut"
    assert max(len(line) for line in (lines[0], lines[1], lines[3])) < 2 * PADDED_AT_MOST
    assert lines[1] == "run-a  smoke" + " " * (PADDED_AT_MOST - len("smoke")) + "  finished"


def test_narrow_columns_are_aligned_to_their_widest_cell(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["run", "epochs"], [["a", "1/2"], ["long-run", "10/10"]], right=frozenset({1}))
    assert capsys.readouterr().out.splitlines() == ["run       epochs", "a            1/2", "long-run   10/10"]
