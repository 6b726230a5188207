"""End to end: after a real run in the dashboard, the Inspect view shows its confusion matrix and mistakes.

The real ``mnist-tui --preset relu-adam-100-pooled`` in tmux at 120x40 (3 epochs of a small model,
seconds on the CPU); then ``2``, the arrows and ``enter`` as a person would press them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from test_tui_e2e import RUN_WITHIN, Terminal, terminal, the_run  # noqa: F401  (terminal: the fixture)

PIXELS = re.compile("▀{6,}")


def last_confusion(run: Path) -> dict:
    events = [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    return [e for e in events if e["event"] == "confusion"][-1]


def test_after_a_run_2_shows_the_confusion_matrix_and_a_cells_mistakes(
    terminal: Terminal, data_dir: Path, tmp_path: Path  # noqa: F811
) -> None:
    runs = tmp_path / "runs"
    terminal.start_app("--preset", "relu-adam-100-pooled", "--data-dir", str(data_dir), "--runs-dir", str(runs))
    terminal.wait_for(lambda s: "● finished" in s, RUN_WITHIN, "the finished run")
    matrix = last_confusion(the_run(runs))["matrix"]

    terminal.press("2")
    screen, _, _ = terminal.wait_for(lambda s: "Confusion · epoch 3" in s, 10, "the Inspect view")
    rows = {}
    for line in screen.splitlines():
        found = re.match(r"^\W*│?\s*(\d)\s((?:\s+[\d·]+){10})", line)
        if found:
            rows[int(found.group(1))] = found.group(2).split()
    assert sorted(rows) == list(range(10)), screen
    for k in range(10):
        assert rows[k][k] == str(matrix[k][k])  # every diagonal count, in its place

    # The view opens on the largest mistake (the first in reading order of equal ones) and its cards.
    cells = sorted(
        ((r, c) for r in range(10) for c in range(10) if r != c and matrix[r][c] > 0),
        key=lambda cell: -matrix[cell[0]][cell[1]],  # a stable sort: equal counts stay in reading order
    )
    assert len(cells) >= 2, matrix
    (true, predicted), (other_true, other_predicted) = cells[:2]

    def shows_cards(true: int, predicted: int) -> Callable[[str], bool]:
        heading = f"{true} taken for {predicted}:"
        return lambda s: heading in s and bool(PIXELS.search(s.split(heading)[1])) and f"{true} → {predicted}" in s

    terminal.wait_for(shows_cards(true, predicted), 10, "the largest mistake's cards")

    # The arrows move the selection (wrapping round the grid) to the next largest; enter shows its cards.
    for _ in range((other_true - true) % 10):
        terminal.press("Down")
    for _ in range((other_predicted - predicted) % 10):
        terminal.press("Right")
    terminal.press("Enter")
    terminal.wait_for(shows_cards(other_true, other_predicted), 10, "the chosen cell's mistakes as pixel art")

    terminal.press("1")
    terminal.wait_for(lambda s: "Loss against epochs" in s and "Hyperparameters" in s, 10, "the Train view")
    terminal.press("q")
    code, _ = terminal.wait_exit(10)
    assert code == 0
