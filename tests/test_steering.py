"""Steering a run through the engine's inbox: setting changes, pause, single steps, stop and predictions."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from mnist_tui.engine.commands import Inbox
from mnist_tui.engine.config import Config
from mnist_tui.engine.events import (
    BatchReported,
    CheckpointSaved,
    CommandAnswered,
    DigitPredicted,
    EpochEnded,
    Event,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    SettingsChanged,
    Terminal,
)
from mnist_tui.engine.predictor import load_predictor
from mnist_tui.engine.presets import load_config_file
from mnist_tui.engine.steering import describe_step
from mnist_tui.engine.train import resume_training, run_training

React = Callable[[Event, Inbox], None]


def steered(events: Iterator[Event], inbox: Inbox, react: React) -> list[Event]:
    """Consume ``events``, letting ``react`` put commands into ``inbox`` after each one (as a UI would)."""
    seen = []
    for event in events:
        seen.append(event)
        react(event, inbox)
    return seen


def of(kind: type, events: list[Event]) -> list:
    return [e for e in events if isinstance(e, kind)]


def answers(events: list[Event]) -> dict[str, CommandAnswered]:
    return {e.command_id: e for e in of(CommandAnswered, events)}


def losses(events: list[Event]) -> list[tuple[int, float]]:
    return [(e.step, e.loss) for e in of(BatchReported, events)]


def at_step(step: int, kind: type = BatchReported) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, kind) and e.step == step


def once(condition: Callable[[Event], bool], command: str, values: dict | None = None, ids: list | None = None) -> React:
    """Put ``command`` the first time an event matches ``condition`` (its id goes into ``ids``)."""
    done = []

    def react(event: Event, inbox: Inbox) -> None:
        if not done and condition(event):
            done.append(True)
            command_id = inbox.put(command, values)
            if ids is not None:
                ids.append(command_id)

    return react


def all_of(*reactions: React) -> React:
    def react(event: Event, inbox: Inbox) -> None:
        for each in reactions:
            each(event, inbox)

    return react


@pytest.fixture
def adam(tiny: Config) -> Config:
    return tiny.replace(lr=0.001)


# --- changing settings ----------------------------------------------------------------------


def test_an_lr_change_takes_effect_at_its_step_and_a_resume_keeps_it(
    data_dir: Path, tmp_path: Path, adam: Config
) -> None:
    inbox = Inbox()
    ids: list[str] = []
    stop = threading.Event()
    react = all_of(
        once(at_step(5), "set", {"lr": 0.0001}, ids),
        lambda e, _: stop.set() if at_step(42)(e) else None,
    )
    first = steered(run_training(adam, data_dir=data_dir, runs_dir=tmp_path, stop=stop, inbox=inbox), inbox, react)
    (changed,) = of(SettingsChanged, first)
    assert (changed.epoch, changed.step, changed.changes, changed.source) == (1, 5, {"lr": [0.001, 0.0001]}, "inbox")
    answer = answers(first)[ids[0]]
    assert answer.accepted and answer.command == "set" and "lr 0.001 -> 0.0001 after epoch 1, step 5" in answer.message
    batches = of(BatchReported, first)
    assert [b.lr for b in batches if b.step <= 5] == [0.001]
    assert {b.lr for b in batches if b.step > 5} == {0.0001}
    assert isinstance(first[-1], RunStopped) and first[-1].step == 42

    run_dir = Path(first[0].run_dir)
    assert load_config_file(run_dir / "config.toml").lr == 0.001, "config.toml keeps the run's starting config"
    second = list(resume_training(run_dir, data_dir=data_dir))
    assert isinstance(second[-1], RunFinished)
    assert second[0].config["lr"] == 0.0001, "the resumed run starts with the changed value"
    assert {b.lr for b in of(BatchReported, second)} == {0.0001}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["changes"] == [{"epoch": 1, "step": 5, "changes": {"lr": [0.001, 0.0001]}, "source": "inbox"}]
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e for e in logged if e["event"] == "changed"] == [changed.to_dict()]

    # The same change without the stop trains the same numbers: the change is all in last.pt.
    again = Inbox()
    straight = steered(run_training(adam, data_dir=data_dir, runs_dir=None, inbox=again), again, once(at_step(5), "set", {"lr": 0.0001}))
    assert losses(first) + losses(second) == losses(straight)


CHANGES = {
    # The CPU step folds plain momentum SGD into its buffers; weight decay must end the folding.
    "sgd-momentum+weight_decay": ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}, {"weight_decay": 0.01}),
    # Momentum from nothing: the buffers must be created in the optimizer's own state.
    "sgd+momentum": ({"optimizer": "sgd", "lr": 0.05}, {"momentum": 0.5}),
    "rmsprop-momentum": ({"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.5}, {"momentum": 0.0, "lr": 0.002}),
    "adamw-weight_decay": ({"optimizer": "adamw", "lr": 0.003}, {"weight_decay": 0.05}),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_changed_run_resumes_exactly(data_dir: Path, tmp_path: Path, tiny: Config, name: str) -> None:
    """Changed at step 5, stopped at 42, resumed: the numbers of the run changed at 5 and never stopped."""
    settings, change = CHANGES[name]
    config = tiny.replace(**settings)
    inbox = Inbox()
    straight = steered(run_training(config, data_dir=data_dir, runs_dir=None, inbox=inbox), inbox, once(at_step(5), "set", change))
    assert set(of(SettingsChanged, straight)[0].changes) == set(change)

    inbox, stop = Inbox(), threading.Event()
    react = all_of(once(at_step(5), "set", change), lambda e, _: stop.set() if at_step(42)(e) else None)
    first = steered(run_training(config, data_dir=data_dir, runs_dir=tmp_path, stop=stop, inbox=inbox), inbox, react)
    second = list(resume_training(first[0].run_dir, data_dir=data_dir))
    assert losses(first) + losses(second) == losses(straight)
    assert second[-1].final_accuracy == straight[-1].final_accuracy


def test_with_a_schedule_an_lr_change_rescales_its_base(data_dir: Path, tmp_path: Path, tiny: Config) -> None:
    config = tiny.replace(optimizer="sgd", lr=0.01, schedule="step", step_epochs=1, gamma=0.5, epochs=3)
    inbox, stop = Inbox(), threading.Event()
    react = all_of(once(at_step(5), "set", {"lr": 0.001}), lambda e, _: stop.set() if isinstance(e, EpochEnded) else None)
    first = steered(run_training(config, data_dir=data_dir, runs_dir=tmp_path, stop=stop, inbox=inbox), inbox, react)
    assert {b.lr for b in of(BatchReported, first) if b.step > 5} == {0.001}
    second = list(resume_training(first[0].run_dir, data_dir=data_dir))
    assert second[0].config["lr"] == 0.001, "the schedule's base, rescaled"
    by_epoch = {(b.epoch, round(b.lr, 12)) for b in of(BatchReported, second)}
    assert by_epoch == {(2, 0.0005), (3, 0.00025)}


def test_cosine_goes_on_from_the_changed_rate(data_dir: Path, tiny: Config) -> None:
    config = tiny.replace(optimizer="sgd", lr=0.01, schedule="cosine", epochs=2)
    inbox = Inbox()
    events = steered(run_training(config, data_dir=data_dir, runs_dir=None, inbox=inbox), inbox, once(at_step(5), "set", {"lr": 0.004}))
    # Cosine over 2 epochs halves the base for epoch 2: the changed rate is halved too.
    assert {round(b.lr, 12) for b in of(BatchReported, events) if b.epoch == 2} == {0.002}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lr": -1.0}, "set: lr must be greater than 0, not -1.0"),
        ({"momentum": 0.5}, "the adam optimizer has no momentum setting"),
        ({"weight_decay": True}, "set: weight_decay must be a number, not True"),
    ],
)
def test_a_bad_change_is_refused_with_the_config_rules_message(
    data_dir: Path, adam: Config, values: dict, message: str
) -> None:
    inbox = Inbox()
    ids: list[str] = []
    if "weight_decay" in values:  # Inbox.put refuses a bool at once, as a caller's bug
        with pytest.raises(ValueError, match="weight_decay must be a number"):
            inbox.put("set", values)
        return
    events = steered(run_training(adam, data_dir=data_dir, runs_dir=None, inbox=inbox), inbox, once(at_step(5), "set", values, ids))
    answer = answers(events)[ids[0]]
    assert not answer.accepted and answer.message == message
    assert not of(SettingsChanged, events)
    assert {b.lr for b in of(BatchReported, events)} == {0.001}


# --- pause, step, resume, stop --------------------------------------------------------------


def test_pause_step_and_resume(data_dir: Path, adam: Config) -> None:
    inbox = Inbox()
    ids: list[str] = []
    react = all_of(
        once(at_step(5), "pause", ids=ids),
        once(at_step(5, RunPaused), "step", ids=ids),
        once(at_step(10, RunPaused), "resume", ids=ids),
    )
    events = steered(run_training(adam, data_dir=data_dir, runs_dir=None, inbox=inbox), inbox, react)
    assert [(e.kind, e.step) for e in events if isinstance(e, (RunPaused, RunResumed))] == [
        ("paused", 5), ("paused", 10), ("resumed", 10)
    ]
    kinds = [e.kind for e in events if not isinstance(e, CommandAnswered)]
    first_pause = kinds.index("paused")
    assert kinds[first_pause : first_pause + 4] == ["paused", "batch", "paused", "resumed"], "the step is one report"
    step_report = events[events.index(of(RunPaused, events)[1]) - 1]
    assert isinstance(step_report, BatchReported) and step_report.step == 10
    pause, step, resume = (answers(events)[i] for i in ids)
    assert pause.accepted and step.accepted and resume.accepted
    assert "one report interval (5 batches" in step.message
    assert isinstance(events[-1], RunFinished) and events[-1].epochs_completed == 2


def test_answers_and_headless_lines_name_the_step_as_the_reports_count_it(data_dir: Path, adam: Config) -> None:
    """In epoch 2 the reports say "epoch 2 step 10/32"; the answers said "from step 42", the
    run's step, which nothing else showed. Every line now names the epoch and its step."""
    from mnist_tui.headless import LinePrinter

    inbox = Inbox()
    ids: list[str] = []
    react = all_of(
        once(at_step(42), "pause", ids=ids),
        once(at_step(42, RunPaused), "set", {"lr": 0.0001}, ids),
        once(at_step(42, SettingsChanged), "step", ids=ids),
        once(at_step(47, RunPaused), "resume", ids=ids),
        once(at_step(52), "stop", ids=ids),
    )
    events = steered(run_training(adam, data_dir=data_dir, runs_dir=None, inbox=inbox), inbox, react)
    report = next(e for e in of(BatchReported, events) if e.step == 42)
    assert (report.epoch, report.epoch_step) == (2, 10)
    pause, change, step, resume, stop = (answers(events)[i].message for i in ids)
    assert pause == "paused at epoch 2, step 10"
    assert change == "lr 0.001 -> 0.0001 after epoch 2, step 10"
    assert step == "training one report interval (5 batches at most) after epoch 2, step 10"
    assert resume == "resumed at epoch 2, step 15"
    assert stop == "stopping at epoch 2, step 20; last.pt resumes the run"
    assert [(e.epoch, e.step) for e in of(SettingsChanged, events)] == [(2, 42)], "the log keeps the run's step"

    lines: list[str] = []
    printer = LinePrinter(lines.append)
    for event in events:
        printer.show(event)
    assert "epoch 2 step 10/32 loss" in "\n".join(lines)
    assert [line for line in lines if line.startswith(("paused", "changed", "resumed", "command"))] == [
        "paused at epoch 2, step 10",
        "changed at epoch 2, step 10: lr 0.001 -> 0.0001 (inbox)",
        "command step from inbox done: training one report interval (5 batches at most) after epoch 2, step 10",
        "paused at epoch 2, step 15",
        "resumed at epoch 2, step 15",
        "command stop from inbox done: stopping at epoch 2, step 20; last.pt resumes the run",
    ]


def test_a_step_is_named_within_its_epoch_and_an_epochs_start_as_the_end_of_the_one_before() -> None:
    assert describe_step(2, 42, 32) == "epoch 2, step 10"
    # Before epoch 3's first batch the progress pane still shows epoch 2 at 32/32.
    assert describe_step(3, 64, 32) == "epoch 2, step 32"
    assert describe_step(2, 64, 32) == "epoch 2, step 32", "a stop at an epoch's end names that epoch"
    assert describe_step(1, 0, 32) == "epoch 1, step 0"
    assert describe_step(2, 1042, 1000) == "epoch 2, step 42"
    assert describe_step(2, 42, None) == "epoch 2, step 42 of the run", "no run_started: the run's step"


class PauseOnPoll:
    """A stop flag that never stops but puts a pause into ``inbox`` on its ``polls``-th poll (mid-interval)."""

    def __init__(self, inbox: Inbox, polls: int) -> None:
        self.inbox, self.left = inbox, polls

    def is_set(self) -> bool:
        self.left -= 1
        if self.left == 0:
            self.inbox.put("pause")
        return False


def test_a_step_from_mid_interval_trains_one_whole_interval(data_dir: Path, adam: Config) -> None:
    """Paused between two reports, the step still trains report_every batches, in one report."""
    inbox = Inbox()
    react = all_of(
        once(lambda e: isinstance(e, RunPaused), "step"),
        once(lambda e: isinstance(e, RunPaused) and len(of(RunPaused, seen)) == 2, "resume"),
    )
    seen: list[Event] = []

    def record(event: Event, box: Inbox) -> None:
        seen.append(event)
        react(event, box)

    events = steered(run_training(adam, data_dir=data_dir, runs_dir=None, stop=PauseOnPoll(inbox, 8), inbox=inbox), inbox, record)
    first, second = (e.step for e in of(RunPaused, events))
    assert first % 5 != 0, "the pause cut a report interval"
    assert second == first + 5
    between = events[events.index(of(RunPaused, events)[0]) : events.index(of(RunPaused, events)[1])]
    assert [b.step for b in of(BatchReported, between)] == [second]
    cut = [b.step for b in of(BatchReported, events) if b.step <= first]
    assert cut[-1] == first, "the batches before the pause are reported at the pause"
    assert isinstance(events[-1], RunFinished)


def test_every_refusal_says_why(data_dir: Path, adam: Config) -> None:
    inbox = Inbox()
    ids: list[str] = []
    react = all_of(
        once(at_step(5), "step", ids=ids),
        once(at_step(10), "resume", ids=ids),
        once(at_step(15), "pause", ids=ids),
        once(at_step(15, RunPaused), "pause", ids=ids),
        once(lambda e: isinstance(e, CommandAnswered) and len(ids) == 4 and e.command_id == ids[3], "resume"),
    )
    events = steered(run_training(adam, data_dir=data_dir, runs_dir=None, inbox=inbox), inbox, react)
    step, resume, pause, again = (answers(events)[i] for i in ids)
    assert not step.accepted and "pause first" in step.message
    assert not resume.accepted and resume.message == "not paused"
    assert pause.accepted and (not again.accepted and again.message == "already paused")
    assert isinstance(events[-1], RunFinished)


def test_a_stop_command_checkpoints_and_refuses_what_comes_after(data_dir: Path, tmp_path: Path, adam: Config) -> None:
    inbox = Inbox()

    def react(event: Event, box: Inbox) -> None:
        if at_step(15)(event):
            box.put("stop")
            box.put("set", {"lr": 0.01})

    events = steered(run_training(adam, data_dir=data_dir, runs_dir=tmp_path, inbox=inbox), inbox, react)
    stop, late = of(CommandAnswered, events)
    assert stop.accepted and stop.command == "stop"
    assert not late.accepted and late.message == "not done: the run stopped first"
    checkpoint, answer, stopped = events[-3:]
    assert isinstance(checkpoint, CheckpointSaved) and checkpoint.which == "last" and checkpoint.step == 15
    assert answer is late, "waiting commands are answered before the terminal event"
    assert isinstance(stopped, RunStopped) and stopped.step == 15
    assert [isinstance(e, Terminal) for e in events].count(True) == 1


def test_a_stop_while_paused_ends_the_run(data_dir: Path, tmp_path: Path, adam: Config) -> None:
    """The caller's stop flag (the dashboard's worker being cancelled) also ends a pause."""
    inbox, stop = Inbox(), threading.Event()
    react = all_of(once(at_step(5), "pause"), lambda e, _: stop.set() if isinstance(e, RunPaused) else None)
    events = steered(run_training(adam, data_dir=data_dir, runs_dir=tmp_path, stop=stop, inbox=inbox), inbox, react)
    assert isinstance(events[-1], RunStopped) and events[-1].step == 5
    assert not of(RunResumed, events)


# --- predictions ----------------------------------------------------------------------------


def test_predictions_are_answered_with_the_model_as_it_is(data_dir: Path, tmp_path: Path, adam: Config) -> None:
    """While paused at once; during training at the next report or epoch start; at the run's end, before it."""
    digit = bytes(200 if 6 < r < 22 and 12 < c < 16 else 0 for r in range(28) for c in range(28))
    inbox = Inbox()
    ids: list[str] = []

    def put_predict(event: Event, box: Inbox) -> None:
        # At each epoch's checkpoint (not the one before training).
        epoch_end = isinstance(event, CheckpointSaved) and event.which == "last" and event.step > 0
        if at_step(5, RunPaused)(event) or epoch_end:
            ids.append(box.put("predict", pixels=digit))

    react = all_of(put_predict, once(at_step(5), "pause"), once(lambda e: isinstance(e, DigitPredicted), "resume"))
    events = steered(run_training(adam, data_dir=data_dir, runs_dir=tmp_path, inbox=inbox), inbox, react)
    paused, after_epoch, at_end = (next(e for e in of(DigitPredicted, events) if e.command_id == i) for i in ids)
    assert paused.step == 5 and len(paused.probabilities) == 10
    assert sum(paused.probabilities) == pytest.approx(1.0, abs=1e-4)
    assert events.index(paused) < events.index(of(RunResumed, events)[0]), "answered while paused"
    first_of_epoch_2 = next(e for e in of(BatchReported, events) if e.epoch == 2)
    assert after_epoch.step == 32 and events.index(after_epoch) < events.index(first_of_epoch_2)
    assert at_end.step == 64 and events.index(at_end) < events.index(events[-1])
    run_dir = Path(events[0].run_dir)
    (run_dir / "best.pt").unlink()  # the predictor falls back to last.pt: the weights at the end
    assert at_end.probabilities == pytest.approx(load_predictor(run_dir).predict(digit), abs=1e-5)
    logged = (run_dir / "events.jsonl").read_text()
    assert '"prediction"' not in logged and ids[0] not in logged, "predictions are not recorded"
    assert not [e for e in of(CommandAnswered, events) if e.command == "predict"]


def test_inbox_put_refuses_what_no_engine_could_do() -> None:
    inbox = Inbox()
    with pytest.raises(ValueError, match="unknown command 'jump'"):
        inbox.put("jump")
    with pytest.raises(ValueError, match="'epochs' cannot change during a run"):
        inbox.put("set", {"epochs": 3})
    with pytest.raises(ValueError, match="set needs values"):
        inbox.put("set")
    with pytest.raises(ValueError, match="784 greyscale bytes"):
        inbox.put("predict", pixels=b"\0" * 10)
    with pytest.raises(ValueError, match="pause takes no values"):
        inbox.put("pause", {"lr": 0.1})
    assert inbox.take() is None and not inbox.waiting
    first = inbox.put("pause")
    assert inbox.waiting
    inbox.put("predict", pixels=bytes(784))
    taken = inbox.take()
    assert taken is not None and taken.id == first and not inbox.waiting, "a prediction does not interrupt training"
    assert [c.command for c in inbox.take_predictions()] == ["predict"]


def test_started_event_reports_the_settings_in_use(data_dir: Path, adam: Config) -> None:
    started = next(iter(run_training(adam, data_dir=data_dir, runs_dir=None)))
    assert isinstance(started, RunStarted) and started.config == adam.to_dict()
