"""Inspection on the real MNIST test set: counts, real mistakes, the saved weights, and an unchanged run.

What the issue asks of ``mnist-tui --no-ui --jsonl --preset relu-adam-500 --epochs 2``, checked on
a run of that preset trained on 3,000 digits (the evaluation, the part inspected, is the whole
official test set) and, marked slow, on the exact command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from mnist_tui.command import main
from mnist_tui.engine.config import Config
from mnist_tui.engine.data import load_split
from mnist_tui.engine.events import BatchReported, EpochEnded, Event, event_from_dict
from mnist_tui.engine.probes import WEIGHT_LEVELS
from mnist_tui.engine.trainer import Trainer

RUN = "inspect-20260101-000000-abcd"


def official_test_set(data_dir: Path) -> tuple[bytes, bytes]:
    """The test file's pixels and labels, straight from the idx files (past their headers)."""
    raw = data_dir / "MNIST" / "raw"
    return (raw / "t10k-images-idx3-ubyte").read_bytes()[16:], (raw / "t10k-labels-idx1-ubyte").read_bytes()[8:]


def check_inspection(logged: list[dict[str, Any]], run_dir: Path, data_dir: Path, epochs: int) -> None:
    """The issue's three checks on a run's events, and the layers event's shape."""
    eval_size = logged[0]["eval_size"]
    ended = {e["epoch"]: e for e in logged if e["event"] == "epoch"}
    assert sorted(ended) == list(range(1, epochs + 1))
    for kind in ("confusion", "mistakes", "weights", "layers"):
        assert [e["epoch"] for e in logged if e["event"] == kind] == list(ended), kind

    # Each epoch: the counts sum to the evaluation size; the diagonal's share is the eval accuracy.
    for confusion in (e for e in logged if e["event"] == "confusion"):
        matrix = confusion["matrix"]
        total = sum(map(sum, matrix))
        assert total == eval_size
        assert 100.0 * sum(matrix[i][i] for i in range(10)) / total == ended[confusion["epoch"]]["eval_accuracy"]

    # The mistakes are real: another prediction than the label, and the test file's digit at that index.
    images, labels = official_test_set(data_dir)
    for raw in (e for e in logged if e["event"] == "mistakes"):
        mistakes = event_from_dict(raw)
        matrix = next(e["matrix"] for e in logged if e["event"] == "confusion" and e["epoch"] == raw["epoch"])
        assert 0 < len(mistakes.indices) <= 90 * 3 and len(set(mistakes.indices)) == len(mistakes.indices)
        for index, label, prediction, confidence, image in zip(
            mistakes.indices, mistakes.labels, mistakes.predictions, mistakes.confidences, mistakes.images  # type: ignore[attr-defined]
        ):
            assert label != prediction and 0.1 <= confidence <= 1.0
            assert label == labels[index]
            assert image == images[index * 784 : (index + 1) * 784]
        cells = list(zip(mistakes.labels, mistakes.predictions))  # type: ignore[attr-defined]
        assert cells == sorted(cells)
        for true in range(10):
            for predicted in range(10):
                if true != predicted:
                    assert cells.count((true, predicted)) == min(3, matrix[true][predicted])

    # The last weights event is last.pt's first layer, to within half a quantisation step.
    last = [e for e in logged if e["event"] == "weights"][-1]
    assert last["epoch"] == epochs
    weights = event_from_dict(last)
    state = torch.load(run_dir / "last.pt", weights_only=True)["model"]
    first = state["0.weight"].double()[list(weights.units)]  # type: ignore[attr-defined]
    data = torch.tensor([list(image) for image in weights.images], dtype=torch.float64)  # type: ignore[attr-defined]
    assert weights.units == tuple(range(32)) and data.shape == (32, 784)  # type: ignore[attr-defined]
    restored = (data - 128) / WEIGHT_LEVELS * weights.scale  # type: ignore[attr-defined]
    assert (restored - first).abs().max() <= weights.scale / (2 * WEIGHT_LEVELS) * (1 + 1e-5)  # type: ignore[attr-defined]

    layers = [e for e in logged if e["event"] == "layers"][-1]
    assert layers["sizes"] == [500, 500] and all(0.0 <= d <= 1.0 for d in layers["dead"])
    assert layers["weight_norms"] == pytest.approx(
        [float(state["0.weight"].norm()), float(state["2.weight"].norm())], rel=1e-5
    )


def run_folder_events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def test_relu_adam_500_inspects_the_whole_test_set_each_epoch(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    argv = [
        "--no-ui", "--jsonl", "--preset", "relu-adam-500", "--epochs", "2", "--set", "train_limit=3000",
        "--device", "cpu", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path),
    ]
    assert main(argv) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (run_dir,) = tmp_path.iterdir()
    assert streamed == run_folder_events(run_dir)
    assert streamed[0]["eval_size"] == 10_000  # two evaluation batches of at most 8,192
    check_inspection(streamed, run_dir, data_dir, epochs=2)


@pytest.mark.slow
def test_the_issues_command_inspects_as_it_should(cli: Callable[..., Any], data_dir: Path, tmp_path: Path) -> None:
    """``mnist-tui --no-ui --jsonl --preset relu-adam-500 --epochs 2 --data-dir ../shared/data``, as typed."""
    result = cli(
        "--no-ui", "--jsonl", "--preset", "relu-adam-500", "--epochs", "2", "--data-dir", str(data_dir), timeout=300
    )
    assert result.returncode == 0, result.stderr
    streamed = [json.loads(line) for line in result.stdout.splitlines()]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert streamed == run_folder_events(run_dir)
    check_inspection(streamed, run_dir, data_dir, epochs=2)


def test_an_eval_limit_inspects_only_the_first_digits(data_dir: Path) -> None:
    config = Config(hidden=(32,), device="cpu", train_limit=500, eval_limit=300, batch_size=50)
    trainer = Trainer(config, load_split(config, data_dir, torch.device("cpu")), torch.device("cpu"))
    _, accuracy, inspection = trainer.evaluate()  # untrained: plenty of mistakes
    assert inspection is not None
    confusion, mistakes, *_ = inspection.events(RUN, 1)
    assert sum(map(sum, confusion.matrix)) == 300  # type: ignore[attr-defined]
    assert 100.0 * sum(confusion.matrix[i][i] for i in range(10)) / 300 == accuracy  # type: ignore[attr-defined]
    images, labels = official_test_set(data_dir)
    assert mistakes.indices and max(mistakes.indices) < 300  # type: ignore[attr-defined]
    for index, label, image in zip(mistakes.indices, mistakes.labels, mistakes.images):  # type: ignore[attr-defined]
        assert label == labels[index] and image == images[index * 784 : (index + 1) * 784]


def numbers(events: list[Event]) -> list[tuple]:
    """What training measured, without timings."""
    return [
        (e.step, e.loss) if isinstance(e, BatchReported)
        else (e.epoch, e.train_loss, e.train_accuracy, e.eval_loss, e.eval_accuracy)
        for e in events
        if isinstance(e, (BatchReported, EpochEnded))
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"activation": "sigmoid", "optimizer": "sgd", "lr": 0.05, "momentum": 0.5},
        {"batch_norm": True, "dropout": 0.2},
    ],
    ids=["cpu step", "cpu step, momentum folded", "autograd, batch norm and dropout"],
)
def test_inspecting_changes_nothing_the_run_measures(train: Callable[..., list[Event]], tiny: Config, changes: dict) -> None:
    on = train(tiny.replace(**changes), runs_dir=None)
    off = train(tiny.replace(inspect=False, **changes), runs_dir=None)
    assert numbers(on) == numbers(off)
    assert {e.kind for e in off}.isdisjoint({"confusion", "mistakes", "weights", "layers"})
    assert [e.kind for e in on].count("confusion") == 2
