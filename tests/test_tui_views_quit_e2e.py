"""End to end: ``q`` mid-run in the real dashboard (tmux, 120x40), then what the shell shows once the
screen has closed: the run's state, its folder and the command that continues it (QA: nothing)."""

from __future__ import annotations

from pathlib import Path

from test_tui_e2e import (  # noqa: F401  (terminal: the fixture)
    MID_RUN,
    QUITS_WITHIN,
    RUN_WITHIN,
    Terminal,
    command_args,
    pytestmark,
    slack,
    summary,
    terminal,
    the_run,
    wait_training,
)


def test_q_mid_run_leaves_the_run_folder_and_the_resume_command_on_the_terminal(
    terminal: Terminal, data_dir: Path, tmp_path: Path  # noqa: F811
) -> None:
    runs = tmp_path / "runs"
    terminal.start_app(*command_args(data_dir, runs, *MID_RUN))
    wait_training(terminal, RUN_WITHIN)
    terminal.press("q")
    code, _ = terminal.wait_exit(QUITS_WITHIN * slack() + 5)
    assert code == 130

    run = the_run(runs)
    lines = terminal.tmux("capture-pane", "-p", "-J").splitlines()  # -J: lines the terminal wrapped, whole
    done = summary(run)["epochs_completed"]
    where = f"after epoch {done} of 3" if done else "before its first epoch ended"
    said = lines[lines.index("EXIT:130") - 2 : lines.index("EXIT:130")]
    assert said == [
        f"stopped {where}, its checkpoint saved; continue with: mnist-tui --resume {run} --data-dir {data_dir}",
        f"run folder: {run}",
    ], "\n".join(lines)
