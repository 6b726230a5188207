"""A hand-derived training step for the MLP on the CPU: the same maths, with less work per batch.

On one CPU core at MNIST's batch sizes, autograd's bookkeeping is a large share of a step: it
records a graph, allocates every gradient anew, ``zero_grad`` frees them, and ``Optimizer.step``
spends 0.1 to 0.3 ms in Python before its fused kernel runs. This step calls the kernels autograd
would call (linear, activation and dropout forward; the loss; their backward functions), writes
the gradients into tensors allocated once, and updates the parameters through ``torch.optim``'s
functional API on the optimizer's own state, so checkpoints and resuming see an ordinary optimizer.

Two more savings, both exact in real arithmetic:

- **Unlit pixels.** Four in five MNIST pixels are 0, and a batch of 32 digits lights only about
  460 of the 784. Their columns of the input contribute nothing to the first layer's output or
  weight gradient, so both products run over the lit pixels only (weights are stored
  input-major, ``model.store_input_major``, so a pixel's weights are one contiguous row).
- **Momentum SGD without a gradient tensor.** ``buffer = momentum * buffer + grad`` is one
  matrix product accumulated into the momentum buffer (``addmm_`` with ``beta=momentum``), then
  ``param -= lr * buffer``: what ``torch.optim.SGD`` computes, in two passes over memory instead
  of five.

Summing fewer terms, or in another order, changes the last bits of a float: losses here match
autograd's to rounding, and every run on the CPU takes this path, so a seed still fixes them.
Every weight gradient is computed as ``input.t() @ grad``: unlike autograd's ``grad.t() @ input``
(10 rows for the last layer), MKL gives it the same bits on any thread count, so the thread count
may follow the machine's load (``threads.py``). Models with batch norm keep the autograd step
(``supports`` says which configs this covers).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.optim import adam, adamw, sgd

from .config import Config

aten = torch.ops.aten

# Each activation as its nn module computes it, and its backward from what the forward saved:
# (grad, input, output) -> grad of the input.
_FORWARD: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": nn.functional.gelu,
    "silu": nn.functional.silu,
    "elu": nn.functional.elu,
    "leaky_relu": nn.functional.leaky_relu,
}
_BACKWARD: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "relu": lambda grad, _z, a: aten.threshold_backward(grad, a, 0),
    "sigmoid": lambda grad, _z, a: aten.sigmoid_backward(grad, a),
    "tanh": lambda grad, _z, a: aten.tanh_backward(grad, a),
    "gelu": lambda grad, z, _a: aten.gelu_backward(grad, z),
    "silu": lambda grad, z, _a: aten.silu_backward(grad, z),
    "elu": lambda grad, z, _a: aten.elu_backward(grad, 1.0, 1.0, 1.0, False, z),
    "leaky_relu": lambda grad, z, _a: aten.leaky_relu_backward(grad, z, 0.01, False),
}

# Optimizers updated through the functional API; the others keep ``optimizer.step()``.
_FUNCTIONAL = ("sgd", "adam", "adamw")

# Above this share of lit pixels, gathering them costs more than the products save.
LIT_SHARE_LIMIT = 0.8


def supports(config: Config, device: torch.device) -> bool:
    """Whether runs of ``config`` on ``device`` train with :class:`MLPStep`."""
    return device.type == "cpu" and not config.batch_norm and config.activation in _BACKWARD


class _Saved:
    """What one hidden layer's backward needs from its forward."""

    __slots__ = ("input", "z", "out", "mask")

    def __init__(self, layer_input: torch.Tensor, z: torch.Tensor, out: torch.Tensor, mask: torch.Tensor | None):
        self.input, self.z, self.out, self.mask = layer_input, z, out, mask


class MLPStep:
    """Forward, backward and update of a :func:`~.model.build_model` MLP for one batch.

    Training images must be non-negative (``data.py`` scales bytes to [0, 1]): a pixel counts as
    lit in a batch when its largest value there is above 0.
    """

    def __init__(self, config: Config, model: nn.Sequential, optimizer: torch.optim.Optimizer) -> None:
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.linears = [layer for layer in model if isinstance(layer, nn.Linear)]
        if not all(layer.weight.t().is_contiguous() for layer in self.linears):
            raise ValueError("MLPStep needs input-major weights: call model.store_input_major before building the optimizer")
        self._activation = _FORWARD[config.activation]
        self._activation_backward = _BACKWARD[config.activation]
        self._dropout = config.dropout
        self.lit_share_limit = LIT_SHARE_LIMIT
        self.params = [p for layer in self.linears for p in (layer.weight, layer.bias)]
        with torch.no_grad():
            for p in self.params:
                p.grad = torch.zeros_like(p)  # the parameter's layout: input-major weights
        # The optimizers' fused CPU kernels copy non-contiguous tensors in and out; their update
        # is elementwise, so they are given every tensor in memory order (each weight's
        # transpose) instead.
        self._params = [_memory_order(p) for p in self.params]
        self._grads = [_memory_order(p.grad) for p in self.params]
        self._state: list[list[torch.Tensor]] | None = None
        group = optimizer.param_groups[0]
        # Plain momentum SGD folds each gradient straight into its momentum buffer.
        self._fold = (
            config.optimizer == "sgd" and group["momentum"] > 0 and group["dampening"] == 0
            and not group["nesterov"] and group["weight_decay"] == 0 and not group["maximize"]
        )

    def invalidate(self) -> None:
        """Forget the optimizer's state tensors (after ``optimizer.load_state_dict``)."""
        self._state = None

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on the batch (x, y); returns (loss, logits)."""
        logits, saved, lit = self._forward(x)
        log_p = torch.log_softmax(logits, 1)
        loss, total = aten.nll_loss_forward(log_p, y, None, 1, -100)
        grad = aten.nll_loss_backward(torch.ones_like(loss), log_p, y, None, 1, -100, total)
        grad = aten._log_softmax_backward_data(grad, log_p, 1, log_p.dtype)
        if self.config.optimizer not in _FUNCTIONAL or not self.optimizer.state:
            # The first step lets the optimizer create its state as it always does.
            self._backward(grad, saved, lit, buffers=None)
            self.optimizer.step()
        elif self._fold:
            buffers = self._optimizer_state()[0]
            self._backward(grad, saved, lit, buffers=buffers)
            lr = self.optimizer.param_groups[0]["lr"]
            for param, buffer in zip(self._params, buffers):
                param.add_(buffer, alpha=-lr)
        else:
            self._backward(grad, saved, lit, buffers=None)
            self._update()
        return loss, logits

    # --- forward and backward ---------------------------------------------------------------

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[_Saved], torch.Tensor | None]:
        """Logits, what each layer's backward needs, and the batch's lit pixels (None: all of them)."""
        first = self.linears[0]
        lit = torch.nonzero(x.amax(0)).view(-1)
        if lit.numel() <= self.lit_share_limit * x.shape[1]:
            x = x.index_select(1, lit)
            z = torch.addmm(first.bias, x, self._params[0].index_select(0, lit))
        else:
            lit = None
            z = torch.addmm(first.bias, x, self._params[0])
        saved: list[_Saved] = []
        training = self.model.training
        a = x
        for index, layer in enumerate(self.linears[1:], 1):
            out = self._activation(z)
            mask = None
            if self._dropout > 0 and training:
                dropped, mask = aten.native_dropout(out, self._dropout, True)
                saved.append(_Saved(a, z, out, mask))
                a = dropped
            else:
                saved.append(_Saved(a, z, out, mask))
                a = out
            z = torch.addmm(layer.bias, a, self._params[2 * index])
        saved.append(_Saved(a, z, z, None))  # the output layer: only its input is used
        return z, saved, lit

    def _backward(
        self, grad: torch.Tensor, saved: list[_Saved], lit: torch.Tensor | None, buffers: list[torch.Tensor] | None
    ) -> None:
        """From the loss gradient at the logits, fill each ``.grad`` or, with ``buffers`` (the
        momentum buffers in memory order), fold it into them (``buffer = momentum * buffer + grad``)."""
        momentum = self.optimizer.param_groups[0]["momentum"] if buffers is not None else 0.0
        scale = 1.0 / (1.0 - self._dropout) if self._dropout < 1 else 0.0
        for index in range(len(self.linears) - 1, -1, -1):
            layer = self.linears[index]
            layer_input = saved[index].input
            # Memory-order views (one row per input for a weight) of the buffers or gradients.
            into = buffers if buffers is not None else self._grads
            weight_into, bias_into = into[2 * index], into[2 * index + 1]
            _weight_grad(weight_into, layer_input, grad, lit if index == 0 else None, momentum)
            if buffers is not None:
                torch.add(grad.sum(0), bias_into, alpha=momentum, out=bias_into)
            else:
                torch.sum(grad, 0, out=bias_into)
            if index == 0:
                return
            grad = torch.mm(grad, layer.weight)
            below = saved[index - 1]
            if below.mask is not None:
                grad = aten.native_dropout_backward(grad, below.mask, scale)
            grad = self._activation_backward(grad, below.z, below.out)

    # --- optimizer --------------------------------------------------------------------------

    def _update(self) -> None:
        """One step of the configured optimizer, through its functional form."""
        state = self._optimizer_state()
        group = self.optimizer.param_groups[0]
        if self.config.optimizer == "sgd":
            sgd.sgd(
                self._params, self._grads, state[0], fused=group["fused"], foreach=group["foreach"],
                weight_decay=group["weight_decay"], momentum=group["momentum"], lr=group["lr"],
                dampening=group["dampening"], nesterov=group["nesterov"], maximize=group["maximize"],
            )
            return
        exp_avgs, exp_avg_sqs, steps = state
        update = adam.adam if self.config.optimizer == "adam" else adamw.adamw
        beta1, beta2 = group["betas"]
        update(
            self._params, self._grads, exp_avgs, exp_avg_sqs, [], steps,
            fused=group["fused"], foreach=group["foreach"], amsgrad=False, beta1=beta1, beta2=beta2,
            lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
        )

    def _optimizer_state(self) -> list[list[torch.Tensor]]:
        """The optimizer's state tensors, per kind, in parameter order and memory order (cached
        until invalidated)."""
        if self._state is None:
            state = [self.optimizer.state[p] for p in self.params]
            if self.config.optimizer == "sgd":
                kinds = [[s.get("momentum_buffer") for s in state]]
            else:
                kinds = [[s["exp_avg"] for s in state], [s["exp_avg_sq"] for s in state], [s["step"] for s in state]]
            self._state = [[_memory_order(t) for t in kind] for kind in kinds]
        return self._state


def _weight_grad(
    rows: torch.Tensor, layer_input: torch.Tensor, grad: torch.Tensor, lit: torch.Tensor | None, momentum: float
) -> None:
    """A weight's gradient into ``rows`` (input-major), or folded into it when it is a momentum buffer.

    ``lit`` (first layer only): the pixels ``layer_input`` keeps; the other rows get no gradient.
    The product is ``input.t() @ grad``, one row per input: with the output count as the product's
    first dimension (10 for the last layer), MKL's result would depend on its thread count.
    """
    if lit is None:
        if momentum:
            rows.addmm_(layer_input.t(), grad, beta=momentum)
        else:
            torch.mm(layer_input.t(), grad, out=rows)
        return
    lit_rows = torch.mm(layer_input.t(), grad)
    if momentum:
        rows.mul_(momentum).index_add_(0, lit, lit_rows)
    else:
        rows.zero_().index_copy_(0, lit, lit_rows)


def _memory_order(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """``tensor``, or its transpose where that is contiguous and the tensor is not."""
    if tensor is None or tensor.dim() != 2 or tensor.is_contiguous() or not tensor.t().is_contiguous():
        return tensor
    return tensor.t()
