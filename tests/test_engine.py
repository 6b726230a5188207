"""The engine's event stream on the smoke preset: order, run ids, stopping, determinism, exact resume, failures."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch

from mnist_tui.engine.config import Config, ConfigError
from mnist_tui.engine.data import DataError
from mnist_tui.engine.events import (
    BatchReported,
    CheckpointSaved,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesPredicted,
    Terminal,
    event_from_dict,
)
from mnist_tui.engine.presets import load_config_file
from mnist_tui.engine import data as data_module
from mnist_tui.engine import train as train_module
from mnist_tui.engine.train import resume_training, run_training
from mnist_tui.engine.trainer import Trainer

Train = Callable[..., list[Event]]


def kinds(events: list[Event]) -> str:
    return " ".join(f"{e.kind}:{e.which}" if isinstance(e, CheckpointSaved) else e.kind for e in events)


def of(kind: type, events: list[Event]) -> list:
    return [e for e in events if isinstance(e, kind)]


def losses(events: list[Event]) -> list[tuple[int, float]]:
    return [(e.step, e.loss) for e in of(BatchReported, events)]


def epoch_numbers(events: list[Event]) -> list[tuple]:
    """Everything an epoch end measured except its timing."""
    return [
        (e.epoch, e.train_loss, e.train_accuracy, e.eval_loss, e.eval_accuracy, e.best_epoch, e.best_accuracy)
        for e in of(EpochEnded, events)
    ]


def stop_when(events: Iterator[Event], condition: Callable[[Event], bool], flag: threading.Event) -> list[Event]:
    """Consume ``events``, setting ``flag`` (the run's stop flag) right after the first event that matches."""
    seen = []
    for event in events:
        seen.append(event)
        if condition(event):
            flag.set()
    return seen


# --- the stream -----------------------------------------------------------------------------


def test_events_come_in_order_and_end_with_one_terminal_event(train: Train, tiny: Config) -> None:
    events = train(tiny)
    epoch = r"( batch)+ epoch confusion mistakes weights layers samples( checkpoint:best)? checkpoint:last"
    # The first checkpoint comes before any batch: a run is resumable from its first batch.
    assert re.fullmatch(rf"run_started samples checkpoint:last{epoch}{epoch} finished", kinds(events)), kinds(events)
    assert [isinstance(e, Terminal) for e in events].count(True) == 1
    assert [e.epoch for e in of(SamplesPredicted, events)] == [0, 1, 2]


def test_every_event_carries_the_run_id_of_its_folder(train: Train, tiny: Config) -> None:
    events = train(tiny)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert {e.run_id for e in events} == {started.run_id}
    assert started.run_dir is not None and Path(started.run_dir).name == started.run_id
    assert started.run_id.startswith("smoke-")


def test_batch_reports_count_steps_consistently(train: Train, tiny: Config) -> None:
    events = train(tiny)
    started = events[0]
    assert (started.train_size, started.eval_size, started.steps_per_epoch) == (2000, 1000, 32)
    batches = of(BatchReported, events)
    # A report every 5 batches and at each epoch's end: 5, 10, ..., 30, 32 in each epoch.
    assert [b.epoch_step for b in batches] == [5, 10, 15, 20, 25, 30, 32] * 2
    assert all(b.step == (b.epoch - 1) * 32 + b.epoch_step for b in batches)
    assert all(b.steps_per_epoch == 32 and b.lr == tiny.lr and b.loss > 0 for b in batches)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.epochs_completed == 2
    checkpoints = of(CheckpointSaved, events)
    assert [(c.epoch, c.step) for c in checkpoints if c.which == "last"] == [(0, 0), (1, 32), (2, 64)]


def test_the_epoch_ends_and_the_finish_agree(train: Train, tiny: Config) -> None:
    events = train(tiny)
    ended = of(EpochEnded, events)
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    best = max(ended, key=lambda e: e.eval_accuracy)
    assert finished.final_accuracy == ended[-1].eval_accuracy
    assert (finished.best_accuracy, finished.best_epoch) == (best.eval_accuracy, best.epoch)
    assert ended[-1].best_accuracy == best.eval_accuracy
    assert finished.train_seconds == round(sum(e.seconds for e in ended), 3)
    assert all(0 < e.eval_accuracy <= 100 and 0 < e.train_accuracy <= 100 for e in ended)
    assert ended[-1].eval_accuracy > 50, "two epochs of the smoke preset learn something"


def test_samples_show_the_gallery_digits_with_predictions(train: Train, tiny: Config) -> None:
    samples = of(SamplesPredicted, train(tiny))
    first = samples[0]
    assert len(first.images) == tiny.gallery_size and all(len(image) == 784 for image in first.images)
    assert list(first.labels) == list(range(10))
    assert all(0 <= p <= 9 for p in first.predictions) and all(0 < c <= 1 for c in first.confidences)
    assert all(s.images == first.images and s.labels == first.labels for s in samples)


def test_events_are_frozen_and_round_trip_through_json(train: Train, tiny: Config) -> None:
    for event in train(tiny):
        assert event_from_dict(json.loads(event.to_json())) == event
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.run_id = "other"  # type: ignore[misc]


def test_no_runs_dir_writes_nothing(train: Train, tiny: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    events = train(tiny, runs_dir=None)
    assert isinstance(events[-1], RunFinished)
    assert events[0].run_dir is None
    assert not of(CheckpointSaved, events)
    assert list(tmp_path.iterdir()) == []


# --- stopping -------------------------------------------------------------------------------


def test_a_stop_is_honoured_after_the_batch_in_progress(data_dir: Path, tiny: Config, tmp_path: Path) -> None:
    """The consumer sets the flag on the first report: no further batch runs."""
    flag = threading.Event()
    events = stop_when(
        run_training(tiny, data_dir=data_dir, runs_dir=tmp_path, stop=flag),
        lambda e: isinstance(e, BatchReported),
        flag,
    )
    assert kinds(events) == "run_started samples checkpoint:last batch checkpoint:last stopped"
    batch, checkpoint, stopped = events[-3:]
    assert isinstance(stopped, RunStopped)
    assert (stopped.epoch, stopped.step, stopped.epochs_completed) == (1, batch.step, 0)
    assert (checkpoint.epoch, checkpoint.step) == (0, batch.step)


@pytest.mark.parametrize("calls", [2, 3, 9, 30])
def test_a_flag_that_sets_itself_stops_mid_epoch(train: Train, tiny: Config, stop_after, calls: int) -> None:
    flag = stop_after(calls)
    events = train(tiny, stop=flag)
    stopped = events[-1]
    assert isinstance(stopped, RunStopped) and stopped.epochs_completed == 0 and stopped.epoch == 1
    assert 1 <= stopped.step <= calls < 32, "a step polls the flag: no more steps than polls"
    assert of(BatchReported, events)[-1].step == stopped.step
    assert of(CheckpointSaved, events)[-1].step == stopped.step
    assert not of(EpochEnded, events)


def test_a_run_stopped_in_its_first_epoch_records_its_training_time(
    data_dir: Path, tiny: Config, tmp_path: Path, stop_after
) -> None:
    """QA: stopped after 3,000 steps of its first epoch, a run's summary said 0 s of training."""
    events = list(run_training(tiny, data_dir=data_dir, runs_dir=tmp_path, stop=stop_after(20)))
    assert isinstance(events[-1], RunStopped) and events[-1].epochs_completed == 0
    (folder,) = tmp_path.iterdir()
    seconds = json.loads((folder / "summary.json").read_text())["train_seconds"]
    kept = torch.load(folder / "last.pt", weights_only=True)["partial"]["seconds"]
    assert seconds > 0 and seconds == round(kept, 3), "the time last.pt keeps, which a resume goes on from"


def test_a_stop_at_an_epoch_end_stops_before_the_next_epoch(data_dir: Path, tiny: Config, tmp_path: Path) -> None:
    flag = threading.Event()
    events = stop_when(
        run_training(tiny.replace(epochs=3), data_dir=data_dir, runs_dir=tmp_path, stop=flag),
        lambda e: isinstance(e, EpochEnded),
        flag,
    )
    stopped = events[-1]
    assert isinstance(stopped, RunStopped)
    assert (stopped.epoch, stopped.step, stopped.epochs_completed) == (1, 32, 1)
    assert of(BatchReported, events)[-1].step == 32


# --- determinism and exact resume -----------------------------------------------------------


def test_the_same_seed_gives_the_same_losses(train: Train, tiny: Config) -> None:
    first, second = train(tiny, runs_dir=None), train(tiny, runs_dir=None)
    assert losses(first) == losses(second)
    assert epoch_numbers(first) == epoch_numbers(second)


def test_another_seed_gives_other_losses(train: Train, tiny: Config) -> None:
    first, other = losses(train(tiny, runs_dir=None)), losses(train(tiny.replace(seed=1), runs_dir=None))
    assert [step for step, _ in first] == [step for step, _ in other]
    assert all(a != b for (_, a), (_, b) in zip(first, other))


RESUMABLE = {
    "adam": {},
    "sgd-bn-dropout-step": {
        "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "batch_norm": True,
        "dropout": 0.3, "schedule": "step", "step_epochs": 1, "gamma": 0.5,
    },
    "rmsprop-cosine": {"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.5, "schedule": "cosine", "hidden": (32, 16)},
    # The CPU step folds these gradients into the momentum buffers (engine/mlp_step.py).
    "sgd-momentum-sigmoid-step": {
        "optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "activation": "sigmoid", "schedule": "step", "step_epochs": 1,
    },
    "adamw-gelu-dropout": {"optimizer": "adamw", "lr": 0.003, "weight_decay": 0.01, "activation": "gelu", "dropout": 0.2},
}


@pytest.fixture(params=sorted(RESUMABLE))
def resumable(request: pytest.FixtureRequest, tiny: Config, train: Train) -> tuple[Config, list[Event]]:
    """A three-epoch config and its events trained straight through (no run folder)."""
    config = tiny.replace(epochs=3, **RESUMABLE[request.param])
    return config, train(config, runs_dir=None)


class StopSoonAfter:
    """A stop flag whose ``set()`` only starts a countdown: ``is_set()`` turns true on its ``polls``-th call after."""

    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.left: int | None = None

    def set(self) -> None:
        self.left = self.polls

    def is_set(self) -> bool:
        if self.left is None:
            return False
        self.left -= 1
        return self.left <= 0


def stopped_then_resumed(
    data_dir: Path,
    runs_dir: Path,
    config: Config,
    *,
    when: Callable[[Event], bool] | None = None,
    flag: object = None,
) -> tuple[list[Event], list[Event]]:
    """Train until stopped (by ``flag``, or by the consumer once an event matches ``when``), then resume."""
    flag = flag or threading.Event()
    events = run_training(config, data_dir=data_dir, runs_dir=runs_dir, stop=flag)
    first = stop_when(events, when, flag) if when else list(events)
    assert isinstance(first[-1], RunStopped), kinds(first)
    second = list(resume_training(first[0].run_dir, data_dir=data_dir))
    assert isinstance(second[-1], RunFinished), kinds(second)
    return first, second


def test_resume_at_a_report_continues_exactly(data_dir: Path, tmp_path: Path, resumable) -> None:
    """Stopped on the second report of epoch 2 and resumed: every loss, accuracy and the end are the same."""
    config, straight = resumable
    first, second = stopped_then_resumed(
        data_dir, tmp_path, config, when=lambda e: isinstance(e, BatchReported) and e.step == 42
    )
    assert first[-1].step == 42
    assert second[0].start_epoch == 1 and second[0].start_step == 10
    assert losses(first) + losses(second) == losses(straight)
    assert epoch_numbers(first) + epoch_numbers(second) == epoch_numbers(straight)
    assert second[-1].final_accuracy == straight[-1].final_accuracy
    assert second[-1].best_accuracy == straight[-1].best_accuracy


def test_resume_between_reports_continues_exactly(data_dir: Path, tmp_path: Path, resumable) -> None:
    """Stopped a few batches into a report interval: that interval is reported in two parts, all else is equal."""
    config, straight = resumable
    first, second = stopped_then_resumed(
        data_dir, tmp_path, config, flag=StopSoonAfter(3), when=lambda e: isinstance(e, BatchReported) and e.step == 37
    )
    cut = first[-1].step
    assert 37 < cut < 42, "the stop falls inside the second report interval of epoch 2"
    assert losses(first)[:-1] + losses(second)[1:] == [x for x in losses(straight) if x[0] != 42]
    # The interval split at ``cut`` is reported in two parts whose means weigh up to the straight one.
    before, (after_step, after) = losses(first)[-1][1], losses(second)[0]
    assert after_step == 42
    weighted = ((cut - 37) * before + (42 - cut) * after) / 5
    assert weighted == pytest.approx(dict(losses(straight))[42], rel=1e-6)
    assert epoch_numbers(first) + epoch_numbers(second) == epoch_numbers(straight)
    assert second[-1].final_accuracy == straight[-1].final_accuracy


@pytest.mark.parametrize("moment", ["before the first batch", "at the end of epoch 1"])
def test_resume_from_an_epoch_boundary_continues_exactly(
    data_dir: Path, tmp_path: Path, tiny: Config, train: Train, stop_after, moment: str
) -> None:
    """Ctrl+C during start-up (the flag is set before any batch) or right after an epoch end."""
    config = tiny.replace(epochs=2, dropout=0.2)
    straight = train(config, runs_dir=None)
    if moment.startswith("before"):
        first, second = stopped_then_resumed(data_dir, tmp_path, config, flag=stop_after(1))
    else:
        first, second = stopped_then_resumed(data_dir, tmp_path, config, when=lambda e: isinstance(e, EpochEnded))
    assert first[-1].step == (0 if moment.startswith("before") else 32)
    assert losses(first) + losses(second) == losses(straight)
    assert epoch_numbers(first) + epoch_numbers(second) == epoch_numbers(straight)


def test_a_resumed_run_appends_to_its_folder(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    first, second = stopped_then_resumed(data_dir, tmp_path, tiny, when=lambda e: isinstance(e, EpochEnded))
    run_dir = Path(first[0].run_dir)
    assert {e.run_id for e in second} == {run_dir.name}
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    # The resume continues from the last checkpoint: what was logged after it (the stop) is dropped.
    assert isinstance(first[-1], RunStopped) and isinstance(first[-2], CheckpointSaved)
    assert logged == [e.to_dict() for e in first[:-1] + second]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("finished", 2)
    assert summary["final_test_accuracy"] == second[-1].final_accuracy


@pytest.mark.parametrize("summary_lost", [False, True], ids=["summary kept", "summary deleted"])
def test_a_summary_is_written_at_the_start_and_a_resume_keeps_its_preset_and_start(
    data_dir: Path, tmp_path: Path, tiny: Config, monkeypatch: pytest.MonkeyPatch, summary_lost: bool
) -> None:
    """A listing sees a run before its first epoch; the resumed summary still names the preset and first start.

    A deleted summary is rebuilt from the log, whose ``run_started`` events carry both.
    """
    flag = threading.Event()
    events = run_training(tiny, data_dir=data_dir, runs_dir=tmp_path, stop=flag, preset="smoke")
    started = next(events)
    run_dir = Path(started.run_dir)
    at_start = json.loads((run_dir / "summary.json").read_text())
    assert (at_start["status"], at_start["preset"], at_start["epochs"], at_start["epochs_completed"]) == (
        "running", "smoke", 2, 0
    )
    assert (started.preset, started.started) == ("smoke", at_start["started"])
    flag.set()
    assert isinstance(list(events)[-1], RunStopped)
    if summary_lost:
        (run_dir / "summary.json").unlink()
    monkeypatch.setattr(train_module, "_iso_time", lambda seconds: "2099-01-01T00:00:00+00:00")  # "now", if asked
    assert list(resume_training(run_dir, data_dir=data_dir, epochs=3))[-1].status == "finished"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["preset"], summary["started"], summary["epochs"]) == ("smoke", at_start["started"], 3)


@pytest.mark.parametrize("epochs", [None, 2], ids=["finished trial, nothing to train", "more epochs"])
def test_a_resume_keeps_a_sweep_trials_entry(
    data_dir: Path, tmp_path: Path, train: Train, tiny: Config, epochs: int | None
) -> None:
    """``--resume`` of a sweep trial's folder dropped the ``sweep`` entry the sweep wrote into its summary."""
    from mnist_tui.engine.trial import record_in_summary

    done = train(tiny.replace(epochs=1), runs_dir=tmp_path)
    run_dir = Path(done[0].run_dir)
    sweep = {"study": "s", "trial": 3, "state": "complete", "outcome": "complete", "params": {"lr": 0.01}}
    record_in_summary(run_dir, sweep)
    ended = list(resume_training(run_dir, data_dir=data_dir, epochs=epochs))[-1]
    assert isinstance(ended, RunFinished if epochs else RunFailed)  # a finished run is refused, and kept as it was
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["sweep"] == sweep
    assert summary["epochs_completed"] == (epochs or 1)


def test_resume_with_more_epochs_trains_up_to_them(data_dir: Path, tmp_path: Path, train: Train, tiny: Config) -> None:
    one = tiny.replace(epochs=1)
    done = train(one, runs_dir=tmp_path)
    more = list(resume_training(done[0].run_dir, data_dir=data_dir, epochs=2))
    assert isinstance(more[-1], RunFinished) and more[-1].epochs_completed == 2
    assert losses(done) + losses(more) == losses(train(tiny, runs_dir=None))


def test_a_resume_to_fewer_epochs_than_done_is_refused_and_changes_nothing(
    data_dir: Path, tmp_path: Path, train: Train, tiny: Config
) -> None:
    """``--resume RUN --epochs 1`` after 2 epochs wrote epochs = 1 beside epochs_completed = 2."""
    done = train(tiny.replace(epochs=2), runs_dir=tmp_path)
    run_dir = Path(done[0].run_dir)
    before = {name: (run_dir / name).read_bytes() for name in ("config.toml", "summary.json", "events.jsonl")}
    (refused,) = list(resume_training(run_dir, data_dir=data_dir, epochs=1))
    assert isinstance(refused, RunFailed) and refused.reason == "checkpoint"
    assert refused.error == "--epochs 1 is fewer than the 2 epochs the run has done; a resume trains up to N epochs"
    assert {name: (run_dir / name).read_bytes() for name in before} == before


def test_a_raised_epoch_count_is_kept_for_the_next_resume(data_dir: Path, tmp_path: Path, train: Train, tiny: Config) -> None:
    """``--resume RUN --epochs 3``, Ctrl+C, then a plain ``--resume RUN`` still trains up to 3 epochs."""
    done = train(tiny.replace(epochs=1), runs_dir=tmp_path)
    run_dir = done[0].run_dir
    flag = threading.Event()
    raised = stop_when(
        resume_training(run_dir, data_dir=data_dir, stop=flag, epochs=3),
        lambda e: isinstance(e, BatchReported) and e.epoch == 2,
        flag,
    )
    assert isinstance(raised[-1], RunStopped)
    assert load_config_file(Path(run_dir) / "config.toml") == tiny.replace(epochs=3)
    rest = list(resume_training(run_dir, data_dir=data_dir))
    assert isinstance(rest[-1], RunFinished) and rest[-1].epochs_completed == 3
    straight = train(tiny.replace(epochs=3), runs_dir=None)
    assert losses(done) + losses(raised) + losses(rest) == losses(straight)


# --- the data folder a resume reads -----------------------------------------------------------


@pytest.fixture
def no_default_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ``$MNIST_TUI_DATA`` and an empty cache folder: the default data folder (returned) has no
    MNIST, and a download into it is refused with a DataError (tests never go to the network)."""
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def refuse(root: Path, dataset: str, raw: Path, missing: list[str]) -> None:
        raise DataError(f"{dataset} files missing in {raw} (a test never downloads)")

    monkeypatch.setattr(data_module, "_download", refuse)
    return tmp_path / "cache" / "mnist-tui"


def record_data_dir_as(monkeypatch: pytest.MonkeyPatch, folder: str | None) -> None:
    """Runs record ``folder`` as their data folder, in their log's ``run_started`` and in their
    summary (None: neither names one, as in runs written before they did); the events they yield
    are unchanged."""
    to_dict = RunStarted.to_dict
    summarize = train_module.summarize

    def logged(event: RunStarted) -> dict:
        written = {key: value for key, value in to_dict(event).items() if key != "data_dir"}
        return written if folder is None else {**written, "data_dir": folder}

    def summarized(*args: object, **kwargs: object) -> dict:
        written = {key: value for key, value in summarize(*args, **kwargs).items() if key != "data_dir"}
        return written if folder is None else {**written, "data_dir": folder}

    monkeypatch.setattr(RunStarted, "to_dict", logged)
    monkeypatch.setattr(train_module, "summarize", summarized)


def stopped_at_once(train: Train, tiny: Config, stop_after) -> Path:
    """A run folder stopped before its first batch: its log, config and checkpoint, quickly."""
    events = train(tiny, stop=stop_after(1))
    assert isinstance(events[-1], RunStopped)
    return Path(events[0].run_dir)


def test_a_resume_reads_the_data_folder_the_run_recorded(
    data_dir: Path, train: Train, tiny: Config, stop_after, no_default_data: Path
) -> None:
    """``--resume RUN`` looked in the default folder (and tried to download there), not where the run trained."""
    run_dir = stopped_at_once(train, tiny, stop_after)
    logged = json.loads((run_dir / "events.jsonl").read_text().splitlines()[0])
    assert logged["event"] == "run_started" and logged["data_dir"] == str(data_dir)
    resumed = list(resume_training(run_dir, stop=stop_after(1)))
    assert isinstance(resumed[-1], RunStopped), resumed[-1]
    assert resumed[0].data_dir == str(data_dir)


def test_a_run_killed_before_its_first_checkpoint_resumes_from_its_data_folder(
    data_dir: Path, tiny: Config, tmp_path: Path, stop_after, no_default_data: Path
) -> None:
    """Its log's run_started was its only record of the folder, and a resume drops what was logged
    after the last checkpoint (here: all of it): it read the default folder. Closing the engine
    after run_started leaves the folder as a kill there would (the kill tests do it for real)."""
    events = run_training(tiny, data_dir=data_dir, runs_dir=tmp_path / "runs")
    started = next(events)
    events.close()
    assert isinstance(started, RunStarted)
    run_dir = Path(started.run_dir)
    assert not (run_dir / "last.pt").exists()
    assert json.loads((run_dir / "summary.json").read_text())["data_dir"] == str(data_dir)
    resumed = list(resume_training(run_dir, stop=stop_after(1)))
    assert isinstance(resumed[-1], RunStopped), resumed[-1]
    assert resumed[0].data_dir == str(data_dir)


@pytest.mark.parametrize(
    "recorded", [None, "gone", "emptied"],
    ids=["run written before the field", "recorded folder gone", "recorded folder without the data"],
)
def test_a_resume_without_a_usable_recorded_folder_reads_the_default_one(
    train: Train, tiny: Config, stop_after, no_default_data: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, recorded: str | None,
) -> None:
    """A folder that no longer holds the data (or a copied run's path on another machine) is not
    where a resume downloads to: the default folder is, as before runs recorded one."""
    record_data_dir_as(monkeypatch, recorded and str(tmp_path / recorded))
    if recorded == "emptied":
        (tmp_path / recorded).mkdir()
    run_dir = stopped_at_once(train, tiny, stop_after)
    (failed,) = resume_training(run_dir)
    assert isinstance(failed, RunFailed) and failed.reason == "data"
    assert f"files missing in {no_default_data / 'MNIST' / 'raw'}" in failed.error


def test_a_given_data_folder_and_the_environment_win_over_the_recorded_one(
    train: Train, tiny: Config, stop_after, no_default_data: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"  # exists, without MNIST
    elsewhere.mkdir()
    run_dir = stopped_at_once(train, tiny, stop_after)  # it records data_dir, which holds MNIST
    missing = f"files missing in {elsewhere / 'MNIST' / 'raw'}"
    (failed,) = resume_training(run_dir, data_dir=elsewhere)
    assert isinstance(failed, RunFailed) and missing in failed.error
    monkeypatch.setenv("MNIST_TUI_DATA", str(elsewhere))
    (failed,) = resume_training(run_dir)
    assert isinstance(failed, RunFailed) and missing in failed.error
    monkeypatch.delenv("MNIST_TUI_DATA")
    assert isinstance(list(resume_training(run_dir, stop=stop_after(1)))[-1], RunStopped)


def test_a_given_run_id_names_the_folder_and_tags_every_event(train: Train, tiny: Config, data_dir: Path, tmp_path: Path) -> None:
    events = list(run_training(tiny.replace(epochs=1), data_dir=data_dir, runs_dir=tmp_path, run_id="mine-1"))
    assert {e.run_id for e in events} == {"mine-1"}
    assert isinstance(events[-1], RunFinished) and (tmp_path / "mine-1" / "last.pt").is_file()


# --- how runs end otherwise -----------------------------------------------------------------


def test_an_absurd_learning_rate_diverges_and_names_the_step(train: Train, tiny: Config, tmp_path: Path) -> None:
    events = train(tiny.replace(optimizer="sgd", lr=1e6))
    diverged = events[-1]
    assert isinstance(diverged, RunDiverged)
    last_report = of(BatchReported, events)[-1]
    assert 1 <= diverged.step <= last_report.step
    assert not diverged.loss <= tiny.diverge_above
    assert not of(EpochEnded, events)
    summary = json.loads((Path(events[0].run_dir) / "summary.json").read_text())
    assert summary["status"] == "diverged"


def test_a_low_divergence_threshold_counts_as_diverged(train: Train, tiny: Config) -> None:
    events = train(tiny.replace(diverge_above=0.5), runs_dir=None)
    assert isinstance(events[-1], RunDiverged) and events[-1].step == 1


def test_a_missing_data_folder_fails_before_anything_is_written(data_dir: Path, tiny: Config, tmp_path: Path) -> None:
    events = list(run_training(tiny, data_dir=tmp_path / "nowhere", runs_dir=tmp_path / "runs"))
    assert kinds(events) == "failed"
    assert events[0].reason == "data" and "nowhere does not exist" in events[0].error
    assert not (tmp_path / "runs").exists()


def test_a_batch_larger_than_the_data_with_drop_last_is_a_config_error(tiny: Config) -> None:
    """Refused by the config itself, before any data loads (the form, --set and sweeps say it too)."""
    with pytest.raises(ConfigError, match="batch_size 5000 with drop_last leaves no batch of the 2,000 training digits"):
        tiny.replace(batch_size=5000, drop_last=True)


def test_a_runs_dir_that_cannot_be_created_is_a_config_error(data_dir: Path, tiny: Config, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    events = list(run_training(tiny, data_dir=data_dir, runs_dir=blocker / "runs"))
    assert kinds(events) == "failed"
    assert events[0].reason == "config" and str(blocker / "runs") in events[0].error


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_an_unavailable_device_is_a_config_error(data_dir: Path, tiny: Config, tmp_path: Path) -> None:
    events = list(run_training(tiny.replace(device="cuda"), data_dir=data_dir, runs_dir=tmp_path))
    assert kinds(events) == "failed" and events[0].reason == "config"
    assert "PyTorch sees no CUDA GPU" in events[0].error


def test_an_error_during_training_is_the_terminal_event_with_the_traceback_kept(
    train: Train, tiny: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Trainer) -> tuple[float, float]:
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(Trainer, "evaluate", broken)
    events = train(tiny)
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert (failed.reason, failed.error) == ("error", "RuntimeError: evaluation broke")
    run_dir = Path(events[0].run_dir)
    assert "evaluation broke" in (run_dir / "traceback.txt").read_text()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"


def test_resuming_a_missing_or_corrupt_run_is_a_checkpoint_failure(
    data_dir: Path, train: Train, tiny: Config, tmp_path: Path
) -> None:
    (missing,) = resume_training(tmp_path / "no-such-run", data_dir=data_dir)
    assert isinstance(missing, RunFailed) and missing.reason == "checkpoint"
    assert "no-such-run does not exist" in missing.error

    run_dir = Path(train(tiny.replace(epochs=1))[0].run_dir)
    (run_dir / "last.pt").write_bytes(b"garbage" * 100)
    (corrupt,) = resume_training(run_dir, data_dir=data_dir)
    assert isinstance(corrupt, RunFailed) and corrupt.reason == "checkpoint"
    assert f"{run_dir / 'last.pt'} is corrupt" in corrupt.error


def test_a_checkpoint_that_does_not_fit_the_config_is_a_checkpoint_failure(
    data_dir: Path, train: Train, tiny: Config
) -> None:
    run_dir = Path(train(tiny.replace(epochs=1))[0].run_dir)
    config = (run_dir / "config.toml").read_text().replace("hidden = [64]", "hidden = [32]")
    (run_dir / "config.toml").write_text(config)
    events = list(resume_training(run_dir, data_dir=data_dir))
    assert kinds(events) == "failed"
    assert events[0].reason == "checkpoint" and "does not fit" in events[0].error
