"""A training step captured once as a CUDA graph and replayed for every full-size batch.

An MLP step on MNIST is a few dozen small kernels; launching them one by one from Python costs
more than running them. A graph launches the whole step (gather, forward, backward, optimizer
update, loss and accuracy sums) at once. The maths is the same; the step's tensors are static,
so only the batch's indices are copied in before each replay. The graph is captured again when
the learning rate changes, because the optimizer kernels hold it as a constant.
"""

from __future__ import annotations

from typing import Callable

import torch

from .config import Config

# Optimizers whose CUDA step can be captured (fused, or built with capturable=True).
CAPTURABLE = ("sgd", "adam", "adamw", "rmsprop", "adadelta", "radam")
WARMUP_STEPS = 3


def uses_cuda_graphs(config: Config, device: torch.device) -> bool:
    """Whether this run replays its steps as a CUDA graph."""
    return config.cuda_graphs and device.type == "cuda" and config.optimizer in CAPTURABLE


class CapturedStep:
    """Runs ``step(index)`` eagerly for a short warm-up, then as a replayed CUDA graph."""

    def __init__(self, step: Callable[[torch.Tensor], torch.Tensor], batch_size: int, device: torch.device) -> None:
        self._step = step
        self._index = torch.zeros(batch_size, dtype=torch.long, device=device)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._loss: torch.Tensor | None = None
        self._lr: float | None = None
        self._warm = 0
        self._side = torch.cuda.Stream(device)

    def invalidate(self) -> None:
        """Forget the graph (after the optimizer's state was loaded anew)."""
        self._graph = None
        self._loss = None

    def step(self, index: torch.Tensor, *, lr: float) -> torch.Tensor:
        """One training step on ``index``; returns the loss (a device scalar, valid until the next step)."""
        if self._warm < WARMUP_STEPS:
            # Warm up on a side stream, as PyTorch asks: lazy state (optimizer buffers, cuBLAS
            # workspaces) must exist before capture. These are ordinary training steps.
            self._side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self._side):
                loss = self._step(index)
            torch.cuda.current_stream().wait_stream(self._side)
            self._warm += 1
            return loss
        if self._graph is None or lr != self._lr:
            self._capture(lr)
        assert self._graph is not None and self._loss is not None
        self._index.copy_(index)
        self._graph.replay()
        return self._loss

    def _capture(self, lr: float) -> None:
        self._graph = None
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._loss = self._step(self._index)
        self._graph, self._lr = graph, lr
