"""The MLP: hidden sizes, activation, batch norm, dropout and weight init from the config."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import Config

INPUT_SIZE = 28 * 28
CLASSES = 10

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


def build_model(config: Config) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] per hidden layer, then a linear output.

    The output is raw logits; training uses cross-entropy, which equals the sources'
    ``log_softmax`` + ``nll_loss``.
    """
    layers: list[nn.Module] = []
    width = INPUT_SIZE
    for size in config.hidden:
        layers.append(nn.Linear(width, size))
        if config.batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(_ACTIVATIONS[config.activation]())
        if config.dropout > 0:
            layers.append(nn.Dropout(config.dropout))
        width = size
    layers.append(nn.Linear(width, CLASSES))
    model = nn.Sequential(*layers)
    if config.init != "default":
        for layer in model:
            if isinstance(layer, nn.Linear):
                _initialise(layer, config.init)
    return model


def store_input_major(model: nn.Sequential) -> None:
    """Keep each linear layer's weight (shape out x in, values unchanged) in input-major memory order.

    One input's weights are then one contiguous row of ``weight.t()``: the CPU step
    (``mlp_step.py``) gathers the rows of the pixels a batch lights, and computes every weight
    gradient as ``input.t() @ grad``, whose result does not depend on MKL's thread count.
    nn.Linear, the optimizers and ``state_dict`` work with any strides (gradients and optimizer
    state take the parameter's layout), but autograd's CPU backward is slower with this one, so
    only models trained by that step are stored so.
    """
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight = nn.Parameter(layer.weight.t().contiguous().t())


def _initialise(layer: nn.Linear, scheme: str) -> None:
    weight = layer.weight
    if scheme == "kaiming_uniform":
        # As the source writes it: init.kaiming_uniform_(m.weight) with its defaults; bias kept.
        nn.init.kaiming_uniform_(weight)
        return
    if scheme == "kaiming_normal":
        nn.init.kaiming_normal_(weight, nonlinearity="relu")
    elif scheme == "lecun":
        nn.init.normal_(weight, std=1.0 / math.sqrt(weight.shape[1]))
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(weight)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(weight)
    else:
        raise ValueError(f"unknown init {scheme!r}")
    nn.init.zeros_(layer.bias)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def tensor_fingerprint(model: nn.Module) -> float:
    """Sum of all parameters: a cheap check that two models hold the same weights."""
    with torch.no_grad():
        return float(sum(p.double().sum() for p in model.parameters()))
