"""The dashboard's reducer and the event-log reader, without Textual: what a run looks like after its events."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tui.engine.presets import load_preset
from mnist_tui.engine.events import RunPaused, RunResumed, SettingsChanged
from mnist_tui.engine.replay import EventTail, LogRewritten, describe_skipped, read_events
from mnist_tui.tui.run_state import INSPECTED_EPOCHS, RunState, replay
from tui_script import batch, confusion, epoch_ended, finished, inspection, samples, started

CONFIG = load_preset("smoke").replace(epochs=3)
RUN = "smoke-20260101-000000-abcd"


def a_run(epochs: int = 3) -> list:
    accuracies = (95.5, 97.25, 96.75)[:epochs]
    events = [started(RUN, CONFIG), samples(RUN, 0)]
    for epoch in range(1, epochs + 1):
        events += [batch(RUN, step) for step in range((epoch - 1) * 100 + 25, epoch * 100 + 1, 25)]
        events += [epoch_ended(RUN, epoch, epochs, accuracies), samples(RUN, epoch), *inspection(RUN, epoch)]
    return [*events, finished(RUN, accuracies)]


def test_the_reducer_needs_no_textual() -> None:
    code = "import sys, mnist_tui.tui.run_state, mnist_tui.engine.replay; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch', 'plotext')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_whole_run_leaves_its_state_best_latest_and_inspections() -> None:
    state = replay(a_run())
    assert state.run_id == RUN and state.state == "finished"
    assert [e.epoch for e in state.epochs] == [1, 2, 3]
    assert state.best is not None and state.best.epoch == 2
    assert state.latest is not None and state.latest.step == 300
    assert state.samples is not None and state.samples.epoch == 3
    assert list(state.inspections) == [1, 2, 3]
    latest = state.inspection()
    assert latest is not None and latest.epoch == 3 and latest.confusion == confusion(RUN, 3)
    assert latest.mistakes is not None and latest.weights is not None and latest.layers is not None
    assert state.previous_inspection(3) is state.inspection(2)
    assert state.loss.batch.count == 12 and len(state.loss.evaluation) == 3


def test_inspections_stay_bounded_to_the_latest_epochs() -> None:
    state = RunState()
    state.apply(started(RUN, CONFIG))
    for epoch in range(1, INSPECTED_EPOCHS + 6):
        for event in inspection(RUN, epoch):
            state.apply(event)
    assert len(state.inspections) == INSPECTED_EPOCHS
    assert min(state.inspections) == 6 and state.inspection(1) is None


def test_pauses_changes_and_a_new_run_id_start_afresh() -> None:
    state = RunState()
    for event in a_run(1)[:-1]:
        state.apply(event)
    state.apply(RunPaused(run_id=RUN, epoch=1, step=100))
    assert state.state == "paused"
    state.apply(RunResumed(run_id=RUN, epoch=1, step=100))
    assert state.state == "running"
    state.apply(SettingsChanged(run_id=RUN, epoch=2, step=150, changes={"lr": [0.003, 0.0003]}, source="test"))
    assert state.lr == 0.0003 and state.loss.changes == [(1.5, "lr 0.0003")]
    state.apply(started("other-run", CONFIG))
    assert state.run_id == "other-run" and not state.epochs and not state.inspections and state.samples is None


def test_a_resume_in_the_same_log_keeps_the_epochs_up_to_its_checkpoint() -> None:
    events = a_run(2)[:-1]
    resumed = started(RUN, CONFIG)
    resumed = dataclasses.replace(resumed, start_epoch=1)
    state = replay([*events, resumed])
    assert [e.epoch for e in state.epochs] == [1] and state.state == "running"


def test_a_log_with_a_torn_last_line_reads_up_to_it_and_a_follower_gets_the_rest(tmp_path: Path) -> None:
    lines = [event.to_json() for event in a_run(1)]
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:17])
    assert len(read_events(log)[0]) == len(lines) - 1
    tail = EventTail(log)
    assert len(tail.poll()) == len(lines) - 1
    assert tail.poll() == []
    with open(log, "a") as handle:
        handle.write(lines[-1][17:] + "\n")
    assert [e.kind for e in tail.poll()] == ["finished"]
    assert EventTail(tmp_path / "not-yet.jsonl").poll() == []


@pytest.mark.parametrize(
    ("line", "message"),
    [("{not json", "line 2 is not JSON"), ('{"event": "nonsense", "run_id": "x"}', "line 2 is not an mnist-tui event"),
     ('{"event": "paused", "run_id": "x"}', "line 2 is not an mnist-tui event")],
)
def test_a_bad_line_inside_the_log_is_skipped_and_named(tmp_path: Path, line: str, message: str) -> None:
    """One bad line costs that line: the events around it are read (a watcher showed none)."""
    run = a_run(1)
    log = tmp_path / "events.jsonl"
    log.write_text(run[0].to_json() + "\n" + line + "\n" + "\n".join(e.to_json() for e in run[1:]) + "\n")
    events, skipped = read_events(log)
    assert events == run
    assert len(skipped) == 1 and message in skipped[0] and str(log) in skipped[0]


def test_several_bad_lines_are_described_in_one_message() -> None:
    assert describe_skipped(["a line 2 is not JSON: skipped"]) == "a line 2 is not JSON: skipped"
    assert describe_skipped(["x line 2 is not JSON: skipped", "x line 9 is not JSON: skipped"]) == (
        "2 lines were skipped; the first: x line 2 is not JSON"
    )


def test_a_follower_reads_a_log_cut_back_and_rewritten_in_place_from_its_start(tmp_path: Path) -> None:
    """A resume cuts the log to its checkpoint and appends: the follower's offset landed inside the
    new lines when they outgrew the old end, and it read half a line ("not JSON") and lost them."""
    run = [event.to_json() for event in a_run(2)]
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(run) + "\n")
    tail = EventTail(log)
    assert len(tail.poll()) == len(run)
    keep = "\n".join(run[:5]) + "\n"
    resumed = dataclasses.replace(started(RUN, CONFIG), start_epoch=1).to_json()
    with open(log, "r+") as handle:  # in place, as EventLog.cut and append do
        handle.truncate(len(keep))
        handle.seek(len(keep))
        handle.write("\n".join([resumed] + run[5:] + run[5:]) + "\n")  # longer than before
    with pytest.raises(LogRewritten):
        tail.poll()
    again = tail.poll()
    assert [e.to_json() for e in again] == run[:5] + [resumed] + run[5:] + run[5:]
    assert tail.take_problems() == []
    assert tail.poll() == []  # the fingerprint matches once it read the new log


def test_a_follower_reads_a_log_that_shrank_from_its_start(tmp_path: Path) -> None:
    run = [event.to_json() for event in a_run(1)]
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(run) + "\n")
    tail = EventTail(log)
    tail.poll()
    log.write_text(run[0] + "\n")
    with pytest.raises(LogRewritten):
        tail.poll()
    assert [e.to_json() for e in tail.poll()] == [run[0]]
