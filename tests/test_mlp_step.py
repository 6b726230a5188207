"""The CPU's hand-derived step (engine/mlp_step.py) against autograd, on real digits.

Both sides start from the same weights and train on the same batches; the hand-derived step
skips unlit pixels and sums in another order, so they agree to rounding, step after step.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

from mnist_tui.engine.config import ACTIVATIONS, Config
from mnist_tui.engine.data import load_split
from mnist_tui.engine.events import RunFinished
from mnist_tui.engine.mlp_step import GATHER_MIN_WIDTH, LIT_SHARE_LIMIT, MLPStep, dropout_mask, supports
from mnist_tui.engine.model import build_model, flat_parameters, store_flat
from mnist_tui.engine.optim import build_optimizer, load_optimizer_state

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
WIDTH_ONE = [(1,), (1, 64), (3, 1)]


@pytest.fixture(scope="module")
def digits(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 1,000 training digits, as the engine holds them (float32 in [0, 1])."""
    from mnist_tui.engine.presets import load_preset

    split = load_split(load_preset("smoke").replace(device="cpu"), data_dir, CPU)
    return split.train_x[:1000], split.train_y[:1000]


class SameDraws(torch.nn.Module):
    """``nn.Dropout`` drawing its mask as the hand-derived step does, for autograd to go through."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * dropout_mask(x, self.p) if self.training else x


class Pair:
    """The hand-derived step and autograd on copies of one freshly initialised model."""

    def __init__(self, config: Config, *, lit_share_limit: float | None = None) -> None:
        torch.manual_seed(config.seed)
        self.reference = build_model(config)
        self.model = copy.deepcopy(self.reference)
        for index, module in enumerate(self.reference):
            if isinstance(module, torch.nn.Dropout):
                self.reference[index] = SameDraws(module.p)
        store_flat(self.model)
        self.reference_optimizer = build_optimizer(config, self.reference, CPU)
        self.step = MLPStep(config, self.model, build_optimizer(config, self.model, CPU))
        # These models are narrow: without a limit they would never gather the lit pixels, and
        # every test here checks that path unless it says otherwise.
        self.step.lit_share_limit = LIT_SHARE_LIMIT if lit_share_limit is None else lit_share_limit
        self.model.train()
        self.reference.train()

    def ours(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
        torch.manual_seed(seed)  # the same dropout masks on both sides
        loss, logits = self.step(x, y)
        assert logits.shape == (len(y), 10)
        return loss.item()

    def theirs(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
        torch.manual_seed(seed)
        loss = F.cross_entropy(self.reference(x), y)
        self.reference_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.reference_optimizer.step()
        return loss.item()


def batch(digits, index: int, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    x_all, y_all = digits
    return x_all[index * size : (index + 1) * size], y_all[index * size : (index + 1) * size]


def train_both(config: Config, digits, *, lit_share_limit: float | None = None) -> tuple[list, list, Pair]:
    """Losses of the hand-derived step and of autograd over ``STEPS`` batches, from the same start."""
    pair = Pair(config, lit_share_limit=lit_share_limit)
    ours, theirs = [], []
    for index in range(STEPS):
        x, y = batch(digits, index, config.batch_size)
        ours.append(pair.ours(x, y, index))
        theirs.append(pair.theirs(x, y, index))
    return ours, theirs, pair


def assert_close(ours: list, theirs: list, pair: Pair) -> None:
    """Losses, parameters and batch norm's running statistics agree to rounding."""
    assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-6)
    expected = pair.reference.state_dict()
    for name, mine in pair.model.state_dict().items():
        # Adam divides a gradient by its own running scale: where a weight's gradient is nearly
        # 0, rounding can move it by a sizeable share of lr (0.01) in either implementation.
        torch.testing.assert_close(mine, expected[name], rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_trains_as_autograd_does(digits, activation: str) -> None:
    config = Config(hidden=(48, 24), activation=activation, optimizer="adam", lr=0.01, batch_size=32, device="cpu")
    assert_close(*train_both(config, digits))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_updates_as_its_torch_step_does(digits, name: str) -> None:
    config = Config(hidden=(48,), activation="sigmoid", batch_size=32, device="cpu", **OPTIMIZERS[name])
    assert_close(*train_both(config, digits))


def test_dropout_trains_as_autograd_does(digits) -> None:
    config = Config(hidden=(48, 24), dropout=0.3, optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    assert_close(*train_both(config, digits))


def test_dropout_keeps_each_unit_with_probability_one_minus_p_scaled_as_nn_dropout() -> None:
    torch.manual_seed(0)
    mask = dropout_mask(torch.ones(1000, 100), 0.3)
    torch.manual_seed(0)
    scale = F.dropout(torch.ones(1000, 100), 0.3).max()
    assert set(mask.unique().tolist()) == {0.0, scale.item()}
    kept = float((mask > 0).float().mean())
    assert abs(kept - 0.7) < 0.007, "5 standard deviations of 100,000 draws"


@pytest.mark.parametrize("name", ["sgd-momentum", "sgd-nesterov-decay", "sgd-plain"])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_batch_norm_trains_as_autograd_does_and_keeps_the_same_running_statistics(digits, name: str, dropout: float) -> None:
    """Parameters, running mean and variance and the batch count, with folded momentum and the fused
    update (adaptive optimizers are in the gradient test below)."""
    config = Config(hidden=(48, 24), batch_norm=True, dropout=dropout, batch_size=32, device="cpu", **OPTIMIZERS[name])
    ours, theirs, pair = train_both(config, digits)
    assert_close(ours, theirs, pair)
    norm = pair.model[1]
    assert int(norm.num_batches_tracked) == STEPS
    assert not torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    # Evaluation normalises with the running statistics, on both sides alike.
    pair.model.eval()
    pair.reference.eval()
    x, _ = batch(digits, STEPS)
    with torch.no_grad():
        torch.testing.assert_close(pair.model(x), pair.reference(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("hidden", [(48, 24), *WIDTH_ONE], ids=str)
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch norm"])
@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_every_gradient_matches_autograd(digits, hidden: tuple[int, ...], batch_norm: bool, name: str) -> None:
    """The gradients themselves, step after step from the same weights (Adam's flat update and
    RMSprop's ``optimizer.step()`` leave them in ``.grad``).

    With batch norm, some exact gradients are 0 (a bias before a norm; a weight from a layer of
    width 1 into a norm, which is scale-invariant); Adam turns their rounding into steps of
    about ``lr`` in either implementation, so each step starts from our weights on both sides.
    """
    config = Config(hidden=hidden, batch_norm=batch_norm, dropout=0.2, batch_size=32, device="cpu", **OPTIMIZERS[name])
    pair = Pair(config)
    for index in range(4):
        pair.reference.load_state_dict(pair.model.state_dict())
        x, y = batch(digits, index)
        loss = pair.ours(x, y, index)
        assert pair.theirs(x, y, index) == pytest.approx(loss, rel=1e-5)
        # A gradient that is 0 in exact arithmetic is rounding, in sums over the batch, of terms
        # as large as the largest gradients: its tolerance is relative to them.
        scale = max(float(p.grad.abs().max()) for p in pair.reference.parameters())
        for (name, mine), theirs in zip(pair.model.named_parameters(), pair.reference.parameters()):
            torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-4, atol=1e-5 * scale, msg=name)


@pytest.mark.parametrize("hidden", WIDTH_ONE, ids=str)
@pytest.mark.parametrize("name", ["sgd-momentum", "sgd-plain", "adam", "rmsprop"])
def test_a_layer_of_width_one_trains_as_autograd_does(digits, hidden: tuple[int, ...], name: str) -> None:
    config = Config(hidden=hidden, batch_size=32, device="cpu", **OPTIMIZERS[name])
    assert_close(*train_both(config, digits))


@pytest.mark.parametrize("hidden", WIDTH_ONE, ids=str)
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch norm"])
def test_a_run_with_a_layer_of_width_one_finishes(train: Callable, tiny: Config, hidden, batch_norm: bool) -> None:
    events = train(tiny.replace(hidden=hidden, batch_norm=batch_norm, epochs=1), runs_dir=None)
    assert isinstance(events[-1], RunFinished), events[-1]


@pytest.mark.parametrize("limit", [0.0, 1.0], ids=["every pixel", "lit pixels only"])
def test_the_first_layer_matches_with_and_without_skipping_unlit_pixels(digits, limit: float) -> None:
    """A limit of 0 multiplies every pixel; 1 always gathers the lit ones (a batch of 32 lights about 60 %)."""
    config = Config(hidden=(48,), optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    assert_close(*train_both(config, digits, lit_share_limit=limit))


@pytest.mark.parametrize("width", [GATHER_MIN_WIDTH - 1, GATHER_MIN_WIDTH])
def test_only_a_first_layer_wide_enough_looks_for_the_lit_pixels(digits, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Narrower, finding and gathering them cost more than the products save: every pixel is multiplied."""
    looked = []
    nonzero = torch.nonzero
    monkeypatch.setattr(torch, "nonzero", lambda *args, **kwargs: looked.append(1) or nonzero(*args, **kwargs))
    config = Config(hidden=(width,), optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    torch.manual_seed(config.seed)
    model = build_model(config)
    store_flat(model)
    step = MLPStep(config, model, build_optimizer(config, model, CPU))
    model.train()
    for index in range(3):
        step(*batch(digits, index))
    assert step.lit_share_limit == (LIT_SHARE_LIMIT if width >= GATHER_MIN_WIDTH else 0.0)
    assert len(looked) == (3 if width >= GATHER_MIN_WIDTH else 0)


def test_unlit_pixels_leave_their_weights_to_momentum_alone(digits) -> None:
    """A pixel no digit of the batch lights gets no gradient: its weights move by momentum only."""
    config = Config(hidden=(16,), optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    step = Pair(config).step
    step(*batch(digits, 0))  # the first step creates the momentum buffers
    x, y = batch(digits, 1)
    unlit = (x.amax(0) == 0).nonzero().view(-1)
    lit = (x.amax(0) > 0).nonzero().view(-1)
    assert len(unlit) > 100 and len(lit) > 100
    weight = step.model[0].weight
    buffer = step.optimizer.state[weight]["momentum_buffer"]
    before_weight, before_buffer = weight.detach().clone(), buffer.clone()
    step(x, y)
    torch.testing.assert_close(buffer[:, unlit], 0.5 * before_buffer[:, unlit])
    torch.testing.assert_close(weight[:, unlit], before_weight[:, unlit] - 0.1 * buffer[:, unlit])
    assert not torch.allclose(buffer[:, lit], 0.5 * before_buffer[:, lit])


def test_a_batch_of_one_digit_with_batch_norm_fails_as_torch_does(digits) -> None:
    config = Config(hidden=(16,), batch_norm=True, batch_size=32, device="cpu")
    pair = Pair(config)
    x, y = batch(digits, 0, size=1)
    with pytest.raises(ValueError) as torch_error:
        pair.reference(x)
    with pytest.raises(ValueError) as our_error:
        pair.step(x, y)
    assert str(our_error.value) == str(torch_error.value)


def test_parameters_are_views_of_one_flat_buffer_with_values_and_state_dict_unchanged() -> None:
    config = Config(hidden=(20, 1), batch_norm=True, device="cpu")
    torch.manual_seed(0)
    plain = build_model(config)
    model = copy.deepcopy(plain)
    store_flat(model)
    flat = flat_parameters(model)
    assert sum(p.numel() for p in plain.parameters()) <= flat.numel() < 16 * 11 + sum(p.numel() for p in plain.parameters())
    for (name, param), plain_param in zip(model.named_parameters(), plain.parameters()):
        assert torch.equal(param, plain_param), name
        assert param.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr(), name
        assert param.data_ptr() % 64 == 0, f"{name} starts on a cache line"
    for linear in (model[0], model[3], model[6]):
        assert linear.weight.t().is_contiguous(), "input-major: one input's weights are a contiguous row"
    with torch.no_grad():
        flat.zero_()
    assert all(not param.any() for param in model.parameters())
    # Checkpoints load across layouts both ways, and loading keeps the flat layout.
    model.load_state_dict(plain.state_dict())
    plain.load_state_dict(model.state_dict())
    assert torch.equal(model[0].weight, plain[0].weight) and flat.any()
    with pytest.raises(ValueError, match="store_flat"):
        flat_parameters(plain)


@pytest.mark.parametrize("name", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch norm"])
def test_a_saved_state_continues_exactly_and_loads_into_an_ordinary_optimizer(digits, name: str, batch_norm: bool) -> None:
    """Stopped after 3 steps, saved and loaded into a new step: the same 3 further losses, bit for bit.
    The same saved state continues under autograd and torch's own optimizer to rounding."""
    config = Config(hidden=(32, 16), batch_norm=batch_norm, batch_size=32, device="cpu", **OPTIMIZERS[name])
    straight = Pair(config)
    losses = [straight.ours(*batch(digits, i), i) for i in range(6)]
    first = Pair(config)
    for i in range(3):
        first.ours(*batch(digits, i), i)
    saved = copy.deepcopy({"model": first.model.state_dict(), "optimizer": first.step.optimizer.state_dict()})
    resumed = Pair(config)
    resumed.model.load_state_dict(saved["model"])
    resumed.step.optimizer.load_state_dict(saved["optimizer"])
    resumed.step.invalidate()
    assert [resumed.ours(*batch(digits, i), i) for i in range(3, 6)] == losses[3:]
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()))
    elsewhere = Pair(config)
    elsewhere.reference.load_state_dict(saved["model"])
    load_optimizer_state(elsewhere.reference_optimizer, saved["optimizer"])
    theirs = [elsewhere.theirs(*batch(digits, i), i) for i in range(3, 6)]
    assert theirs == pytest.approx(losses[3:], rel=1e-4)


def test_settings_changed_mid_run_take_effect_as_in_torch(digits) -> None:
    """lr, momentum and weight decay changed between steps (a `set` command): folded momentum, the
    fused update, momentum off and on again, all as torch.optim.SGD does."""
    config = Config(hidden=(32,), optimizer="sgd", lr=0.1, momentum=0.5, batch_size=32, device="cpu")
    pair = Pair(config)
    changes = [{}, {"lr": 0.05}, {"weight_decay": 1e-3}, {"momentum": 0.0}, {"momentum": 0.9, "weight_decay": 0.0}, {}]
    ours, theirs = [], []
    for index, change in enumerate(changes):
        for optimizer in (pair.step.optimizer, pair.reference_optimizer):
            optimizer.param_groups[0].update(change)
        x, y = batch(digits, index)
        ours.append(pair.ours(x, y, index))
        theirs.append(pair.theirs(x, y, index))
    assert_close(ours, theirs, pair)


@pytest.mark.parametrize(
    ("changes", "device", "expected"),
    [
        ({}, "cpu", True),
        ({"dropout": 0.5, "activation": "gelu"}, "cpu", True),
        ({"batch_norm": True, "hidden": (1,)}, "cpu", True),
        ({}, "cuda", False),
        ({}, "mps", False),
    ],
)
def test_accelerators_keep_the_autograd_step(changes: dict, device: str, expected: bool) -> None:
    assert supports(Config(**changes), torch.device(device)) is expected
