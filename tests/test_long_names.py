"""A name longer than the file system allows, wherever a path is typed: one clear line, exit 2.

``Path.is_dir()`` and its kin raise ``OSError: File name too long`` instead of answering False
(QA 2026-12-03: a 300-character run name made ``predict``, ``watch``, ``compare`` and
``--resume`` print a traceback, and the Draw view's run folder field closed the dashboard).
In-process through ``main()``: an exception fails the test as a traceback would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_tui.command import main
from mnist_tui.engine import paths

LONG = "a" * 300  # over the 255 bytes a name may have on Linux's file systems


def test_paths_answer_for_a_name_too_long(tmp_path: Path) -> None:
    long = tmp_path / LONG
    assert (paths.is_dir(long), paths.is_file(long), paths.exists(long)) == (False, False, False)
    assert paths.absent(long) == "cannot be looked up: File name too long"
    assert paths.unreachable(long) == "cannot be looked up: File name too long"
    assert paths.absent(tmp_path / "missing") == "does not exist"
    assert paths.unreachable(tmp_path / "missing") is None
    (tmp_path / "file").write_text("x")
    assert paths.absent(tmp_path / "file" / "below") == "does not exist"  # a file on the way
    assert paths.absent(tmp_path / "file") == "exists" and paths.unreachable(tmp_path / "file") is None
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert paths.absent(tmp_path / "loop") == "is a loop of links"


def _commands(tmp_path: Path, data_dir: Path) -> dict[str, list[str]]:
    runs, data = str(tmp_path / "runs"), str(data_dir)
    space = tmp_path / "space.toml"
    space.write_text("lr = { low = 1e-4, high = 1e-1, log = true }\n")
    sweep = ["sweep", "--no-ui", "--preset", "smoke", "--space", str(space), "--trials", "1", "--data-dir", data, "--runs-dir", runs]
    return {
        "--data-dir": ["--no-ui", "--preset", "smoke", "--data-dir", LONG, "--runs-dir", runs],
        "--resume": ["--no-ui", "--resume", LONG, "--data-dir", data, "--runs-dir", runs],
        "predict's run": ["predict", LONG, "digit.png", "--runs-dir", runs],
        "watch": ["watch", LONG, "--runs-dir", runs],
        "compare": ["compare", LONG, "other", "--runs-dir", runs],
        "sweep --storage sqlite": sweep + ["--storage", f"sqlite:///{tmp_path / LONG}.db"],
        "sweep --export-best": sweep + ["--export-best", str(tmp_path / f"{LONG}.toml")],
    }


CASES = ("--data-dir", "--resume", "predict's run", "watch", "compare", "sweep --storage sqlite", "sweep --export-best")


@pytest.mark.parametrize("case", CASES)
def test_a_name_too_long_is_one_line_and_exit_2(
    case: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_commands(tmp_path, data_dir)[case])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and ": error: " in err, err
    assert "File name too long" in err, err


def test_predict_names_an_image_whose_name_is_too_long(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], train_run: Path
) -> None:
    code = main(["predict", str(train_run), str(tmp_path / f"{LONG}.png")])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in out + err
    assert f"{LONG}.png: cannot be looked up: File name too long" in err


@pytest.fixture
def train_run(tmp_path: Path, data_dir: Path) -> Path:
    """A finished one-epoch run of 200 digits (its model predicts)."""
    runs = tmp_path / "runs"
    code = main([
        "--no-ui", "--preset", "smoke", "--set", "train_limit=200", "--set", "eval_limit=100", "--epochs", "1",
        "--data-dir", str(data_dir), "--runs-dir", str(runs), "--set", "name=tiny",
    ])
    assert code == 0
    (folder,) = runs.iterdir()
    return folder
