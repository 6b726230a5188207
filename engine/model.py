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


_ALIGN = 16  # elements of 4 bytes: 64-byte cache lines


def store_flat(model: nn.Module) -> None:
    """Keep every parameter (values unchanged) as a view of one flat buffer, each linear weight input-major.

    The CPU step (``mlp_step.py``) then updates all of them with one optimizer kernel on the flat
    buffer (``flat_update.py``). Input-major (shape out x in, stored as its transpose) makes one
    input's weights one contiguous row of ``weight.t()``: the step gathers the rows of the pixels
    a batch lights, and computes every weight gradient as ``input.t() @ grad``, whose result does
    not depend on MKL's thread count. nn.Linear, the optimizers and ``state_dict`` work with any
    strides (gradients and optimizer state take the parameter's layout), but autograd's CPU
    backward is slower with this one, so only models trained by that step are stored so.
    """
    params = list(model.parameters())
    starts = [0]
    for param in params:  # each starts on a cache line, as a tensor of its own would
        starts.append(-(-(starts[-1] + param.numel()) // _ALIGN) * _ALIGN)
    flat = torch.zeros(starts[-1], dtype=params[0].dtype, device=params[0].device)
    with torch.no_grad():
        named = [(module, name) for module in model.modules() for name, _ in module.named_parameters(recurse=False)]
        for (module, name), param, start in zip(named, params, starts):
            chunk = flat[start : start + param.numel()]
            if isinstance(module, nn.Linear) and name == "weight":
                view = chunk.view(param.shape[1], param.shape[0]).t()
            else:
                view = chunk.view(param.shape)
            view.copy_(param)
            setattr(module, name, nn.Parameter(view, requires_grad=param.requires_grad))


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """The flat buffer that :func:`store_flat` made every parameter a view of (the gaps between
    them are zeros, which an elementwise optimizer step keeps at zero)."""
    params = list(model.parameters())
    storage = params[0].untyped_storage()
    if any(p.untyped_storage().data_ptr() != storage.data_ptr() for p in params):
        raise ValueError("the model's parameters are not one flat buffer: call model.store_flat first")
    return params[0].detach().as_strided((storage.nbytes() // params[0].element_size(),), (1,), 0)


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
