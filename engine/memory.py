"""An up-front estimate of a run's memory, checked against what the machine has free.

A configuration that cannot fit is refused before anything is allocated (exit 2 with the
estimate), rather than grinding the machine into swap until the kernel kills the process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import SPLIT_POOLS, TRAIN_DIGITS, Config, ConfigError, train_digits
from .model import CLASSES, INPUT_SIZE

FLOAT = 4
EVAL_BATCH = 8192
POOL_DIGITS = SPLIT_POOLS["pooled"]
"""Every MNIST digit, training and test: what loading reads at most."""
_STATE_COPIES = {"sgd": 0, "adagrad": 1, "rmsprop": 1, "adadelta": 2, "adam": 2, "adamw": 2, "radam": 2}
"""Parameter-sized tensors each optimizer keeps (momentum adds one to SGD and RMSprop)."""


@dataclass(frozen=True)
class Estimate:
    """Bytes a run needs, by what needs them."""

    parameters: int
    weights: int
    gradients: int
    optimizer: int
    checkpoint: int
    batches: int
    data: int

    @property
    def device_bytes(self) -> int:
        """What lives on the training device."""
        return self.weights + self.gradients + self.optimizer + self.batches + self.data

    @property
    def total(self) -> int:
        return self.device_bytes + self.checkpoint

    @property
    def parameter_bytes(self) -> int:
        """What the model's size drives: weights, gradients, optimizer state and the checkpoint."""
        return self.weights + self.gradients + self.optimizer + self.checkpoint

    def describe(self) -> str:
        return (
            f"about {_size(self.total)} ({self.parameters / 1e6:,.1f} million parameters: weights "
            f"{_size(self.weights)}, gradients {_size(self.gradients)}, optimizer state {_size(self.optimizer)}, "
            f"checkpoint {_size(self.checkpoint)}; batches {_size(self.batches)}; data {_size(self.data)})"
        )


def count_parameters(config: Config) -> int:
    """Trainable parameters of the config's model, without building it."""
    total, width = 0, INPUT_SIZE
    for size in (*config.hidden, CLASSES):
        total += width * size + size
        width = size
    if config.batch_norm:
        total += 2 * sum(config.hidden)
    return total


def step_batch(config: Config) -> int:
    """The digits a training step really takes: ``batch_size``, at most the whole training set."""
    return min(config.batch_size, train_digits(config))


def estimate(config: Config) -> Estimate:
    """Parameters, gradients, optimizer state, the checkpoint's serialized copy, batches and data."""
    parameters = count_parameters(config)
    copies = _STATE_COPIES[config.optimizer] + (config.momentum > 0 and config.optimizer in ("sgd", "rmsprop"))
    weights = parameters * FLOAT
    # A training step keeps each layer's input, output and gradient; evaluation two layers at a time.
    widest = max(config.hidden)
    batches = FLOAT * (step_batch(config) * (INPUT_SIZE + 3 * sum(config.hidden) + 3 * CLASSES) + 2 * EVAL_BATCH * widest)
    train = train_digits(config)
    data = POOL_DIGITS * INPUT_SIZE * 2 + (train + POOL_DIGITS - TRAIN_DIGITS) * INPUT_SIZE * FLOAT
    return Estimate(
        parameters=parameters,
        weights=weights,
        gradients=weights,
        optimizer=weights * copies,
        checkpoint=weights * (1 + copies),
        batches=batches,
        data=data,
    )


def check_memory(config: Config, device: torch.device) -> None:
    """Raise a ConfigError with the estimate when the run cannot fit in the memory that is free."""
    needed = estimate(config)
    host = available_host_memory()
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if needed.device_bytes > free:
            parts = {"model": needed.parameter_bytes - needed.checkpoint, "batches": needed.batches, "data": needed.data}
            raise ConfigError(_refusal(config, needed, parts, free, f"free on {device}"))
        parts = {"model": needed.checkpoint, "data": needed.data}  # the host keeps the checkpoint and the files
    else:
        parts = {"model": needed.parameter_bytes, "batches": needed.batches, "data": needed.data}
    if host is not None and sum(parts.values()) > host:
        raise ConfigError(_refusal(config, needed, parts, host, "available"))


def _refusal(config: Config, needed: Estimate, parts: dict[str, int], free: int, where: str) -> str:
    """The refusal, with advice on what drives the estimate: the model's size, the batch a step
    takes, or the data."""
    hidden = ", ".join(str(size) for size in config.hidden)
    largest = max(parts, key=parts.__getitem__)
    if largest == "batches":
        advice = (
            f"most of it is a training step's batch of {step_batch(config):,} digits; "
            "use a smaller batch_size or smaller hidden layers"
        )
    elif largest == "data":
        advice = f"most of it is the {train_digits(config):,} training digits; use a smaller train_limit"
    else:
        advice = "use fewer or smaller hidden layers"
    return (
        f"hidden = [{hidden}] with {config.optimizer} needs {needed.describe()}, "
        f"but {_size(free)} are {where}; {advice}"
    )


def available_host_memory() -> int | None:
    """Bytes the kernel can still give this process (the cgroup's limit counted), or None where unknown."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    limit = _cgroup_room()
    if limit is not None:
        found.append(limit)
    return min(found) if found else None


def _cgroup_room() -> int | None:
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((root / "memory.current").read_text())
    except (OSError, ValueError):
        return None


def _size(count: float) -> str:
    if count < 1000:
        return f"{count:,.0f} bytes"
    for unit in ("kB", "MB"):
        count /= 1000
        if count < 1000:
            return f"{count:,.1f} {unit}"
    return f"{count / 1000:,.1f} GB"
