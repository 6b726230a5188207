"""The inspection probes on synthetic logits and digits: counts, mistakes, weights, layers, one transfer.

No MNIST files needed: the evaluation sets here are made up, small enough to check every number
against a plain Python recount.
"""

from __future__ import annotations

import copy
from typing import Iterator

import pytest
import torch

from mnist_tui.engine import trainer as trainer_module
from mnist_tui.engine.config import Config
from mnist_tui.engine.data import Split
from mnist_tui.engine.events import ConfusionCounted, Event, LayersMeasured, MistakesFound, WeightsSampled
from mnist_tui.engine.model import build_model, store_flat
from mnist_tui.engine.probes import WEIGHT_LEVELS, EvalPass, read_once
from mnist_tui.engine.trainer import Trainer

RUN = "synthetic-20260101-000000-abcd"
CLASSES = tuple("0123456789")


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from two threads; on a busy two-core machine they crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Never:
    def is_set(self) -> bool:
        return False


def synthetic_split(labels: torch.Tensor, *, train_size: int = 256, seed: int = 0) -> Split:
    """Digits of random bytes (as data.py scales them), training digits labelled by a random teacher."""
    generator = torch.Generator().manual_seed(seed)
    eval_x = torch.randint(0, 256, (len(labels), 784), generator=generator).float() / 255
    train_x = torch.randint(0, 256, (train_size, 784), generator=generator).float() / 255
    train_y = ((train_x - 0.5) @ torch.randn(784, 10, generator=generator)).argmax(dim=1)
    return Split(
        train_x=train_x, train_y=train_y, eval_x=eval_x, eval_y=labels,
        eval_name="synthetic", class_names=CLASSES,
    )


def inspect_logits(logits: torch.Tensor, labels: torch.Tensor, **changes: object) -> dict[str, Event]:
    """The probes' events for an evaluation that produced ``logits`` (the model is only for weights)."""
    config = Config(hidden=(8,), device="cpu", **changes)  # type: ignore[arg-type]
    seen = EvalPass(build_model(config), synthetic_split(labels), config)
    seen.record(0, logits, logits.argmax(dim=1))
    return by_kind(seen.inspection(read_once(seen.measure())).events(RUN, 1))


def by_kind(events: list[Event]) -> dict[str, Event]:
    return {event.kind: event for event in events}


def expected_mistakes(logits: torch.Tensor, labels: torch.Tensor, per_cell: int) -> list[int]:
    """The mistakes a plain recount keeps: by cell row-major, most confident first, ties by index."""
    predictions = logits.argmax(dim=1).tolist()
    confidences = logits.softmax(dim=1).max(dim=1).values.tolist()
    cells: dict[tuple[int, int], list[int]] = {}
    for index, (label, prediction) in enumerate(zip(labels.tolist(), predictions)):
        if label != prediction:
            cells.setdefault((label, prediction), []).append(index)
    kept: list[int] = []
    for cell in sorted(cells):
        kept += sorted(cells[cell], key=lambda i: (-confidences[i], i))[:per_cell]
    return kept


def mostly_right(size: int, wrong_share: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and logits that get about ``1 - wrong_share`` of them right."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (size,), generator=generator)
    logits = torch.randn(size, 10, generator=generator)
    right = torch.rand(size, generator=generator) > wrong_share
    logits[right, labels[right]] += 6.0
    return logits, labels


# --- confusion and mistakes -------------------------------------------------------------------


@pytest.mark.parametrize(("wrong_share", "per_cell"), [(0.9, 3), (0.9, 1), (0.05, 3), (0.3, 100)])
def test_confusion_and_mistakes_match_a_plain_recount(wrong_share: float, per_cell: int) -> None:
    logits, labels = mostly_right(600, wrong_share, seed=int(wrong_share * 100) + per_cell)
    events = inspect_logits(logits, labels, mistakes_per_cell=per_cell)
    confusion, mistakes = events["confusion"], events["mistakes"]
    assert isinstance(confusion, ConfusionCounted) and isinstance(mistakes, MistakesFound)
    predictions = logits.argmax(dim=1)
    recount = [[0] * 10 for _ in range(10)]
    for label, prediction in zip(labels.tolist(), predictions.tolist()):
        recount[label][prediction] += 1
    assert [list(row) for row in confusion.matrix] == recount
    assert sum(map(sum, confusion.matrix)) == 600 and confusion.class_names == CLASSES
    assert list(mistakes.indices) == expected_mistakes(logits, labels, per_cell)
    assert mistakes.labels == tuple(labels[list(mistakes.indices)].tolist())
    assert mistakes.predictions == tuple(predictions[list(mistakes.indices)].tolist())
    # Each cell keeps min(cap, its count): the mistakes agree with the confusion counts.
    for true in range(10):
        for predicted in range(10):
            kept = sum(1 for t, p in zip(mistakes.labels, mistakes.predictions) if (t, p) == (true, predicted))
            assert kept == (0 if true == predicted else min(per_cell, recount[true][predicted]))


def test_confidence_is_the_softmax_probability_of_the_prediction_and_images_are_the_digits() -> None:
    logits, labels = mostly_right(200, 0.5, seed=1)
    split = synthetic_split(labels)
    config = Config(hidden=(8,), device="cpu")
    seen = EvalPass(build_model(config), split, config)
    seen.record(0, logits, logits.argmax(dim=1))
    mistakes = by_kind(seen.inspection(read_once(seen.measure())).events(RUN, 1))["mistakes"]
    assert isinstance(mistakes, MistakesFound) and len(mistakes.indices) > 20
    probabilities = logits.softmax(dim=1)
    for index, prediction, confidence, image in zip(
        mistakes.indices, mistakes.predictions, mistakes.confidences, mistakes.images
    ):
        assert confidence == round(float(probabilities[index, prediction]), 4)
        assert image == bytes((split.eval_x[index] * 255).round().to(torch.uint8).tolist())


def test_equal_confidences_keep_evaluation_order() -> None:
    """Five 2s read as 5 with the same logits, one of them more sure: it leads, then the lowest indices."""
    labels = torch.tensor([2, 2, 2, 2, 2, 7])
    logits = torch.zeros(6, 10)
    logits[:5, 5] = 3.0
    logits[3, 5] = 4.0
    logits[5, 7] = 3.0  # a right answer
    mistakes = inspect_logits(logits, labels)["mistakes"]
    assert isinstance(mistakes, MistakesFound)
    assert mistakes.indices == (3, 0, 1)
    assert mistakes.confidences[1] == mistakes.confidences[2] < mistakes.confidences[0]


def test_a_tie_between_classes_is_one_prediction_for_accuracy_and_confusion() -> None:
    """Logits tied between 3 and 8 predict 3 (argmax's first), in the matrix and among the mistakes."""
    labels = torch.tensor([8, 3])
    logits = torch.zeros(2, 10)
    logits[:, 3] = logits[:, 8] = 1.0
    events = inspect_logits(logits, labels)
    confusion, mistakes = events["confusion"], events["mistakes"]
    assert isinstance(confusion, ConfusionCounted) and isinstance(mistakes, MistakesFound)
    assert confusion.matrix[8][3] == 1 and confusion.matrix[3][3] == 1
    assert (mistakes.indices, mistakes.labels, mistakes.predictions) == ((0,), (8,), (3,))


def test_no_mistakes_and_a_cap_of_zero_give_empty_events() -> None:
    labels = torch.arange(10).repeat(3)
    perfect = torch.nn.functional.one_hot(labels, 10).float() * 5
    empty = inspect_logits(perfect, labels)["mistakes"]
    assert isinstance(empty, MistakesFound) and empty.indices == () and empty.images == ()
    logits, labels = mostly_right(100, 0.9, seed=2)
    capped = inspect_logits(logits, labels, mistakes_per_cell=0)["mistakes"]
    assert isinstance(capped, MistakesFound) and capped.indices == () and capped.confidences == ()


def test_a_cell_with_fewer_mistakes_than_the_cap_keeps_them_all() -> None:
    labels = torch.tensor([1, 1, 4, 9, 9, 9, 9])
    logits = torch.zeros(7, 10)
    logits[0, 7] = 2.0  # 1 read as 7: the cell's only mistake
    logits[1, 1] = 2.0
    logits[2, 9] = 2.0  # 4 read as 9
    logits[3:, 4] = torch.tensor([1.0, 4.0, 2.0, 3.0])  # four 9s read as 4
    mistakes = inspect_logits(logits, labels)["mistakes"]
    assert isinstance(mistakes, MistakesFound)
    assert mistakes.indices == (0, 2, 4, 6, 5)
    assert list(zip(mistakes.labels, mistakes.predictions)) == [(1, 7), (4, 9), (9, 4), (9, 4), (9, 4)]


# --- the evaluation pass in the trainer -----------------------------------------------------------


def synthetic_trainer(labels_size: int = 50, **changes: object) -> Trainer:
    config = Config(
        hidden=(24, 12), device="cpu", batch_size=32, report_every=4, gallery_size=0, **changes  # type: ignore[arg-type]
    )
    labels = torch.randint(0, 10, (labels_size,), generator=torch.Generator().manual_seed(3))
    return Trainer(config, synthetic_split(labels), torch.device("cpu"))


def test_evaluation_in_many_batches_gives_what_one_batch_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = synthetic_trainer(labels_size=50)
    list(trainer.train_epoch(_Never()))
    whole = trainer.evaluate()
    monkeypatch.setattr(trainer_module, "EVAL_BATCH", 7)
    batched = trainer.evaluate()
    assert whole[:2] == pytest.approx(batched[:2], rel=1e-6)
    assert whole[2] is not None and batched[2] is not None
    one, many = by_kind(whole[2].events(RUN, 1)), by_kind(batched[2].events(RUN, 1))
    assert one["confusion"] == many["confusion"]
    assert one["mistakes"] == many["mistakes"]
    assert one["layers"] == many["layers"]
    with torch.no_grad():
        logits = trainer.model(trainer.split.eval_x)
    assert list(one["mistakes"].indices) == expected_mistakes(logits, trainer.split.eval_y, 3)  # type: ignore[attr-defined]


def test_inspection_off_measures_the_same_loss_and_accuracy_and_nothing_else() -> None:
    trainer = synthetic_trainer()
    list(trainer.train_epoch(_Never()))
    on = trainer.evaluate()
    trainer.config = trainer.config.replace(inspect=False)
    off = trainer.evaluate()
    assert off[:2] == on[:2] and off[2] is None
    assert on[2] is not None
    confusion = by_kind(on[2].events(RUN, 1))["confusion"]
    assert isinstance(confusion, ConfusionCounted)
    assert 100.0 * sum(confusion.matrix[i][i] for i in range(10)) / 50 == on[1]


def test_read_once_returns_every_tensor_with_its_dtype_shape_and_values() -> None:
    values = {
        "scalar": torch.tensor(7, dtype=torch.long),
        "bytes": torch.arange(30, dtype=torch.uint8).view(3, 10),
        "floats": torch.tensor([0.5, -1.25, 3.0]),
        "empty": torch.zeros(0, dtype=torch.long),
        "matrix": torch.arange(12, dtype=torch.long).view(3, 4).t(),  # not contiguous
        "odd": torch.tensor([1, 2, 3], dtype=torch.uint8),
    }
    read = read_once(values)
    assert set(read) == set(values)
    for name, value in values.items():
        assert read[name].dtype == value.dtype and read[name].shape == value.shape
        assert torch.equal(read[name], value)


# --- weights ----------------------------------------------------------------------------------


def weights_event(model: torch.nn.Sequential, config: Config) -> WeightsSampled:
    split = synthetic_split(torch.zeros(4, dtype=torch.long))
    seen = EvalPass(model, split, config)
    event = by_kind(seen.inspection(read_once(seen.measure())).events(RUN, 1))["weights"]
    assert isinstance(event, WeightsSampled)
    return event


def dequantised(event: WeightsSampled) -> torch.Tensor:
    data = torch.tensor([list(image) for image in event.images], dtype=torch.float64).view(-1, 784)
    return (data - 128) / WEIGHT_LEVELS * event.scale


@pytest.mark.parametrize("input_major", [False, True], ids=["autograd layout", "input-major (CPU step)"])
def test_weights_are_the_first_units_within_the_quantisation(input_major: bool) -> None:
    config = Config(hidden=(40, 10), device="cpu")
    torch.manual_seed(0)
    model = build_model(config)
    if input_major:
        store_flat(model)
        assert model[0].weight.t().is_contiguous()
    event = weights_event(model, config)
    weight = model[0].weight.detach().double()[:32]
    assert event.layer == 0 and event.units == tuple(range(32))
    assert all(len(image) == 784 for image in event.images)
    assert event.scale == pytest.approx(float(weight.abs().max()), rel=1e-6)
    assert (dequantised(event) - weight).abs().max() <= event.scale / (2 * WEIGHT_LEVELS) * (1 + 1e-5)
    assert {min(b for image in event.images for b in image), max(b for image in event.images for b in image)} & {1, 255}


def test_both_layouts_give_the_same_bytes_and_a_narrow_layer_gives_all_its_units() -> None:
    config = Config(hidden=(20,), device="cpu", weight_units=100)
    torch.manual_seed(1)
    model = build_model(config)
    plain = weights_event(model, config)
    store_flat(model)
    assert weights_event(model, config) == plain
    assert plain.units == tuple(range(20))


def test_zero_weights_and_no_units_are_well_formed() -> None:
    config = Config(hidden=(5,), device="cpu")
    model = build_model(config)
    with torch.no_grad():
        model[0].weight.zero_()
    zero = weights_event(model, config)
    assert zero.scale == 0.0 and all(image == b"\x80" * 784 for image in zero.images)
    none = weights_event(model, config.replace(weight_units=0))
    assert none.units == () and none.images == () and none.scale == 0.0


# --- layers -----------------------------------------------------------------------------------


def test_dead_units_are_relu_units_zero_on_every_evaluation_digit() -> None:
    config = Config(hidden=(6, 4), device="cpu")
    torch.manual_seed(2)
    model = build_model(config)
    with torch.no_grad():  # units 0-2 of the first layer can never fire on digits in [0, 1]
        model[0].weight[:3] = -model[0].weight[:3].abs()
        model[0].bias[:3] = -1.0
    split = synthetic_split(torch.zeros(30, dtype=torch.long))
    seen = EvalPass(model, split, config)
    with torch.inference_mode():
        seen.record(0, seen.forward(split.eval_x), torch.zeros(30, dtype=torch.long))
        layers = by_kind(seen.inspection(read_once(seen.measure())).events(RUN, 1))["layers"]
    assert isinstance(layers, LayersMeasured)
    with torch.no_grad():
        first = torch.relu(model[0](split.eval_x))
        second = torch.relu(model[2](first))
    expected = [round(float((~(a > 0).any(0)).float().mean()), 4) for a in (first, second)]
    assert layers.dead == tuple(expected) and layers.dead[0] >= 0.5
    assert layers.sizes == (6, 4)


@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu", "gelu"])
def test_activations_that_cannot_die_report_no_dead_share(activation: str) -> None:
    config = Config(hidden=(6, 4), device="cpu", activation=activation)
    split = synthetic_split(torch.zeros(5, dtype=torch.long))
    seen = EvalPass(build_model(config), split, config)
    layers = by_kind(seen.inspection(read_once(seen.measure())).events(RUN, 1))["layers"]
    assert isinstance(layers, LayersMeasured) and layers.dead == (None, None)


def reference_norms(model: torch.nn.Sequential, split: Split, batch_size: int) -> tuple[list[float], list[float]]:
    """Each hidden layer's weight norm and its gradient's on the probe batch, by plain autograd on a copy."""
    clone = copy.deepcopy(model).eval()
    for p in clone.parameters():
        p.grad = None
    loss = torch.nn.functional.cross_entropy(clone(split.train_x[:batch_size]), split.train_y[:batch_size])
    loss.backward()
    hidden = [layer for layer in clone if isinstance(layer, torch.nn.Linear)][:-1]
    return [float(layer.weight.detach().norm()) for layer in hidden], [float(layer.weight.grad.norm()) for layer in hidden]


@pytest.mark.parametrize(
    ("changes", "manual"),
    [
        ({}, True),
        ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.5, "activation": "sigmoid"}, True),  # gradient folded into momentum
        ({}, False),
        ({"dropout": 0.3}, False),
    ],
    ids=["cpu step, adam", "cpu step, momentum sgd", "autograd, adam", "autograd, dropout"],
)
def test_layer_norms_come_from_the_model_whichever_step_trained_it(
    monkeypatch: pytest.MonkeyPatch, changes: dict, manual: bool
) -> None:
    if not manual:
        monkeypatch.setattr(trainer_module, "supports", lambda config, device: False)
    trainer = synthetic_trainer(**changes)
    assert (trainer._manual is not None) == manual
    list(trainer.train_epoch(_Never()))
    trainer.finish_epoch()
    grads_before = [None if p.grad is None else p.grad.clone() for p in trainer.model.parameters()]
    rng_before = torch.get_rng_state()
    _, _, inspection = trainer.evaluate()
    assert inspection is not None
    layers = by_kind(inspection.events(RUN, 1))["layers"]
    assert isinstance(layers, LayersMeasured)
    weight_norms, grad_norms = reference_norms(trainer.model, trainer.split, trainer.config.batch_size)
    assert layers.weight_norms == pytest.approx(weight_norms, rel=1e-5)
    assert layers.grad_norms == pytest.approx(grad_norms, rel=1e-4)
    assert all(g > 0 for g in layers.grad_norms)
    # The probe leaves the training state alone: no .grad written, no random numbers drawn.
    for before, p in zip(grads_before, trainer.model.parameters()):
        assert (before is None and p.grad is None) or torch.equal(before, p.grad)
    assert torch.equal(rng_before, torch.get_rng_state())
    weights = by_kind(inspection.events(RUN, 1))["weights"]
    assert isinstance(weights, WeightsSampled)
    first = trainer.model[0].weight.detach().double()[: len(weights.units)]
    assert (dequantised(weights) - first).abs().max() <= weights.scale / (2 * WEIGHT_LEVELS) * (1 + 1e-5)
