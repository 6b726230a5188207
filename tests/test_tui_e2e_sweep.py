"""End to end: ``mnist-tui sweep`` without ``--no-ui`` opens the dashboard on the Sweep view and fills it live.

The real command in tmux at 120x40, with two worker processes and tiny trials; the table must
show every trial as the workers finish them (read from the study's storage), the best starred,
and ``enter`` must open a trial's run folder in the Train view; ``q`` ends it, and the study's
table is printed in the shell.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_tui_e2e import EXIT, RUN_WITHIN, Terminal, terminal  # noqa: F401  (terminal: the fixture)

SWEEP_WITHIN = 240
"""Two workers starting (torch in each) and six tiny trials: well under a minute on a quiet machine."""


def run_sweep(terminal: Terminal, data_dir: Path, tmp_path: Path, space: str, *options: str) -> str:  # noqa: F811
    """``mnist-tui sweep`` of tiny smoke trials over ``space``, typed in the terminal; the screen once it is done."""
    (tmp_path / "S.toml").write_text(space)
    terminal.start_app(
        "sweep", "--preset", "smoke", "--space", str(tmp_path / "S.toml"), *options,
        "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs"),
        "--set", "train_limit=300", "--set", "eval_limit=200", "--set", "device=cpu",
    )
    screen, _, _ = terminal.wait_for(lambda s: "done: every worker ended" in s, SWEEP_WITHIN, "the finished sweep")
    return screen


def test_the_sweep_view_follows_the_workers_and_opens_a_trial(
    terminal: Terminal, data_dir: Path, tmp_path: Path  # noqa: F811
) -> None:
    space = 'lr = { low = 1e-4, high = 1e-1, log = true }\nhidden = { choices = [[16], [32, 16]] }\n'
    screen = run_sweep(terminal, data_dir, tmp_path, space, "--trials", "6", "--workers", "2", "--set", "epochs=2")
    assert "5 Sweep" in screen and "lr (log)" in screen and "hidden" in screen and "accuracy %" in screen
    rows = re.findall(r"^│\s*(★?)\s+(\d)\s+(complete|pruned)\s", screen, re.MULTILINE)
    assert sorted(int(number) for _, number, _ in rows) == list(range(6)), screen
    assert [star for star, _, _ in rows].count("★") == 1

    # The median pruner starts once five trials have finished: usually trials 0-4 complete, but a
    # worker slowed down by a busy machine can report trial 0's first epoch only after that (seen
    # on CI). Open the first complete trial, wherever it is.
    listed = [line for line in screen.splitlines() if re.match(r"^│\s*★?\s+\d\s+(complete|pruned)\s", line)]
    index, first = next((i, line) for i, line in enumerate(listed) if re.match(r"^│\s*★?\s+\d\s+complete\s", line))
    accuracy = first.strip("│ ").split()[-2]  # before the time ("2.0s")
    for _ in range(index):  # the cursor starts on the first row
        terminal.press("Down")
    terminal.press("Enter")
    terminal.wait_for(lambda s: f"Finished: final accuracy {accuracy} %" in s, 10, "the trial in the Train view")
    terminal.press("q")
    code, _ = terminal.wait_exit(30)
    assert code == 0
    screen = terminal.screen()
    assert re.search(r"study smoke-S: 6 trials .*this command ran 6", screen), screen
    assert EXIT.search(screen)
    assert not (tmp_path / "runs" / "smoke-S-workers.log").exists()  # the workers said nothing: no log left


def test_a_run_started_and_stopped_in_the_sweep_dashboard_leaves_the_sweeps_exit_code_alone(
    terminal: Terminal, data_dir: Path, tmp_path: Path  # noqa: F811
) -> None:
    """The dashboard's own run (``s`` on a trial's settings) is no trial: stopping it made the sweep exit 130."""
    run_sweep(terminal, data_dir, tmp_path, "lr = { low = 1e-3, high = 1e-2, log = true }\n", "--trials", "1", "--set", "epochs=100")
    terminal.press("Enter")  # the trial in Train: its settings in the form
    terminal.wait_for(lambda s: "● finished" in s, 10, "the trial in the Train view")
    terminal.press("s")
    terminal.wait_for(lambda s: "● running" in s, RUN_WITHIN, "the dashboard's own run")  # torch and the data load first
    terminal.press("x")
    terminal.wait_for(lambda s: "● stopped" in s, 30, "the run stopped")
    terminal.press("q")
    code, _ = terminal.wait_exit(30)
    assert code == 0, terminal.screen()  # the one trial completed
    assert re.search(r"study smoke-S: 1 trial \(1 complete\)", terminal.screen())
