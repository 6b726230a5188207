"""The CPU's hand-derived step (engine/mlp_step.py) against autograd, on real digits.

Both sides start from the same weights and train on the same batches; the hand-derived step
skips unlit pixels and sums in another order, so they agree to rounding, step after step.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mnist_tui.engine.config import ACTIVATIONS, Config
from mnist_tui.engine.data import load_split
from mnist_tui.engine.mlp_step import MLPStep, supports
from mnist_tui.engine.model import build_model, store_input_major
from mnist_tui.engine.optim import build_optimizer

CPU = torch.device("cpu")
STEPS = 6
OPTIMIZERS = {
    "sgd-momentum": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.5},  # folded into the buffers
    "sgd-nesterov-decay": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    "sgd-plain": {"optimizer": "sgd", "lr": 0.1},
    "adam": {"optimizer": "adam", "lr": 0.01},
    "adamw": {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.05},
    "rmsprop": {"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.5},  # optimizer.step()
}


@pytest.fixture(scope="module")
def digits(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 1,000 training digits, as the engine holds them (float32 in [0, 1])."""
    from mnist_tui.engine.presets import load_preset

    split = load_split(load_preset("smoke").replace(device="cpu"), data_dir, CPU)
    return split.train_x[:1000], split.train_y[:1000]


def autograd_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_both(config: Config, digits, *, lit_share_limit: float | None = None) -> tuple[list, list, list, list]:
    """Losses and final parameters of the hand-derived step and of autograd, from the same start."""
    x_all, y_all = digits
    torch.manual_seed(config.seed)
    reference = build_model(config)
    model = copy.deepcopy(reference)
    store_input_major(model)
    reference_optimizer = build_optimizer(config, reference, CPU)
    step = MLPStep(config, model, build_optimizer(config, model, CPU))
    if lit_share_limit is not None:
        step.lit_share_limit = lit_share_limit
    model.train()
    reference.train()
    ours, theirs = [], []
    for index in range(STEPS):
        batch = slice(index * config.batch_size, (index + 1) * config.batch_size)
        x, y = x_all[batch], y_all[batch]
        torch.manual_seed(index)  # the same dropout masks on both sides
        loss, logits = step(x, y)
        assert logits.shape == (len(y), 10)
        ours.append(loss.item())
        torch.manual_seed(index)
        theirs.append(autograd_step(reference, reference_optimizer, x, y))
    return ours, theirs, list(model.parameters()), list(reference.parameters())


def assert_close(ours, theirs, params, reference_params) -> None:
    assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-6)
    for mine, expected in zip(params, reference_params):
        # Adam divides a gradient by its own running scale: where a weight's gradient is nearly
        # 0, rounding can move it by a sizeable share of lr (0.01) in either implementation.
        torch.testing.assert_close(mine, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_trains_as_autograd_does(digits, activation: str) -> None:
    config = Config(hidden=(48, 24), activation=activation, optimizer="adam", lr=0.01, batch_size=32, device="cpu")
    assert_close(*train_both(config, digits))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_updates_as_its_torch_step_does(digits, name: str) -> None:
    config = Config(hidden=(48,), activation="sigmoid", batch_size=32, device="cpu", **OPTIMIZERS[name])
    assert_close(*train_both(config, digits))


def test_dropout_masks_and_scaling_match_autograd(digits) -> None:
    config = Config(hidden=(48, 24), dropout=0.3, optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    assert_close(*train_both(config, digits))


@pytest.mark.parametrize("limit", [0.0, 1.0], ids=["every pixel", "lit pixels only"])
def test_the_first_layer_matches_with_and_without_skipping_unlit_pixels(digits, limit: float) -> None:
    """A limit of 0 multiplies every pixel; 1 always gathers the lit ones (a batch of 32 lights about 60 %)."""
    config = Config(hidden=(48,), optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    assert_close(*train_both(config, digits, lit_share_limit=limit))


def test_unlit_pixels_leave_their_weights_to_momentum_alone(digits) -> None:
    """A pixel no digit of the batch lights gets no gradient: its weights move by momentum only."""
    x_all, y_all = digits
    config = Config(hidden=(16,), optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    torch.manual_seed(0)
    model = build_model(config)
    store_input_major(model)
    step = MLPStep(config, model, build_optimizer(config, model, CPU))
    step(x_all[:32], y_all[:32])  # the first step creates the momentum buffers
    x, y = x_all[32:64], y_all[32:64]
    unlit = (x.amax(0) == 0).nonzero().view(-1)
    lit = (x.amax(0) > 0).nonzero().view(-1)
    assert len(unlit) > 100 and len(lit) > 100
    weight = model[0].weight
    buffer = step.optimizer.state[weight]["momentum_buffer"]
    before_weight, before_buffer = weight.detach().clone(), buffer.clone()
    step(x, y)
    torch.testing.assert_close(buffer[:, unlit], 0.5 * before_buffer[:, unlit])
    torch.testing.assert_close(weight[:, unlit], before_weight[:, unlit] - 0.1 * buffer[:, unlit])
    assert not torch.allclose(buffer[:, lit], 0.5 * before_buffer[:, lit])


def test_weights_are_stored_input_major_with_their_values_and_state_dict_unchanged() -> None:
    config = Config(hidden=(20,), device="cpu")
    torch.manual_seed(0)
    plain = build_model(config)
    torch.manual_seed(0)
    model = build_model(config)
    store_input_major(model)
    for layer, plain_layer in ((model[0], plain[0]), (model[2], plain[2])):
        weight = layer.weight
        assert weight.shape == plain_layer.weight.shape and weight.t().is_contiguous() and not weight.is_contiguous()
        assert torch.equal(weight, plain_layer.weight)
    # Checkpoints load across layouts both ways.
    model.load_state_dict(plain.state_dict())
    plain.load_state_dict(model.state_dict())
    assert torch.equal(model[0].weight, plain[0].weight) and model[0].weight.t().is_contiguous()


@pytest.mark.parametrize(
    ("changes", "device", "expected"),
    [
        ({}, "cpu", True),
        ({"dropout": 0.5, "activation": "gelu"}, "cpu", True),
        ({"batch_norm": True}, "cpu", False),
        ({}, "cuda", False),
        ({}, "mps", False),
    ],
)
def test_batch_norm_and_accelerators_keep_the_autograd_step(changes: dict, device: str, expected: bool) -> None:
    assert supports(Config(**changes), torch.device(device)) is expected
