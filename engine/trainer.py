"""The numeric core: model, optimizer and data on one device, stepped without host syncs.

Between two reports the loop only queues work on the device: each batch's loss is copied into a
preallocated device buffer and the epoch's loss and accuracy sums grow on the device. A report
reads the buffer once (the one host sync), which also finds the first diverged step.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import torch
import torch.nn.functional as F

from .config import Config, ConfigError
from .cuda_graph import CapturedStep, uses_cuda_graphs
from .data import Split, gallery_indices
from .journal import first_detail
from .mlp_step import MLPStep, supports
from .model import build_model, count_parameters, store_flat
from .optim import build_optimizer, build_schedule, load_optimizer_state
from .probes import EvalPass, Inspection, read_once
from .checkpoint import CheckpointError, check_position
from .threads import ADAPTIVE_MIN_ROWS, ThreadChoice, intra_op_threads

EVAL_BATCH = 8192
PREDICTED_ROWS = 64
"""Batches whose predictions the hand-derived step keeps before they are counted."""
FLOAT32_MAX = torch.finfo(torch.float32).max


def steps_per_epoch(config: Config, train_size: int) -> int:
    """Batches per epoch; a ConfigError says which setting leaves none."""
    if train_size == 0:
        raise ConfigError("no training digits are left (check train_limit and holdout_fraction)")
    if config.drop_last:
        if train_size < config.batch_size:
            raise ConfigError(
                f"batch_size {config.batch_size} with drop_last leaves no batch of the {train_size:,} "
                "training digits; lower batch_size or set drop_last = false"
            )
        steps = train_size // config.batch_size
    else:
        steps = math.ceil(train_size / config.batch_size)
    smallest = config.batch_size if config.drop_last else train_size - (steps - 1) * config.batch_size
    if config.batch_norm and smallest == 1:
        if config.batch_size == 1:
            raise ConfigError("batch norm needs batches of at least 2 digits, not batch_size 1")
        raise ConfigError(
            f"batch norm cannot train on a batch of one digit: {train_size:,} training digits in batches of "
            f"{config.batch_size} leave a last batch of 1; set drop_last = true or change batch_size"
        )
    return steps


class _Flag(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Report:
    """What one report interval measured."""

    loss: float
    lr: float
    samples_per_second: float
    diverged_step: int | None = None
    bad_loss: float = math.nan


class Trainer:
    """Model, optimizer, schedule, data and the position in the run; resumable from a state dict."""

    def __init__(self, config: Config, split: Split, device: torch.device) -> None:
        self.config = config
        self.split = split
        self.device = device
        torch.manual_seed(config.seed)
        # Built on the CPU, then moved: the same seed gives the same initial weights on every device.
        self.model = build_model(config).to(device)
        manual = supports(config, device)
        if manual:
            store_flat(self.model)
        self.optimizer = build_optimizer(config, self.model, device)
        self.schedule = build_schedule(config, self.optimizer)
        self.parameters = count_parameters(self.model)
        # Shuffling uses a CPU generator too, so the batch order does not depend on the device.
        self.shuffle = torch.Generator().manual_seed(config.seed)
        self.steps_per_epoch = steps_per_epoch(config, len(split.train_y))
        self.epoch = 0  # epochs completed
        self.epoch_step = 0  # batches done in the current epoch
        self.global_step = 0
        self._gallery = torch.tensor(gallery_indices(split.eval_y, config.gallery_size), dtype=torch.long)
        self._losses = torch.zeros(config.report_every, device=device)
        # The hand-derived step (CPU only) adds its losses once per interval, in order, in float64:
        # the same sum however the epoch was split by stops and resumes.
        self._loss_sum = torch.zeros((), dtype=torch.float64 if manual else torch.float32, device=device)
        self._correct = torch.zeros((), dtype=torch.long, device=device)
        self._seen = 0
        self._seconds = 0.0
        self._perm: torch.Tensor | None = None
        self._epoch_shuffle_state = self.shuffle.get_state()
        # The hand-derived step gives the same bits on any thread count, so it may follow the load.
        adaptive = manual and config.batch_size >= ADAPTIVE_MIN_ROWS
        self.threads = ThreadChoice.for_run(adaptive) if device.type == "cpu" else None
        self._graph = (
            CapturedStep(self._step, config.batch_size, device) if uses_cuda_graphs(config, device) else None
        )
        self._manual = MLPStep(config, self.model, self.optimizer) if manual else None
        # The hand-derived step's bookkeeping: each batch's loss is written into its slot of
        # ``_losses`` and its predictions into a row here; the sums grow once per chunk of batches
        # (:meth:`_count`), not by four small operations a batch.
        rows = min(config.report_every, PREDICTED_ROWS) if manual else 0
        self._predicted = torch.empty(rows, config.batch_size, dtype=torch.long)
        self._predicted_rows = list(self._predicted.unbind(0))

    # --- training -------------------------------------------------------------------------

    def _begin_epoch(self) -> None:
        self._epoch_shuffle_state = self.shuffle.get_state()
        self._perm = torch.randperm(len(self.split.train_y), generator=self.shuffle).to(self.device)
        self._loss_sum.zero_()
        self._correct.zero_()
        self._seen = 0
        self._seconds = 0.0

    def train_epoch(self, stop: _Flag, *, batches: int | None = None) -> Iterator[Report]:
        """Train the rest of the current epoch, yielding a report every ``report_every`` batches.

        Returns early (after reporting the batches done) once ``stop`` is set; it may be called
        again to go on. ``batches``: train only that many (fewer at the epoch's end), in one report.
        """
        if self._perm is None:  # not when called again mid-epoch: the epoch keeps its order
            self._begin_epoch()
        every = self.config.report_every
        while self.epoch_step < self.steps_per_epoch and not stop.is_set():
            first = self.epoch_step
            if batches is None:
                last = min(self.steps_per_epoch, (first // every + 1) * every)
            else:
                last = min(self.steps_per_epoch, first + batches)
            threads = self.threads.next() if self.threads else None
            started = time.perf_counter()
            done, samples = self.run_steps(first, last, stop, threads=threads)
            losses = self._losses[: done - first].tolist()  # the one host sync of this interval
            elapsed = time.perf_counter() - started
            self._seconds += elapsed
            if self.threads and threads and done > first:
                self.threads.record(threads, elapsed / (done - first))
            lr = self.optimizer.param_groups[0]["lr"]
            limit = self.config.diverge_above
            # ``not value <= limit`` also catches NaN, which compares false with everything.
            bad = next((i for i, value in enumerate(losses) if not value <= limit), None)
            report = Report(
                loss=sum(losses) / len(losses),
                lr=lr,
                samples_per_second=samples / elapsed if elapsed > 0 else 0.0,
                diverged_step=None if bad is None else self.global_step - len(losses) + bad + 1,
                bad_loss=math.nan if bad is None else losses[bad],
            )
            yield report
            if bad is not None or batches is not None:
                return

    def run_steps(self, first: int, last: int, stop: _Flag, *, threads: int | None = None) -> tuple[int, int]:
        """Batches ``first`` to ``last`` of the epoch with no host sync; returns (reached, samples).

        On the CPU, on ``threads`` intra-op threads (default: the current choice).
        """
        perm = self._perm
        assert perm is not None
        size = self.config.batch_size
        samples = 0
        self.model.train()
        step = first
        choice = self.threads
        trying = choice is not None and threads is not None and threads != choice.current
        started = time.perf_counter()
        counted = first  # the first batch whose predictions are not counted yet (hand-derived step)
        with contextlib.ExitStack() as scope:
            if choice is not None:
                scope.enter_context(intra_op_threads(threads or choice.current))
            while step < last:
                index = perm[step * size : (step + 1) * size]
                count = index.shape[0]
                overflowed = False
                try:
                    if self._manual is not None:
                        if step - counted == len(self._predicted_rows):
                            self._count(counted, step)
                            counted = step
                        small = choice is not None and count < ADAPTIVE_MIN_ROWS  # such products vary with the thread count
                        with intra_op_threads(choice.fallback) if small else contextlib.nullcontext():
                            self._manual_step(index, step - first, step - counted)
                    elif self._graph is not None and count == size:
                        self._losses[step - first] = self._graph.step(index, lr=self.optimizer.param_groups[0]["lr"])
                    else:  # the CPU's autograd step, or the last, smaller batch of an epoch
                        self._losses[step - first] = self._step(index)
                except RuntimeError:
                    if not self.optimizer.param_groups[0]["lr"] > FLOAT32_MAX:
                        raise
                    # Optimizers that scale by lr in float32 refuse it: the weights would be infinite.
                    overflowed = True
                    self._losses[step - first] = math.inf
                    if self._manual is not None:
                        self._predicted_rows[step - counted].fill_(-1)  # no prediction: none is right
                samples += count
                step += 1
                if trying and choice.abandons(threads, step - first, time.perf_counter() - started):
                    torch.set_num_threads(choice.current)  # a losing try ends here (the scope restores)
                    trying = False
                if stop.is_set() or overflowed:
                    break
        if self._manual is not None and step > counted:
            self._count(counted, step)
            total, *losses = [self._loss_sum.item()] + self._losses[: step - first].tolist()
            for loss in losses[:-1]:
                total += loss * size
            self._loss_sum.fill_(total + losses[-1] * count)  # the last: smaller at the epoch's end
        self._seen += samples
        self.global_step += step - first
        self.epoch_step = step
        return step, samples

    def _manual_step(self, index: torch.Tensor, slot: int, row: int) -> None:
        """One hand-derived step on the batch ``index``: its loss into ``_losses[slot]``, its
        predictions into ``_predicted[row]`` (counted later, by :meth:`_count`)."""
        assert self._manual is not None
        x = self.split.train_x.index_select(0, index)
        y = self.split.train_y.index_select(0, index)
        loss, logits = self._manual(x, y)
        self._losses[slot].copy_(loss)
        torch.argmax(logits, 1, out=self._predicted_rows[row][: index.shape[0]])

    def _count(self, first: int, last: int) -> None:
        """Add the right predictions of batches ``first`` to ``last`` (rows from 0 of ``_predicted``)."""
        assert self._perm is not None
        size = self.config.batch_size
        labels = self.split.train_y.index_select(0, self._perm[first * size : last * size])
        predicted = self._predicted.view(-1)[: labels.shape[0]]
        self._correct.add_(torch.eq(predicted, labels).sum())

    def _step(self, index: torch.Tensor) -> torch.Tensor:
        """One autograd step on the batch ``index`` (also the one a CUDA graph captures); returns
        the loss (a device scalar), its loss and right predictions added to the epoch's sums."""
        x = self.split.train_x.index_select(0, index)
        y = self.split.train_y.index_select(0, index)
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        detached = loss.detach()
        self._loss_sum.add_(detached, alpha=index.shape[0])
        self._correct.add_((logits.argmax(dim=1) == y).sum())
        return detached

    @property
    def partial_seconds(self) -> float:
        """Training seconds of the epoch in progress (a resumed one's included); 0 between epochs."""
        return self._seconds if self._perm is not None else 0.0

    def finish_epoch(self) -> tuple[float, float, float]:
        """Close the epoch: (mean train loss, train accuracy %, training seconds)."""
        loss_sum, correct = self._loss_sum.item(), self._correct.item()
        seen = max(self._seen, 1)
        result = (loss_sum / seen, 100.0 * correct / seen, self._seconds)
        self.epoch += 1
        self.epoch_step = 0
        self._perm = None
        return result

    def step_schedule(self) -> None:
        self.schedule.step()

    def settings_changed(self) -> None:
        """Forget what the step paths derived from the optimizer's settings (after a change mid-run)."""
        if self._graph is not None:
            self._graph.invalidate()  # momentum and weight decay are constants of the captured step
        if self._manual is not None:
            self._manual = MLPStep(self.config, self.model, self.optimizer)  # e.g. whether momentum folds

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(self) -> tuple[float, float, Inspection | None]:
        """(mean loss, accuracy %, the probes' inspection unless ``inspect`` is off) from one pass
        over the evaluation set in large batches, read back from the device in one transfer."""
        self.model.eval()
        seen = EvalPass(self.model, self.split, self.config) if self.config.inspect else None
        x_all, y_all = self.split.eval_x, self.split.eval_y
        with torch.inference_mode():
            loss_sum = torch.zeros((), device=self.device)
            correct = torch.zeros((), dtype=torch.long, device=self.device)
            for start in range(0, len(y_all), EVAL_BATCH):
                x, y = x_all[start : start + EVAL_BATCH], y_all[start : start + EVAL_BATCH]
                logits = self.model(x) if seen is None else seen.forward(x)
                predictions = logits.argmax(dim=1)
                loss_sum += F.cross_entropy(logits, y, reduction="sum")
                correct += (predictions == y).sum()
                if seen is not None:
                    seen.record(start, logits, predictions)
            measured = {"loss_sum": loss_sum, "correct": correct, **(seen.measure() if seen else {})}
            read = read_once(measured)
        count = max(len(y_all), 1)
        inspection = seen.inspection(read) if seen is not None else None
        return read["loss_sum"].item() / count, 100.0 * read["correct"].item() / count, inspection

    @torch.inference_mode()
    def predict_gallery(self) -> tuple[tuple[bytes, ...], tuple[int, ...], tuple[int, ...], tuple[float, ...]]:
        """The gallery digits as 784 greyscale bytes each, labels, predictions and confidences."""
        self.model.eval()
        index = self._gallery.to(self.device)
        x = self.split.eval_x.index_select(0, index)
        probabilities = F.softmax(self.model(x), dim=1)
        confidence, prediction = probabilities.max(dim=1)
        pixels = (x * 255).round().to(torch.uint8).cpu()
        return (
            tuple(bytes(row.numpy().tobytes()) for row in pixels),
            tuple(self.split.eval_y.index_select(0, index).tolist()),
            tuple(prediction.tolist()),
            tuple(round(c, 4) for c in confidence.tolist()),
        )

    # --- state ----------------------------------------------------------------------------

    def weights_state(self, accuracy: float) -> dict[str, Any]:
        """The model alone (the ``best`` checkpoint)."""
        return {"model": self.model.state_dict(), "epoch": self.epoch, "eval_accuracy": accuracy}

    def full_state(self) -> dict[str, Any]:
        """Everything :meth:`load_state` needs to continue exactly where this run is."""
        state: dict[str, Any] = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "epoch": self.epoch,
            "epoch_step": self.epoch_step,
            "global_step": self.global_step,
            "epoch_shuffle_state": self._epoch_shuffle_state,
            "shuffle_state": self._resume_shuffle_state(),
            "cpu_rng_state": torch.get_rng_state(),
            "partial": {
                "loss_sum": self._loss_sum.item(),
                "correct": self._correct.item(),
                "seen": self._seen,
                "seconds": self._seconds,
            },
        }
        if self.device.type == "cuda":
            state["cuda_rng_state"] = torch.cuda.get_rng_state(self.device)
        return state

    def _resume_shuffle_state(self) -> torch.Tensor:
        """The shuffle generator's state a resumed run continues from.

        An epoch draws its permutation before its first batch; stopped between the two, no batch
        has used it, so the resumed run must draw it again from the state before the draw.
        """
        if self.epoch_step == 0 and self._perm is not None:
            return self._epoch_shuffle_state
        return self.shuffle.get_state()

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`full_state`; a mismatched checkpoint is a CheckpointError."""
        check_position(state, self.steps_per_epoch)
        try:
            self.model.load_state_dict(state["model"])
            load_optimizer_state(self.optimizer, state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
            self.epoch = int(state["epoch"])
            self.epoch_step = int(state["epoch_step"])
            self.global_step = int(state["global_step"])
            self.shuffle.set_state(state["shuffle_state"])
            torch.set_rng_state(state["cpu_rng_state"])
            if self.device.type == "cuda" and "cuda_rng_state" in state:
                torch.cuda.set_rng_state(state["cuda_rng_state"], self.device)
            partial = state["partial"]
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(f"checkpoint does not fit this configuration: {first_detail(error)}") from None
        # The optimizer's state tensors were replaced, and its settings may be ones changed mid-run.
        self.settings_changed()
        if self.epoch_step:
            # Mid-epoch: rebuild the epoch's permutation and its running sums.
            self.shuffle.set_state(state["epoch_shuffle_state"])
            self._begin_epoch()
            self.shuffle.set_state(state["shuffle_state"])
            self._loss_sum.fill_(partial["loss_sum"])
            self._correct.fill_(partial["correct"])
            self._seen = int(partial["seen"])
            self._seconds = float(partial["seconds"])
