"""A diverged run's own log replays: its NaN losses are logged as null and must read back as NaN."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mnist_tui.command import main
from mnist_tui.engine.events import BatchReported, RunDiverged
from mnist_tui.engine.replay import read_events
from mnist_tui.tui.run_state import RunState


def test_a_diverged_runs_log_replays_into_the_dashboards_state(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    """Opening a diverged run in the Runs view ended the dashboard with ``TypeError: must be real
    number, not NoneType`` from ``math.isfinite`` (QA, three times out of three)."""
    argv = ["--no-ui", "--preset", "smoke", "--set", "lr=1e308", "--device", "cpu",
            "--data-dir", str(data_dir), "--runs-dir", str(tmp_path)]
    main(argv)
    assert "diverged" in capsys.readouterr().out
    (run_dir,) = tmp_path.iterdir()
    events, skipped = read_events(run_dir / "events.jsonl")
    assert skipped == []
    losses = [event.loss for event in events if isinstance(event, BatchReported)]
    assert any(math.isnan(loss) for loss in losses), losses
    run = RunState()
    for event in events:
        run.apply(event)
    assert run.state == "diverged" and isinstance(events[-1], RunDiverged)
