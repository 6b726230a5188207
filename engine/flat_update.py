"""The optimizer's update of every parameter at once, on flat tensors.

``torch.optim``'s fused CPU kernels update a list of tensors, but a call through ``Optimizer.step``
or the functional API spends 50 to 120 us on the list itself (grouping it, incrementing each
parameter's step counter, each tensor's bias corrections) before and around one pass over the
numbers. When every parameter is a view of one flat buffer (``model.store_flat``), so can be the
gradients and the optimizer's state, and one kernel call on the flat tensors updates them all:
the same elementwise maths, element by element.

The optimizer keeps its state as always: the tensors in ``optimizer.state`` are views of the flat
buffers (Adam's step counters are the elements of one small tensor, each parameter's its own
element), so ``state_dict``, checkpoints and resuming see an ordinary optimizer, and a loaded
state is copied in on the next step.
"""

from __future__ import annotations

import torch

# The optimizer state each update reads, per optimizer updated here; the others keep ``step()``.
_KINDS = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq"), "adamw": ("exp_avg", "exp_avg_sq")}


class FlatUpdate:
    """Gradients for ``params`` (all views of ``flat``) and the optimizer's step over them."""

    def __init__(self, optimizer: torch.optim.Optimizer, name: str, params: list[torch.Tensor], flat: torch.Tensor) -> None:
        self.optimizer = optimizer
        self.name = name
        self.params = params
        self.flat = flat
        self.grad = torch.zeros_like(flat)
        self.grads = [self.like(self.grad, p) for p in params]
        for param, grad in zip(params, self.grads):
            param.grad = grad
        self._state: dict[str, torch.Tensor] = {}  # flat state tensors, per kind, once adopted
        self._steps: torch.Tensor | None = None  # Adam's step count per parameter, all equal
        self._step = torch.zeros(())  # one of them, for the kernel
        self._buffers: list[torch.Tensor] = []  # the momentum buffer's view per parameter

    @staticmethod
    def like(flat: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
        """The view of ``flat`` laid out as ``param`` is in the parameters' buffer."""
        return flat.as_strided(param.shape, param.stride(), param.storage_offset())

    def invalidate(self) -> None:
        """Forget the adopted state (after ``optimizer.load_state_dict`` replaced it)."""
        self._state = {}
        self._steps = None

    def momentum_buffers(self) -> list[torch.Tensor] | None:
        """Plain momentum SGD's buffers (one view per parameter), into which a step may fold its
        gradients (``buffer = momentum * buffer + grad``) instead of writing them; else None."""
        if self.name != "sgd":
            return None
        group = self.optimizer.param_groups[0]
        if not (group["momentum"] > 0 and group["dampening"] == 0 and not group["nesterov"]):
            return None
        if group["weight_decay"] != 0 or group["maximize"]:
            return None
        # A resumed run folds from its first step, as the run it continues did.
        if "momentum_buffer" not in self._state and not self._adopt(("momentum_buffer",)):
            return None
        return self._buffers

    def apply_momentum(self) -> None:
        """``param -= lr * buffer`` for every parameter: the rest of a folded SGD step."""
        self.optimizer._opt_called = True  # type: ignore[attr-defined]  # what a scheduler checks step() set
        self.flat.add_(self._state["momentum_buffer"], alpha=-self.optimizer.param_groups[0]["lr"])

    def step(self) -> None:
        """One step of the optimizer from the gradients in :attr:`grads`."""
        # An LR scheduler warns when it steps before optimizer.step() ever ran, which its wrapper
        # of step() records: the fused kernels below are that step.
        self.optimizer._opt_called = True  # type: ignore[attr-defined]
        group = self.optimizer.param_groups[0]
        kinds = _KINDS.get(self.name, None)
        if kinds is None or group.get("amsgrad") or group.get("differentiable"):
            self.optimizer.step()
            return
        if self.name == "sgd" and group["momentum"] == 0:
            kinds = ()
        if not all(kind in self._state for kind in kinds) and not self._adopt(kinds):
            # The first step (or momentum turned on): the optimizer creates its state as always.
            self.optimizer.step()
            self._adopt(kinds)
            return
        if self.name == "sgd":
            torch._fused_sgd_(
                [self.flat], [self.grad], [self._state[kind] for kind in kinds],
                weight_decay=group["weight_decay"], momentum=group["momentum"], lr=group["lr"],
                dampening=group["dampening"], nesterov=group["nesterov"], maximize=group["maximize"],
                is_first_step=False,
            )
            return
        assert self._steps is not None
        self._steps.add_(1)
        decoupled = group.get("decoupled_weight_decay", self.name == "adamw")
        update = torch._fused_adamw_ if decoupled else torch._fused_adam_
        beta1, beta2 = group["betas"]
        update(
            [self.flat], [self.grad], [self._state["exp_avg"]], [self._state["exp_avg_sq"]], [], [self._step],
            lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
            amsgrad=False, maximize=group["maximize"],
        )

    def _adopt(self, kinds: tuple[str, ...]) -> bool:
        """Move the optimizer's state of ``kinds`` into flat buffers; False while it has none."""
        states = [self.optimizer.state.get(param) for param in self.params]
        if not all(state and all(kind in state for kind in kinds) for state in states):
            return False
        if self.name in ("adam", "adamw"):
            steps = torch.stack([state["step"] for state in states])
            if not torch.equal(steps, steps[:1].expand_as(steps)):
                return False  # not one update: this keeps taking optimizer.step()
            self._steps, self._step = steps, steps[0]
            for index, state in enumerate(states):
                state["step"] = steps[index]
        for kind in kinds:
            flat = torch.zeros_like(self.flat)  # the gaps between parameters stay 0
            for param, state in zip(self.params, states):
                view = self.like(flat, param)
                view.copy_(state[kind])
                state[kind] = view
            self._state[kind] = flat
        if "momentum_buffer" in self._state:
            self._buffers = [self.like(self._state["momentum_buffer"], param) for param in self.params]
        return True
