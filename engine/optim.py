"""Optimizers and per-epoch learning-rate schedules from the config."""

from __future__ import annotations

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


def build_schedule(config: Config, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    """A scheduler stepped once per epoch (constant keeps the learning rate)."""
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_epochs, gamma=config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
