"""``watch`` of a damaged run whose writer is gone: shown damaged, with no resume offered (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_tui.engine.epoch_log import unresumable_damage
from mnist_tui.engine.events import EpochEnded
from mnist_tui.tui.status_bar import StatusBar
from test_tui_watch import CONFIG, RUN, SIZE, progress_text, run_folder, watcher_of_killed_run
from tui_script import run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

FINISHED = {"status": "finished", "preset": "smoke", "name": "smoke", "epochs": 2, "epochs_completed": 2}
"""The summary of a run that finished its two epochs."""


def finished_run_cut_before_its_last_epoch(tmp_path: Path) -> Path:
    """A finished run's folder whose log was cut before its last epoch's line (QA truncated it to half)."""
    events = list(training_run()(CONFIG, RUN))
    last_epoch = max(index for index, event in enumerate(events) if isinstance(event, EpochEnded))
    folder = run_folder(tmp_path, events[:last_epoch])
    (folder / "summary.json").write_text(json.dumps(FINISHED))
    return folder


async def watched_until_its_writer_is_found_gone(folder: Path) -> tuple[str, str, str, list[str]]:
    """What a watcher of ``folder`` shows once it has found the run's writer gone: its state, the
    status bar's name, the Progress pane's text and the notes."""
    app, notes = watcher_of_killed_run(folder)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state in ("interrupted", "damaged"), what="the writer's death noticed")
        return app.state, app.query_one(StatusBar).name_shown, progress_text(app), notes


@run_async
async def test_a_finished_run_whose_log_was_cut_is_damaged_and_offered_no_resume(tmp_path: Path) -> None:
    """It showed "Interrupted at epoch 2, step 32 / the last checkpoint resumes it" and a
    ``--resume`` command, which then refused: the log was cut."""
    folder = finished_run_cut_before_its_last_epoch(tmp_path)
    state, _, progress, notes = await watched_until_its_writer_is_found_gone(folder)
    reason = "events.jsonl has no line for epoch 2 of the 2 that summary.json counts as completed (the log was cut short or edited)"
    assert state == "damaged"
    assert " ".join(progress.split()).startswith("Damaged: nothing can resume it events.jsonl has no line for epoch 2")
    assert notes == [f"The process training {RUN} is gone, and its run folder is damaged ({reason}): it cannot be resumed."]


@run_async
async def test_a_finished_run_whose_log_was_deleted_is_damaged_and_keeps_its_name(tmp_path: Path) -> None:
    """It showed "Interrupted", a ``--resume`` that refused, "has no events.jsonl yet: waiting for
    its run to write it", and ``custom`` in the status bar though the run is a smoke run."""
    folder = finished_run_cut_before_its_last_epoch(tmp_path)
    (folder / "events.jsonl").unlink()
    state, name, progress, notes = await watched_until_its_writer_is_found_gone(folder)
    assert (state, name) == ("damaged", "smoke")
    assert progress == "Damaged: nothing can resume it\nno events.jsonl"
    assert notes == [f"The process training {RUN} is gone, and its run folder is damaged (no events.jsonl): it cannot be resumed."]


@run_async
async def test_a_killed_run_with_a_sound_log_is_still_interrupted_and_resumable(tmp_path: Path) -> None:
    """The damage check takes nothing from an interrupted run: its summary counts the epochs its log holds."""
    events = list(training_run(end=False)(CONFIG, RUN))
    folder = run_folder(tmp_path, events)
    (folder / "summary.json").write_text(json.dumps({**FINISHED, "status": "running"}))
    state, _, progress, notes = await watched_until_its_writer_is_found_gone(folder)
    assert state == "interrupted" and progress.startswith("Interrupted at epoch 2")
    assert any(f"mnist-tui --resume {folder}" in note for note in notes)


def test_the_damage_a_resume_refuses_is_told_from_the_folders_files(tmp_path: Path) -> None:
    """As ``runs`` and ``compare`` name it; a missing or damaged summary alone is none: a resume writes it anew."""
    folder = finished_run_cut_before_its_last_epoch(tmp_path)
    assert unresumable_damage(folder).startswith("events.jsonl has no line for epoch 2 of the 2")
    (folder / "summary.json").write_text("{not json")
    assert unresumable_damage(folder) is None
    (folder / "summary.json").unlink()
    assert unresumable_damage(folder) is None
    (folder / "config.toml").unlink()
    (folder / "events.jsonl").unlink()
    assert unresumable_damage(folder) == "no events.jsonl; no config.toml"
    assert unresumable_damage(tmp_path / "gone") == "unreadable: No such file or directory"
