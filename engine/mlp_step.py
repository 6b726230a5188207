"""A hand-derived training step for the MLP on the CPU: the same maths, with less work per batch.

On one CPU core at MNIST's batch sizes, autograd's bookkeeping is a large share of a step: it
records a graph, allocates every gradient anew, ``zero_grad`` frees them, and ``Optimizer.step``
spends 0.1 to 0.3 ms in Python before its fused kernel runs. This step calls the kernels autograd
would call (linear, batch norm and activation forward; the loss; their backward functions),
writes the gradients into one flat tensor allocated once, and updates every parameter with one
call of the optimizer's fused kernel (``flat_update.py``), on the optimizer's own state, so
checkpoints and resuming see an ordinary optimizer. Dropout's masks are drawn from uniform
numbers rather than ``bernoulli_`` (:func:`dropout_mask`): the same distribution, ten times
cheaper.

Two more savings, both exact in real arithmetic:

- **Unlit pixels.** Four in five MNIST pixels are 0, and a batch of 32 digits lights only about
  460 of the 784. Their columns of the input contribute nothing to the first layer's output or
  weight gradient, so both products run over the lit pixels only (weights are stored
  input-major, ``model.store_flat``, so a pixel's weights are one contiguous row). Finding and
  gathering them costs a few operations a step whatever the layer's width, so only a first layer
  at least ``GATHER_MIN_WIDTH`` wide does it.
- **Momentum SGD without a gradient tensor.** ``buffer = momentum * buffer + grad`` is one
  matrix product accumulated into the momentum buffer (``addmm_`` with ``beta=momentum``), then
  ``param -= lr * buffer``: what ``torch.optim.SGD`` computes, in two passes over memory instead
  of five.

Summing fewer terms, or in another order, changes the last bits of a float: losses here match
autograd's to rounding, and every run on the CPU takes this path, so a seed still fixes them.
The thread count may follow the machine's load (``threads.py``) because every operation here gives
the same bits on any count: each weight gradient is computed as ``input.t() @ grad`` (unlike
autograd's ``grad.t() @ input``, 10 rows for the last layer, which MKL sums differently on two
threads), and batch norm, whose CPU kernels sum per thread, runs on one thread.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import nn

from .config import Config
from .flat_update import FlatUpdate
from .model import flat_parameters
from .threads import intra_op_threads

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
# (Each ``aten`` op is called through its resolved overload: the packet's lookup costs 3 us a call.)
_BACKWARD: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "relu": lambda grad, _z, a: aten.threshold_backward.default(grad, a, 0),
    "sigmoid": lambda grad, _z, a: aten.sigmoid_backward.default(grad, a),
    "tanh": lambda grad, _z, a: aten.tanh_backward.default(grad, a),
    "gelu": lambda grad, z, _a: aten.gelu_backward.default(grad, z),
    "silu": lambda grad, z, _a: aten.silu_backward.default(grad, z),
    "elu": lambda grad, z, _a: aten.elu_backward.default(grad, 1.0, 1.0, 1.0, False, z),
    "leaky_relu": lambda grad, z, _a: aten.leaky_relu_backward.default(grad, z, 0.01, False),
}

# Above this share of lit pixels, gathering them costs more than the products save.
LIT_SHARE_LIMIT = 0.8
GATHER_MIN_WIDTH = 400
"""A first layer narrower than this multiplies every pixel: for 100 to 300 units, finding and
gathering the lit ones (five operations a step) cost more than the products saved, 6 to 14 % of
a step (``bench/README.md``); from 500 units on they save up to 7 %."""


def supports(config: Config, device: torch.device) -> bool:
    """Whether runs of ``config`` on ``device`` train with :class:`MLPStep`."""
    return device.type == "cpu" and config.activation in _BACKWARD


class _Layer(NamedTuple):
    """A linear layer, the batch norm after it (or None), and where their gradients go."""

    linear: nn.Linear
    norm: nn.BatchNorm1d | None
    params: tuple[int, ...]  # indices in the model's parameters: weight, bias[, norm weight, norm bias]


class _Saved(NamedTuple):
    """What one layer's backward needs from its forward."""

    input: torch.Tensor
    z: torch.Tensor  # the linear's output
    h: torch.Tensor  # the activation's input: z, or z normalised
    out: torch.Tensor  # the activation's output
    mask: torch.Tensor | None  # dropout's, scaled: 0 or 1 / (1 - p)
    mean: torch.Tensor | None  # batch norm's saved statistics
    invstd: torch.Tensor | None


class MLPStep:
    """Forward, backward and update of a :func:`~.model.build_model` MLP for one batch.

    Training images must be non-negative (``data.py`` scales bytes to [0, 1]): a pixel counts as
    lit in a batch when its largest value there is above 0.
    """

    def __init__(self, config: Config, model: nn.Sequential, optimizer: torch.optim.Optimizer) -> None:
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.params = list(model.parameters())
        index = {id(param): i for i, param in enumerate(self.params)}
        modules = list(model)
        self.layers: list[_Layer] = []
        for position, module in enumerate(modules):
            if isinstance(module, nn.Linear):
                after = modules[position + 1] if position + 1 < len(modules) else None
                norm = after if isinstance(after, nn.BatchNorm1d) else None
                owned = (module.weight, module.bias) + ((norm.weight, norm.bias) if norm is not None else ())
                self.layers.append(_Layer(module, norm, tuple(index[id(param)] for param in owned)))
        # Fused kernels are elementwise: they update the flat buffer in one pass (ValueError if the
        # model was not laid out by store_flat).
        self.update = FlatUpdate(optimizer, config.optimizer, self.params, flat_parameters(model))
        self._weights = [layer.linear.weight.t() for layer in self.layers]  # in x out, contiguous
        self._activation = _FORWARD[config.activation]
        self._activation_backward = _BACKWARD[config.activation]
        self._dropout = config.dropout
        self.lit_share_limit = LIT_SHARE_LIMIT if self.layers[0].linear.out_features >= GATHER_MIN_WIDTH else 0.0
        """The largest share of lit pixels at which a batch gathers them (0: never, nothing looked for)."""
        self._one = torch.ones(())  # the loss's own gradient
        self._grad_targets = self._targets(self.update.grads)
        self._buffer_targets: tuple[list[torch.Tensor], list[list[torch.Tensor]]] | None = None
        self._buffer_source: list[torch.Tensor] | None = None

    def invalidate(self) -> None:
        """Forget the optimizer's state tensors (after ``optimizer.load_state_dict``)."""
        self.update.invalidate()

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on the batch (x, y); returns (loss, logits)."""
        buffers = self.update.momentum_buffers()
        logits, saved, lit = self._forward(x)
        log_p = torch.log_softmax(logits, 1)
        loss, total = aten.nll_loss_forward.default(log_p, y, None, 1, -100)
        grad = aten.nll_loss_backward.default(self._one, log_p, y, None, 1, -100, total)
        grad = aten._log_softmax_backward_data.default(grad, log_p, 1, log_p.dtype)
        if buffers is None:
            self._backward(grad, saved, lit, self._grad_targets, 0.0)
            self.update.step()
        else:
            self._backward(grad, saved, lit, self._folded_targets(buffers), self.optimizer.param_groups[0]["momentum"])
            self.update.apply_momentum()
        return loss, logits

    # --- forward and backward ---------------------------------------------------------------

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[_Saved], torch.Tensor | None]:
        """Logits, what each layer's backward needs, and the batch's lit pixels (None: all of them)."""
        first = self.layers[0].linear
        lit = torch.nonzero(x.amax(0)).view(-1) if self.lit_share_limit > 0 else None
        if lit is not None and lit.numel() <= self.lit_share_limit * x.shape[1]:
            x = x.index_select(1, lit)
            z = torch.addmm(first.bias, x, self._weights[0].index_select(0, lit))
        else:
            lit = None
            z = torch.addmm(first.bias, x, self._weights[0])
        saved: list[_Saved] = []
        training = self.model.training
        a = x
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            if index:
                z = torch.addmm(layer.linear.bias, a, self._weights[index])
            if index == last:
                saved.append(_Saved(a, z, z, z, None, None, None))  # only its input is used
                break
            h, mean, invstd = z, None, None
            if layer.norm is not None:
                h, mean, invstd = _normalize(layer.norm, z, training)
            out = self._activation(h)
            mask = None
            if self._dropout > 0 and training:
                mask = dropout_mask(out, self._dropout)
                following = out * mask
            else:
                following = out
            saved.append(_Saved(a, z, h, out, mask, mean, invstd))
            a = following
        return z, saved, lit

    def _backward(
        self,
        grad: torch.Tensor,
        saved: list[_Saved],
        lit: torch.Tensor | None,
        targets: tuple[list[torch.Tensor], list[list[torch.Tensor]]],
        momentum: float,
    ) -> None:
        """From the loss gradient at the logits, fill each layer's gradients in ``targets`` or,
        with a ``momentum``, fold them into these momentum buffers (``buffer = momentum * buffer + grad``)."""
        weight_rows, others = targets
        training = self.model.training
        for index in range(len(self.layers) - 1, -1, -1):
            layer, here = self.layers[index], saved[index]
            bias_into = others[index][0]
            if index < len(self.layers) - 1:  # a hidden layer: back through dropout, activation, norm
                if here.mask is not None:
                    grad = grad * here.mask
                grad = self._activation_backward(grad, here.h, here.out)
                if layer.norm is not None:
                    grad = _normalize_backward(layer.norm, grad, here, training, others[index][1:], momentum)
            _weight_grad(weight_rows[index], here.input, grad, lit if index == 0 else None, momentum)
            if momentum:
                torch.add(grad.sum(0), bias_into, alpha=momentum, out=bias_into)
            else:
                torch.sum(grad, 0, out=bias_into)
            if index == 0:
                return
            grad = torch.mm(grad, layer.linear.weight)

    def _targets(self, views: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """Per layer, the weight's view (in x out) of ``views`` (one per parameter), and the rest's."""
        weights = [views[layer.params[0]].t() for layer in self.layers]
        return weights, [[views[i] for i in layer.params[1:]] for layer in self.layers]

    def _folded_targets(self, buffers: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        if self._buffer_targets is None or self._buffer_source is not buffers:
            self._buffer_source = buffers
            self._buffer_targets = self._targets(buffers)
        return self._buffer_targets


def dropout_mask(out: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout's scaled mask: each unit kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``.

    ``nn.Dropout`` draws its mask with ``bernoulli_``, whose CPU kernel takes 20 to 40 ns a number
    here (0.3 to 0.7 ms a step for the 784-512-256 models); uniform numbers compared with ``p``
    are the same distribution at a tenth of the cost. The scaling is ``nn.Dropout``'s own
    (``noise.div_(1 - p)``), so only the draws differ from it.
    """
    return torch.rand_like(out).ge_(p).div_(1 - p)


def _normalize(norm: nn.BatchNorm1d, z: torch.Tensor, training: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch norm as ``nn.BatchNorm1d`` computes it (running statistics updated in training)."""
    momentum = norm.momentum if norm.momentum is not None else 0.0
    if training:
        if z.shape[0] == 1:  # nn.functional.batch_norm's own check and message
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {z.size()}")
        norm.num_batches_tracked.add_(1)
        if norm.momentum is None:
            momentum = 1.0 / float(norm.num_batches_tracked)
    # Its CPU kernels sum per thread: on one, the result is the same whatever the count elsewhere.
    with intra_op_threads(1):
        return torch.native_batch_norm(
            z, norm.weight, norm.bias, norm.running_mean, norm.running_var, training, momentum, norm.eps
        )


def _normalize_backward(
    norm: nn.BatchNorm1d, grad: torch.Tensor, saved: _Saved, training: bool, into: list[torch.Tensor], momentum: float
) -> torch.Tensor:
    """The gradient at the linear's output; the norm's weight and bias gradients go ``into`` (or fold)."""
    with intra_op_threads(1):
        grad, weight_grad, bias_grad = aten.native_batch_norm_backward.default(
            grad, saved.z, norm.weight, norm.running_mean, norm.running_var, saved.mean, saved.invstd,
            training, norm.eps, [True, True, True],
        )
    for target, value in zip(into, (weight_grad, bias_grad)):
        if momentum:
            torch.add(value, target, alpha=momentum, out=target)
        else:
            target.copy_(value)
    return grad


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
