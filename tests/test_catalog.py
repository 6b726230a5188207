"""The runs catalog: listing from summaries alone, damage named and never raised, sort, filter, differences."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from mnist_tui.engine.catalog import DamagedRun, list_runs, read_entry
from mnist_tui.engine.epoch_log import read_epochs
from mnist_tui.engine.run_rows import config_differences, filter_runs, preset_of, sort_runs
from mnist_tui.engine.config import Config
from mnist_tui.engine.lock import RunBusy, RunLock, writer_alive
from mnist_tui.engine.presets import config_to_toml, load_preset


def make_run(root: Path, run: str, *, config: Config | None = None, events: str = "", **summary: Any) -> Path:
    """A run folder with a config, an event log and a summary of ``summary``'s fields."""
    folder = root / run
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(config_to_toml(config or Config()))
    (folder / "events.jsonl").write_text(events)
    fields = {"status": "finished", "name": "custom", "preset": None, "epochs": 5, "epochs_completed": 5}
    (folder / "summary.json").write_text(json.dumps({**fields, **summary}))
    return folder


def test_runs_are_listed_newest_first_by_their_start_whatever_its_time_zone(tmp_path: Path) -> None:
    make_run(tmp_path, "a", started="2026-11-23T10:00:00+00:00")
    make_run(tmp_path, "b", started="2026-11-23T11:30:00+02:00")  # 09:30 UTC: the oldest
    make_run(tmp_path, "c", started="2026-11-23T10:30:00+00:00")
    assert [e.run for e in list_runs(tmp_path)] == ["c", "a", "b"]


def test_a_listed_run_carries_its_summary_and_nothing_else_is_read(tmp_path: Path) -> None:
    folder = make_run(tmp_path, "r", events="this is not JSON and is never read\n", final_test_accuracy=91.5)
    (entry,) = list_runs(tmp_path)
    assert entry.path == folder and entry.damage is None and entry.state == "finished"
    assert entry.get("final_test_accuracy") == 91.5 and entry.get("best_test_accuracy") is None
    assert entry.to_dict()["final_test_accuracy"] == 91.5 and entry.to_dict()["damage"] is None


def test_hidden_folders_and_plain_files_are_not_runs(tmp_path: Path) -> None:
    make_run(tmp_path, "r")
    (tmp_path / ".trash").mkdir()
    (tmp_path / "study.journal").write_text("{}")
    assert [e.run for e in list_runs(tmp_path)] == ["r"]


DAMAGE = {
    "no summary": (lambda f: (f / "summary.json").unlink(), "no summary.json"),
    "a corrupt summary": (lambda f: (f / "summary.json").write_text('{"status": "fini'), "summary.json is corrupt"),
    "a summary that is a list": (lambda f: (f / "summary.json").write_text("[1]"), "summary.json is not a JSON object"),
    "a summary without status": (lambda f: (f / "summary.json").write_text("{}"), "summary.json: no status"),
    "a mistyped field": (lambda f: (f / "summary.json").write_text('{"status": "x", "epochs": "5"}'), "epochs is '5'"),
    "a summary that is not text": (lambda f: (f / "summary.json").write_bytes(b"\xff\xfe"), "summary.json is unreadable"),
    "no event log": (lambda f: (f / "events.jsonl").unlink(), "no events.jsonl"),
    "no config": (lambda f: (f / "config.toml").unlink(), "no config.toml"),
    # compare and watch called it damaged while runs listed it finished
    "a config that is no TOML": (lambda f: (f / "config.toml").write_text("hidden = [64\n"), "config.toml: TOML syntax error"),
}


def summary_text(text: str) -> Callable[[Path], None]:
    """Damage: the folder's summary is ``text``."""
    return lambda folder: (folder / "summary.json").write_text(text)


def summary_with(**fields: object) -> Callable[[Path], None]:
    """Damage: the folder's summary holds ``fields`` (written as Python's json writes them, NaN too)."""
    return summary_text(json.dumps({"status": "finished", **fields}))


DAMAGE.update({
    # Python refuses to read these: the listing died with a traceback.
    "a number too long to read": (
        summary_text('{"status": "x", "epochs": 1' + "0" * 5000 + "}"), "summary.json is corrupt (a number too long to read)"
    ),
    "a summary nested too deep": (summary_text("[" * 100_000), "summary.json is corrupt (nested too deep to read)"),
    # Each was listed as a sound run: nan %, a 310-digit accuracy, -5.0s, 27777777777777777h46m of training.
    "an accuracy that is NaN": (summary_with(final_test_accuracy=math.nan), "final_test_accuracy is nan, not a percentage"),
    "an accuracy past 100": (summary_with(final_test_accuracy=1.79e308), "final_test_accuracy is 1.79e+308, not a percentage"),
    "a negative best accuracy": (summary_with(best_test_accuracy=-3), "best_test_accuracy is -3, not a percentage from 0 to 100"),
    "an infinite best accuracy": (summary_with(best_test_accuracy=math.inf), "best_test_accuracy is inf"),
    "negative seconds": (summary_with(train_seconds=-5), "train_seconds is -5, not seconds from 0 to a year"),
    "seconds past a year": (summary_with(train_seconds=1e20), "train_seconds is 1e+20, not seconds"),
    "NaN evaluation seconds": (summary_with(eval_seconds=math.nan), "eval_seconds is nan"),
    "a fractional count": (summary_with(epochs_completed=1e300), "epochs_completed is 1e+300, not a count of epochs"),
    "a negative count": (summary_with(best_epoch=-1), "best_epoch is -1, not a count"),
    "a count past what a config allows": (
        summary_with(epochs=10**300), "epochs is 100000000000000000000000000000… (301 characters), not a count"
    ),
    "a count that is true": (summary_with(epochs_completed=True), "epochs_completed is True"),
    "a device that is a number": (summary_with(device=123), "device is 123, not text"),
    # Each was listed with its status as the state ("None", "banana") and compared as a sound run.
    "a null status": (summary_with(status=None), "summary.json: status is null, not a run state"),
    "a status no run has": (summary_with(status="banana"), "summary.json: status is 'banana', not a run state"),
    "a status that is a number": (summary_with(status=3), "summary.json: status is 3, not a run state"),
    # Each was listed as a sound run: finished 5/1, best 50.00 beside final 78.00, an event log that is a folder.
    "more epochs done than configured": (
        summary_with(epochs=1, epochs_completed=5), "summary.json: epochs_completed is 5, more than its epochs (1)"
    ),
    "a best epoch not yet trained": (
        summary_with(epochs=5, epochs_completed=2, best_epoch=4), "summary.json: best_epoch is 4, after its epochs_completed (2)"
    ),
    "a best accuracy below the final": (
        summary_with(best_test_accuracy=50, final_test_accuracy=78),
        "summary.json: best_test_accuracy is 50, below its final_test_accuracy (78)",
    ),
    "an event log that is a folder": (
        lambda f: ((f / "events.jsonl").unlink(), (f / "events.jsonl").mkdir()), "events.jsonl is unreadable: Is a directory"
    ),
    "an event log that is a broken link": (
        lambda f: ((f / "events.jsonl").unlink(), (f / "events.jsonl").symlink_to(f / "gone")),
        "events.jsonl is unreadable: No such file or directory",
    ),
    "a summary of nulls only": (
        summary_with(**dict.fromkeys(("status", "name", "preset", "started", "epochs", "epochs_completed"))),
        "summary.json: status is null, not a run state",
    ),
})


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_folder_is_listed_with_the_reason(tmp_path: Path, case: str) -> None:
    damage, reason = DAMAGE[case]
    make_run(tmp_path, "good", started="2026-01-01T00:00:00+00:00")
    damage(make_run(tmp_path, "bad"))
    entries = {e.run: e for e in list_runs(tmp_path)}
    assert entries["good"].damage is None
    assert entries["bad"].state == "damaged" and reason in entries["bad"].damage
    assert entries["bad"].to_dict()["state"] == "damaged"


@pytest.mark.parametrize("status", ["running", "finished", "stopped", "diverged", "failed"])
def test_every_status_the_engine_writes_is_sound(tmp_path: Path, status: str) -> None:
    entry = read_entry(make_run(tmp_path, "r", status=status))
    assert entry.damage is None and entry.state == status


def test_every_bad_field_of_a_summary_is_named_in_one_reason(tmp_path: Path) -> None:
    """Only the first bad field was named (epochs): a summary was mended one listing at a time."""
    folder = make_run(tmp_path, "r", train_seconds=-5, final_test_accuracy=200, epochs="x")
    (folder / "events.jsonl").unlink()
    entry = read_entry(folder)
    assert entry.damage == (
        "summary.json: epochs is 'x', not a count of epochs from 0 to 100,000; "
        "final_test_accuracy is 200, not a percentage from 0 to 100; "
        "train_seconds is -5, not seconds from 0 to a year; no events.jsonl"
    )
    (folder / "summary.json").write_text(json.dumps({"epochs": -1, "status": None}))
    assert read_entry(folder).damage.startswith(
        "summary.json: status is null, not a run state; epochs is -1, not a count of epochs"
    )
    (folder / "summary.json").write_text(json.dumps({"epochs": -1}))
    assert read_entry(folder).damage.startswith("summary.json: no status; epochs is -1, not a count")


def test_a_summary_with_a_bad_value_keeps_its_sound_ones_in_the_listing(tmp_path: Path) -> None:
    """QA: one bad value (final_test_accuracy 200) blanked the run's name, start, epochs and best %."""
    folder = make_run(
        tmp_path, "r", name="mine", preset="smoke", started="2026-11-23T10:00:00+00:00", final_test_accuracy=200,
        best_test_accuracy=97.5, best_epoch=4, error="x" * 100_000,
    )
    entry = read_entry(folder)
    assert entry.state == "damaged" and entry.damage == "summary.json: final_test_accuracy is 200, not a percentage from 0 to 100"
    assert (entry.get("name"), entry.get("preset"), entry.get("best_test_accuracy"), entry.get("epochs_completed")) == (
        "mine", "smoke", 97.5, 5
    )
    assert entry.get("final_test_accuracy") is None and entry.get("status") == "finished"
    assert entry.when == datetime(2026, 11, 23, 10, tzinfo=timezone.utc).timestamp()  # sorted by its start
    assert len(entry.get("error")) < 1000  # a long error cut short, as in a sound summary


def test_summary_values_at_their_limits_are_sound(tmp_path: Path) -> None:
    folder = make_run(tmp_path, "r", final_test_accuracy=0.0, best_test_accuracy=100, train_seconds=0,
                      eval_seconds=366 * 24 * 3600, epochs=100_000, epochs_completed=0, best_epoch=None)
    entry = read_entry(folder)
    assert entry.damage is None and entry.state == "finished"


def test_every_problem_of_a_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (entry,) = list_runs(tmp_path)
    assert entry.damage == "no summary.json; no events.jsonl; no config.toml"
    assert entry.when == pytest.approx((tmp_path / "empty").stat().st_mtime)


def test_a_folder_with_a_readable_summary_but_no_log_keeps_its_numbers(tmp_path: Path) -> None:
    folder = make_run(tmp_path, "r", final_test_accuracy=90.0)
    (folder / "events.jsonl").unlink()
    (entry,) = list_runs(tmp_path)
    assert entry.damage == "no events.jsonl" and entry.get("final_test_accuracy") == 90.0


def test_an_unreadable_folder_is_damaged_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = make_run(tmp_path, "locked")
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # running as root, chmod would not lock it
    entry = read_entry(locked)
    assert entry.state == "damaged" and entry.damage == "unreadable: Permission denied"


@pytest.mark.skipif(sys.platform == "win32", reason="no FIFOs")
@pytest.mark.parametrize("name", ["summary.json", "config.toml", "events.jsonl"])
def test_a_run_file_that_is_a_fifo_is_named_not_waited_on(tmp_path: Path, name: str) -> None:
    """Opening a FIFO waits for a writer: ``runs`` hung on a folder holding one, saying nothing."""
    folder = make_run(tmp_path, "r", final_test_accuracy=90.0)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    found: list[Any] = []
    reader = threading.Thread(target=lambda: found.append((list_runs(tmp_path), _epochs_or_damage(folder))), daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # let the stuck reader go: a writer that closes at once
        os.close(os.open(folder / name, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"a {name} that is a FIFO was waited on")
    ((entry,), epochs) = found[0]
    if name == "events.jsonl":  # a listing never reads the log; opening the run does
        assert epochs == "events.jsonl is unreadable: not a regular file"
    else:
        assert entry.state == "damaged" and "not a regular file" in entry.damage, entry.damage


def _epochs_or_damage(folder: Path) -> object:
    try:
        return read_epochs(folder)
    except DamagedRun as damage:
        return str(damage)


def test_a_missing_runs_folder_is_an_error_for_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list_runs(tmp_path / "nowhere")


def sample(tmp_path: Path) -> list:
    make_run(tmp_path, "old", started="2026-01-01T00:00:00+00:00", final_test_accuracy=90.0, preset="sigmoid-sgd",
             device="cpu", train_seconds=30.0)
    make_run(tmp_path, "mid", started="2026-01-02T00:00:00+00:00", final_test_accuracy=97.5, preset="relu-adam-500",
             device="cuda", train_seconds=5.0)
    make_run(tmp_path, "new", started="2026-01-03T00:00:00+00:00", status="running", preset="relu-adam-500",
             device="cpu", train_seconds=1.0)
    (tmp_path / "broken").mkdir()
    os.utime(tmp_path / "broken", (0, 0))  # 1970: the oldest
    return list_runs(tmp_path)


def test_sorting_puts_each_column_in_its_natural_order_and_blanks_last(tmp_path: Path) -> None:
    entries = sample(tmp_path)
    assert [e.run for e in entries] == ["new", "mid", "old", "broken"]
    assert [e.run for e in sort_runs(entries, "date", reverse=True)] == ["broken", "old", "mid", "new"]
    assert [e.run for e in sort_runs(entries, "final")] == ["mid", "old", "new", "broken"]
    assert [e.run for e in sort_runs(entries, "final", reverse=True)] == ["old", "mid", "new", "broken"]
    assert [e.run for e in sort_runs(entries, "run")] == ["broken", "mid", "new", "old"]
    assert [e.run for e in sort_runs(entries, "state")] == ["broken", "mid", "old", "new"]
    assert [e.run for e in sort_runs(entries, "time")] == ["old", "mid", "new", "broken"]
    # Equal presets keep newest first.
    assert [e.run for e in sort_runs(entries, "preset")] == ["new", "mid", "old", "broken"]
    with pytest.raises(ValueError, match="cannot sort by 'colour'"):
        sort_runs(entries, "colour")


def test_filtering_keeps_runs_matching_every_word_in_any_case(tmp_path: Path) -> None:
    entries = sample(tmp_path)
    assert [e.run for e in filter_runs(entries, "ADAM")] == ["new", "mid"]
    assert [e.run for e in filter_runs(entries, "adam cpu")] == ["new"]
    assert [e.run for e in filter_runs(entries, "damaged")] == ["broken"]
    assert [e.run for e in filter_runs(entries, "no config")] == ["broken"]
    assert filter_runs(entries, "") == entries and filter_runs(entries, "nothing-like-this") == []


def test_config_differences_name_each_differing_field_with_every_value() -> None:
    a = load_preset("sigmoid-sgd")
    b = a.replace(lr=0.1, hidden=(100,))
    c = a.replace(lr=0.2)
    assert config_differences([a, b, c]) == {"hidden": [[512, 256], [100], [512, 256]], "lr": [0.01, 0.1, 0.2]}
    assert config_differences([a, a]) == {}


def test_a_run_is_compared_with_the_preset_it_started_from(tmp_path: Path) -> None:
    make_run(tmp_path, "p", preset="smoke")
    make_run(tmp_path, "q", started="2026-01-01T00:00:00+00:00", preset="no-longer-shipped")
    entries = {e.run: e for e in list_runs(tmp_path)}
    assert preset_of(entries["p"]) == load_preset("smoke")
    assert preset_of(entries["q"]) is None


def epoch_line(epoch: int, accuracy: float) -> str:
    return json.dumps({"event": "epoch", "epoch": epoch, "eval_accuracy": accuracy}, separators=(",", ":")) + "\n"


BATCH = json.dumps({"event": "batch", "loss": 1.0}, separators=(",", ":")) + "\n"


def test_read_epochs_takes_each_epochs_latest_accuracy_and_waits_for_a_partial_line(tmp_path: Path) -> None:
    log = epoch_line(1, 80.0) + BATCH + "\n" + epoch_line(2, 85.0) + epoch_line(2, 86.0) + epoch_line(3, 90.0)[:-5]
    folder = make_run(tmp_path, "r", events=log, status="running", epochs_completed=2)
    assert read_epochs(folder) == {1: 80.0, 2: 86.0}
    # The writer caught mid-line, on any line, and an epoch ended but not yet committed.
    (folder / "events.jsonl").write_text(epoch_line(1, 80.0) + epoch_line(2, 85.0) + "{\"event\":\"ba")
    assert read_epochs(folder) == {1: 80.0, 2: 85.0}


def test_read_epochs_names_a_corrupt_epoch_line_and_a_missing_log(tmp_path: Path) -> None:
    folder = make_run(tmp_path, "r", events=BATCH + '{"event":"epoch","epoch":1}\n', epochs_completed=1)
    with pytest.raises(DamagedRun, match="line 2 is an epoch line without eval_accuracy"):
        read_epochs(folder)
    (folder / "events.jsonl").unlink()
    with pytest.raises(DamagedRun, match="no events.jsonl"):
        read_epochs(folder)


def test_read_epochs_names_a_log_cut_short_of_the_epochs_its_summary_counts(tmp_path: Path) -> None:
    """``truncate -s 100000 events.jsonl`` lost epochs 2 and 3: compare showed epoch 1 alone, under "epochs 3/3"."""
    whole = epoch_line(1, 80.0) + BATCH + epoch_line(2, 85.0) + BATCH + epoch_line(3, 90.0)
    folder = make_run(tmp_path, "r", events=whole[: len(epoch_line(1, 80.0)) + 20], epochs=3, epochs_completed=3)
    with pytest.raises(DamagedRun, match=r"^events.jsonl has no line for epochs 2 to 3 of the 3 that summary.json counts as completed"):
        read_epochs(folder)
    (folder / "events.jsonl").write_text(epoch_line(1, 80.0) + epoch_line(3, 90.0))  # a line taken out
    with pytest.raises(DamagedRun, match="no line for epoch 2 of the 3"):
        read_epochs(folder)
    (folder / "events.jsonl").write_text(whole)
    assert read_epochs(folder) == {1: 80.0, 2: 85.0, 3: 90.0}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param("GARBAGE" + BATCH[7:], "line 2 is not JSON", id="bytes changed"),
        pytest.param(BATCH[:20] + BATCH, "line 2 is not JSON", id="a line cut by a kill, then written over"),
        pytest.param('{"event":"batch","loss":1' + "0" * 5000 + "}\n", "line 2 is not JSON", id="a number too long"),
        pytest.param("[1, 2]\n", "line 2 is not an event", id="no event"),
        pytest.param("\xff\xfe\n", "line 2 is not JSON", id="no text"),
    ],
)
def test_read_epochs_names_a_damaged_line_before_the_last(tmp_path: Path, line: str, problem: str) -> None:
    folder = make_run(tmp_path, "r", events=BATCH + line + epoch_line(1, 80.0), epochs_completed=1)
    with pytest.raises(DamagedRun, match=f"^events.jsonl {problem}$"):
        read_epochs(folder)
    (folder / "events.jsonl").write_text(BATCH + epoch_line(1, 80.0) + line.rstrip("\n"), encoding="latin-1")
    assert read_epochs(folder) == {1: 80.0}, "the same line last, without its newline, is still being written"


def test_compare_refuses_a_run_whose_log_was_cut_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mnist_tui.compare import main

    log = epoch_line(1, 80.0) + epoch_line(2, 85.0)
    sound = make_run(tmp_path, "sound", events=log, epochs=2, epochs_completed=2)
    twin = make_run(tmp_path, "twin", events=log, epochs=2, epochs_completed=2)
    cut = make_run(tmp_path, "cut", events=log[:-30], epochs=2, epochs_completed=2)
    assert main([str(sound), str(twin)]) == 0
    capsys.readouterr()
    assert main([str(sound), str(cut)]) == 2
    error = capsys.readouterr().err
    assert f"{cut} is damaged: events.jsonl has no line for epoch 2 of the 2" in error


@pytest.mark.parametrize(("status", "shown"), [(None, "null"), ("banana", "'banana'")])
def test_compare_refuses_a_run_whose_status_no_run_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status: str | None, shown: str
) -> None:
    """It showed the status as "None" or "banana" beside the sound run's, and exit 0."""
    from mnist_tui.compare import main

    log = epoch_line(1, 80.0)
    sound = make_run(tmp_path, "sound", events=log, epochs=1, epochs_completed=1)
    odd = make_run(tmp_path, "odd", events=log, epochs=1, epochs_completed=1, status=status)
    assert main([str(sound), str(odd)]) == 2
    assert capsys.readouterr().err == f"mnist-tui compare: error: {odd} is damaged: summary.json: status is {shown}, not a run state\n"


def test_compare_shows_no_epochs_where_a_summary_has_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A summary without its counts showed "None/None" in the table and in --json."""
    from mnist_tui.compare import main

    counted = make_run(tmp_path, "counted", events=epoch_line(1, 80.0), epochs=3, epochs_completed=1)
    older = make_run(tmp_path, "older", epochs=None, epochs_completed=None)
    assert main([str(counted), str(older), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["epochs"] == ["1/3", None]
    assert main([str(counted), str(older)]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epochs")]
    assert row.split() == ["epochs", "1/3"]


@pytest.mark.skipif(sys.platform == "win32", reason="runs are not locked on Windows (no flock)")
def test_a_running_summary_whose_writer_is_gone_lists_as_interrupted(tmp_path: Path) -> None:
    """A killed run's summary still says running; its lock names a pid that no longer lives."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that was ours and is no longer alive
    host = socket.gethostname()
    live = make_run(tmp_path, "live", status="running", started="2026-11-23T10:00:00+00:00")
    holder = RunLock.acquire(live)  # a writer alive: it holds the lock
    reused = make_run(tmp_path, "reused", status="running", started="2026-11-23T10:30:00+00:00")
    (reused / ".lock").write_text(f"{os.getpid()} {host}\n")  # a live pid, but nobody holds the lock: a reused pid
    killed = make_run(tmp_path, "killed", status="running", started="2026-11-23T11:00:00+00:00")
    (killed / ".lock").write_text(f"{gone.pid} {host}\n")
    elsewhere = make_run(tmp_path, "elsewhere", status="running", started="2026-11-23T12:00:00+00:00")
    (elsewhere / ".lock").write_text(f"{gone.pid} another-host.example\n")  # its pid means nothing here
    make_run(tmp_path, "unlocked", status="running", started="2026-11-23T13:00:00+00:00")
    old_format = make_run(tmp_path, "old", status="running", started="2026-11-23T14:00:00+00:00")
    (old_format / ".lock").write_text(f"{gone.pid}\n")  # written before the host was: cannot tell
    stopped = make_run(tmp_path, "stopped", status="stopped", started="2026-11-23T15:00:00+00:00")
    (stopped / ".lock").write_text(f"{gone.pid} {host}\n")  # ended properly: its lock file stays

    states = {entry.run: entry.state for entry in list_runs(tmp_path)}
    holder.release()
    assert states == {
        "live": "running", "killed": "interrupted", "elsewhere": "running", "unlocked": "running",
        "old": "running", "stopped": "stopped",
        # Linux lists every flock: a pid that lives again (after a reboot) is no writer there
        "reused": "interrupted" if Path("/proc/locks").is_file() else "running",
    }
    assert {e.run: e.to_dict()["state"] for e in list_runs(tmp_path)}["killed"] == "interrupted"
    assert {e.run: e.get("status") for e in list_runs(tmp_path)}["killed"] == "running", "the summary is as written"


@pytest.mark.skipif(sys.platform == "win32", reason="runs are not locked on Windows (no flock)")
def test_the_lock_names_its_writer_and_host(tmp_path: Path) -> None:
    lock = RunLock.acquire(tmp_path)
    try:
        assert (tmp_path / ".lock").read_text().split() == [str(os.getpid()), socket.gethostname()]
        assert writer_alive(tmp_path) is True
        with pytest.raises(RunBusy) as refused:  # a second writer is refused, naming the first
            lock_again = RunLock.acquire(tmp_path)
            lock_again.release()
        assert refused.value.pid == os.getpid()
    finally:
        lock.release()


def test_the_fast_check_of_a_config_accepts_only_what_tomllib_parses() -> None:
    """Listing checks each config.toml: lines as config_to_toml writes them pass at once, the rest go to tomllib."""
    import random
    import tomllib

    from mnist_tui.engine import catalog
    from mnist_tui.engine.presets import config_to_toml, list_presets, load_preset

    assert all(catalog._plainly_toml(config_to_toml(load_preset(name))) for name in list_presets())
    for bad in ("x = 007\n", "x = 00.5\n", "# a\x00b\n", "x = [1, 2\n", 'x = "a\\"\n', "lr = 1\nlr = 2\n"):
        assert not catalog._plainly_toml(bad), bad
    pieces = ["a", "_", "=", " ", '"', "[", "]", ",", "1", "0", "-", ".", "e", "+", "#", "\n", "true", "x"]
    chance = random.Random(0)
    accepted = 0
    for _ in range(30_000):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 14)))
        if catalog._plainly_toml(text):
            tomllib.loads(text)  # never raises: what passes the fast check is TOML
            accepted += 1
    assert accepted > 500


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("x" * 5_000_000, "name is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (5,000,002 characters), not a run name"),
        ("x" * 65, "name is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (67 characters), not a run name"),
        ("", "name is '', not a run name (1 to 64 characters)"),
        (7, "name is 7, not a run name"),
    ],
    ids=["5,000,000 characters", "65 characters", "empty", "a number"],
)
def test_a_name_the_engine_cannot_write_damages_the_run(tmp_path: Path, name: object, shown: str) -> None:
    """A 5,000,000-character name was sound, and padded every row of ``mnist-tui runs`` to its width."""
    entry = read_entry(make_run(tmp_path, "r", name=name))
    assert entry.state == "damaged" and shown in entry.damage, entry.damage[:200]
    assert len(entry.damage) < 200


@pytest.mark.parametrize("name", ["x" * 64, "smoke", "a.b_c-9", "a\nb", None])
def test_a_name_no_longer_than_the_engine_writes_is_sound_whatever_its_characters(tmp_path: Path, name: str | None) -> None:
    assert read_entry(make_run(tmp_path, "r", name=name)).damage is None
