"""On a CUDA device: training steps never wait for the host, and CUDA graphs change no numbers.

These run where a GPU is (they skip elsewhere) on synthetic data made here, so they need neither
the MNIST files nor the dashboard's libraries. Reports, evaluation and epoch ends read values back
by design; only ``Trainer.run_steps``, the loop between two reports, is checked for host syncs.
"""

from __future__ import annotations

from typing import Iterator

import pytest
import torch

from mnist_tui.engine.config import OPTIMIZERS, Config
from mnist_tui.engine.cuda_graph import uses_cuda_graphs
from mnist_tui.engine.data import Split
from mnist_tui.engine.trainer import Report, Trainer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TRAIN_SIZE = 8100  # 127 batches of 64 an epoch, the last one short (it runs outside the graph)
LEARNING_RATES = {"sgd": 0.05, "adagrad": 0.01, "rmsprop": 0.001, "adadelta": 1.0, "adam": 0.001, "adamw": 0.001, "radam": 0.001}


class _Never:
    def is_set(self) -> bool:
        return False


@pytest.fixture(scope="module")
def split() -> Split:
    """Random digits labelled by a fixed random linear teacher: learnable, and no files needed."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(TRAIN_SIZE + 1024, 784, generator=generator)
    y = ((x - 0.5) @ torch.randn(784, 10, generator=generator)).argmax(dim=1)  # centred: balanced classes
    device = torch.device("cuda")
    return Split(
        train_x=x[:TRAIN_SIZE].to(device), train_y=y[:TRAIN_SIZE].to(device),
        eval_x=x[TRAIN_SIZE:].to(device), eval_y=y[TRAIN_SIZE:].to(device),
        eval_name="synthetic", class_names=tuple("0123456789"),
    )


def config_for(optimizer: str, **changes: object) -> Config:
    return Config(
        hidden=(256, 128), optimizer=optimizer, lr=LEARNING_RATES[optimizer], batch_size=64,
        device="cuda", report_every=25, gallery_size=0, **changes,
    )


def guard_host_syncs(trainer: Trainer, *, skip: int) -> list[int]:
    """Make a host sync inside ``trainer.run_steps`` an error, after its first ``skip`` calls.

    Returns the first steps of the guarded intervals (to show the guard was active).
    """
    original = trainer.run_steps
    calls: list[int] = []
    guarded: list[int] = []

    def run_steps(first: int, last: int, stop: object) -> tuple[int, int]:
        calls.append(first)
        if len(calls) <= skip:
            return original(first, last, stop)
        torch.cuda.set_sync_debug_mode("error")
        try:
            result = original(first, last, stop)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        guarded.append(first)
        return result

    trainer.run_steps = run_steps  # type: ignore[method-assign]
    return guarded


def train(trainer: Trainer, epochs: int) -> Iterator[Report | tuple[float, float, float]]:
    """Every report, then each epoch's (train loss, train accuracy %, seconds) and (eval loss, accuracy %)."""
    for _ in range(epochs):
        yield from trainer.train_epoch(_Never())
        loss, accuracy, _seconds = trainer.finish_epoch()
        trainer.step_schedule()
        yield (loss, accuracy, *trainer.evaluate()[:2])


@pytest.mark.parametrize("graphs", [False, True], ids=["eager", "graphs"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training_steps_never_wait_for_the_host(split: Split, optimizer: str, graphs: bool) -> None:
    """Three epochs (381 steps) with ``set_sync_debug_mode("error")`` around every run of steps.

    With graphs, the first interval warms up and captures the graph (capture synchronises by
    design) and is left unguarded; every later interval only replays it.
    """
    config = config_for(optimizer, cuda_graphs=graphs)
    trainer = Trainer(config, split, torch.device("cuda"))
    uses_graph = uses_cuda_graphs(config, trainer.device)
    guarded = guard_host_syncs(trainer, skip=1 if uses_graph else 0)
    results = list(train(trainer, epochs=3))
    assert len(guarded) >= 3 * 127 // 25, "the guard was active for (nearly) every interval"
    reports = [r for r in results if isinstance(r, Report)]
    assert all(r.diverged_step is None for r in reports)
    assert reports[-1].loss < reports[0].loss, "the model learns"
    assert trainer.global_step == 3 * 127


def assert_same_training(eager: list, graphed: list) -> None:
    """Losses agree to 1e-4 (relative); accuracies (percent) to 0.2, a couple of flipped predictions."""
    assert len(eager) == len(graphed)
    for a, b in zip(eager, graphed):
        if isinstance(a, Report):
            assert b.loss == pytest.approx(a.loss, rel=1e-4)
        else:
            (loss_a, accuracy_a, eval_loss_a, eval_accuracy_a), (loss_b, accuracy_b, eval_loss_b, eval_accuracy_b) = a, b
            assert (loss_b, eval_loss_b) == pytest.approx((loss_a, eval_loss_a), rel=1e-4)
            assert (accuracy_b, eval_accuracy_b) == pytest.approx((accuracy_a, eval_accuracy_a), abs=0.2)


@pytest.mark.parametrize(
    ("optimizer", "changes"),
    [
        ("sgd", {"momentum": 0.9, "nesterov": True}),
        ("adam", {}),
        ("adamw", {"weight_decay": 0.01}),
        ("rmsprop", {"momentum": 0.5}),
        ("radam", {}),
        ("adam", {"batch_norm": True, "dropout": 0.3}),
        ("sgd", {"momentum": 0.9, "batch_norm": True, "dropout": 0.2, "schedule": "step", "step_epochs": 1, "gamma": 0.5}),
    ],
    ids=["sgd-nesterov", "adam", "adamw", "rmsprop", "radam", "adam-bn-dropout", "sgd-bn-dropout-step-schedule"],
)
def test_cuda_graphs_give_the_same_losses_as_eager_steps(split: Split, optimizer: str, changes: dict) -> None:
    """Every report, epoch loss, train and eval accuracy agree between the two paths (the step schedule recaptures)."""
    runs = []
    for graphs in (False, True):
        config = config_for(optimizer, cuda_graphs=graphs, **changes)  # the Trainer seeds torch itself
        trainer = Trainer(config, split, torch.device("cuda"))
        assert uses_cuda_graphs(config, trainer.device) is graphs
        runs.append(list(train(trainer, epochs=3)))
    assert_same_training(*runs)


@pytest.mark.parametrize(
    ("optimizer", "start", "change"),
    [
        ("sgd", {"momentum": 0.9}, {"momentum": 0.5, "weight_decay": 0.001}),
        ("adam", {}, {"lr": 0.0003, "weight_decay": 0.01}),
        ("rmsprop", {"momentum": 0.5}, {"momentum": 0.0, "lr": 0.002}),
    ],
    ids=["sgd-momentum-decay", "adam-lr-decay", "rmsprop-momentum-lr"],
)
def test_settings_changed_mid_run_apply_to_the_captured_step(
    split: Split, optimizer: str, start: dict, change: dict
) -> None:
    """Momentum and weight decay are constants of a captured step: a change recaptures, so graphs match eager."""
    from mnist_tui.engine.settings import change_settings

    runs = []
    for graphs in (False, True):
        config = config_for(optimizer, cuda_graphs=graphs, **start)
        trainer = Trainer(config, split, torch.device("cuda"))
        results: list = []
        for _ in range(2):
            for report in trainer.train_epoch(_Never()):
                results.append(report)
                if trainer.global_step == 50:  # between two intervals, as the engine changes settings
                    assert set(change_settings(trainer, config, change)) == set(change)
            loss, accuracy, _seconds = trainer.finish_epoch()
            trainer.step_schedule()
            results.append((loss, accuracy, *trainer.evaluate()[:2]))
        assert trainer.optimizer.param_groups[0]["momentum" if "momentum" in change else "lr"] == pytest.approx(
            change.get("momentum", change.get("lr"))
        )
        runs.append(results)
    assert_same_training(*runs)


def test_inspection_reads_the_device_once_and_counts_what_the_logits_say(
    split: Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evaluation with every probe makes no host sync but its one transfer (``read_once``)."""
    from mnist_tui.engine import trainer as trainer_module
    from mnist_tui.engine.probes import read_once

    trainer = Trainer(config_for("adam"), split, torch.device("cuda"))
    for _ in trainer.train_epoch(_Never()):
        pass
    trainer.finish_epoch()
    transfers: list[int] = []

    def unguarded_read_once(values: dict) -> dict:
        transfers.append(len(values))
        torch.cuda.set_sync_debug_mode("default")
        try:
            return read_once(values)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    monkeypatch.setattr(trainer_module, "read_once", unguarded_read_once)
    torch.cuda.set_sync_debug_mode("error")
    try:
        _, accuracy, inspection = trainer.evaluate()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(transfers) == 1 and inspection is not None
    confusion, mistakes, weights, layers = inspection.events("cuda-run", 1)
    with torch.inference_mode():
        logits = trainer.model(split.eval_x)  # the evaluation set is one batch: the same kernels
    labels, predictions = split.eval_y.cpu(), logits.argmax(dim=1).cpu()
    expected = torch.zeros(10, 10, dtype=torch.long)
    expected.index_put_((labels, predictions), torch.ones_like(labels), accumulate=True)
    assert confusion.matrix == tuple(tuple(row) for row in expected.tolist())  # type: ignore[attr-defined]
    assert 100.0 * int(expected.trace()) / len(labels) == accuracy
    assert mistakes.indices  # type: ignore[attr-defined]
    for index, label, prediction in zip(mistakes.indices, mistakes.labels, mistakes.predictions):  # type: ignore[attr-defined]
        assert label == labels[index] != prediction == predictions[index]
    assert len(weights.units) == 32 and all(norm > 0 for norm in layers.grad_norms)  # type: ignore[attr-defined]
