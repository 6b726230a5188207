"""The training command line's words: a mistyped or misplaced command, the main help, and two
one-line messages (QA: ``mnist-tui predcit`` printed the usage, which lists no commands, and
``unrecognized arguments``)."""

from __future__ import annotations

import pytest

from mnist_tui.command import build_parser, main
from mnist_tui.engine.config import Config
from mnist_tui.headless import describe_start
from tui_script import started

COMMANDS = "the commands are predict, sweep, runs, compare and watch, and training takes options only (see mnist-tui --help)"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["predcit", "run", "a.png"], f"unknown command 'predcit' (did you mean predict?); {COMMANDS}"),
        (["run"], f"unknown command 'run' (did you mean runs?); {COMMANDS}"),
        (["help"], f"unknown command 'help' (did you mean --help?); {COMMANDS}"),
        (["--preset", "smoke", "xyz"], f"unknown command 'xyz'; {COMMANDS}"),
        (
            ["--runs-dir", "runs", "runs"],
            "the command runs must come first, its own options after it: mnist-tui runs ... (see mnist-tui runs --help)",
        ),
        (
            ["--no-ui", "predict", "x", "a.png"],
            "the command predict must come first, its own options after it: mnist-tui predict ... "
            "(see mnist-tui predict --help)",
        ),
    ],
)
def test_a_word_the_training_command_line_does_not_take_is_one_line(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr() == ("", f"mnist-tui: error: {said}\n")


def test_an_unknown_option_is_still_argparses_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--frobnicate", "x"])
    assert exit.value.code == 2
    assert capsys.readouterr().err.endswith("mnist-tui: error: unrecognized arguments: --frobnicate x\n")


def test_the_help_says_the_default_preset_and_what_jsonl_does_to_the_list() -> None:
    helps = {action.dest: action.help for action in build_parser()._actions}
    assert helps["preset"] == "start from a shipped preset (default: relu-adam-500; see --list-presets)"
    assert helps["list_presets"] == "list the presets and exit (with --jsonl: one JSON object each, its settings included)"


def test_an_absolute_path_to_resume_is_not_said_to_be_missing_from_the_runs_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--no-ui", "--resume", "/nonexistent-run-folder"]) == 2
    assert capsys.readouterr().err == "mnist-tui: error: run folder /nonexistent-run-folder does not exist\n"


@pytest.mark.parametrize(("epochs", "said"), [(1, "batch 64, 1 epoch;"), (2, "batch 64, 2 epochs;")])
def test_the_headless_header_counts_epochs_in_words(epochs: int, said: str) -> None:
    assert said in describe_start(started("r", Config(batch_size=64, epochs=epochs)))
