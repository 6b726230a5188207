"""Optimizers and per-epoch learning-rate schedules from the config."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .config import Config


def build_optimizer(config: Config, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
    """The configured optimizer over ``model``'s parameters.

    Where PyTorch has a fused kernel for the device (Adam, AdamW and SGD on CPU and CUDA, Adagrad
    on CPU only), it is used: one kernel for all parameters instead of a loop per tensor, the
    same maths.
    """
    params = model.parameters()
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    fused_adagrad = fused if device.type == "cpu" else {"foreach": True}
    # The foreach optimizers keep their step count on the device when capturable (CUDA graphs).
    loop = {"foreach": True, "capturable": device.type == "cuda"}
    decay = config.weight_decay
    name = config.optimizer
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
            weight_decay=decay, **fused,
        )
    # A fused Adam step is captured into a CUDA graph only when it is built capturable.
    fused_adam = {**fused, "capturable": True} if device.type == "cuda" else fused
    if name == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=decay, **fused_adam)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=decay, **fused_adam)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=config.lr, weight_decay=decay, **fused_adagrad)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=config.lr, momentum=config.momentum, weight_decay=decay, **loop
        )
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=config.lr, weight_decay=decay, **loop)
    if name == "radam":
        return torch.optim.RAdam(params, lr=config.lr, weight_decay=decay, **loop)
    raise ValueError(f"unknown optimizer {name!r}")


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """``optimizer.load_state_dict(state)``, each state tensor then laid out in memory as its parameter.

    PyTorch's fused kernels pair a parameter's elements with its state's by memory position, so
    state saved from a model stored another way (input-major on the CPU, ``model.store_flat``)
    would update the wrong elements.
    """
    optimizer.load_state_dict(state)
    for param, param_state in optimizer.state.items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                param_state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def build_schedule(config: Config, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    """A scheduler stepped once per epoch (constant keeps the learning rate)."""
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_epochs, gamma=config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
