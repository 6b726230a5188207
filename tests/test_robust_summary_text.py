"""Every free-text field of a summary is bounded at read, so no summary prints megabytes.

Only the name was bounded: a 10 MB preset, device or start time printed whole in ``runs``,
``compare`` and the Runs view. Short texts (what the engine writes in a few dozen characters)
longer than :data:`MOST_LABEL` are damage, named with their length; the error message, prose, is
cut with an ellipsis instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_catalog import epoch_line, make_run

from mnist_tui.engine.catalog import MOST_LABEL, MOST_MESSAGE, MOST_PATH, DamagedRun, read_summary
from mnist_tui.engine.raw_files import holds_files
from mnist_tui.engine.runs import earlier_summary

HUGE = 10_000_000
BOUND = 2_000
"""More characters than a listing of a few runs prints, however long their summaries' texts."""


@pytest.mark.parametrize("field", ["preset", "started", "evaluated_on", "device"])
def test_a_huge_short_text_is_damage_named_in_a_few_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    from mnist_tui.compare import main as compare
    from mnist_tui.runs import main as runs

    sound = make_run(tmp_path, "sound", events=epoch_line(1, 80.0), epochs=1, epochs_completed=1)
    huge = make_run(tmp_path, "huge", events=epoch_line(1, 80.0), epochs=1, epochs_completed=1, **{field: "x" * HUGE})
    reason = f"summary.json: {field} is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx… ({HUGE + 2:,} characters), not text of at most {MOST_LABEL} characters"
    assert runs(["--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert len(out) < BOUND and reason in out
    assert runs(["--runs-dir", str(tmp_path), "--json"]) == 0
    rows = {row["run"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["huge"]["damage"] == reason and rows["huge"].get(field) is None
    assert compare([str(sound), str(huge)]) == 2
    assert capsys.readouterr() == ("", f"mnist-tui compare: error: {huge} is damaged: {reason}\n")


def test_short_texts_at_their_limit_are_shown_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mnist_tui.runs import main as runs

    make_run(tmp_path, "r", preset="p" * MOST_LABEL, device="d" * MOST_LABEL)
    assert runs(["--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "p" * MOST_LABEL in out and "d" * MOST_LABEL in out and "damage" not in out


def test_a_huge_error_message_is_cut_with_an_ellipsis_not_damage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mnist_tui.runs import main as runs

    folder = make_run(tmp_path, "r", status="failed", error="e" * HUGE)
    assert read_summary(folder)["error"] == "e" * MOST_MESSAGE + f"… ({HUGE:,} characters)"
    assert runs(["--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert len(out) < BOUND and "failed" in out and "damage" not in out


def test_a_huge_data_folder_is_damage_and_never_looked_up(tmp_path: Path) -> None:
    """A resume looked for the data in it: a path past PATH_MAX raised OSError, a traceback."""
    folder = make_run(tmp_path, "r", data_dir="/" + "d" * HUGE)
    with pytest.raises(DamagedRun) as caught:
        read_summary(folder)
    assert f"characters), not a folder's path (at most {MOST_PATH:,} characters)" in str(caught.value)
    assert len(str(caught.value)) < BOUND
    assert holds_files("/" + "d" * 10_000, "mnist") is False


def test_a_resume_carries_on_no_damaged_text(tmp_path: Path) -> None:
    """A resume kept the preset of the summary it found, 10 MB or not, and wrote it on."""
    folder = make_run(tmp_path, "r", preset="x" * HUGE, started="2026-01-01T00:00:00+00:00")
    kept = earlier_summary(folder)
    assert "preset" not in kept and kept["started"] == "2026-01-01T00:00:00+00:00"
