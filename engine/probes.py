"""Inspection: what the model learned and where it goes wrong, from the epoch's one evaluation pass.

The evaluation (``Trainer.evaluate``) runs its digits through an :class:`EvalPass`, which keeps on
the device every digit's prediction and confidence and each ReLU unit's largest output. Each probe
in :data:`PROBES` measures what it needs from that record, still on the device and without a host
sync; :func:`read_once` copies everything measured to the host in one transfer; then each probe
turns its part into a frozen event. A new product is one more probe, its event and one pane.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .data import Split
from .events import ConfusionCounted, Event, LayersMeasured, MistakesFound, WeightsSampled
from .threads import intra_op_threads

WEIGHT_LEVELS = 127
"""A weight byte ``b`` stands for ``(b - 128) / WEIGHT_LEVELS * scale``."""

Values = dict[str, torch.Tensor]


class EvalPass:
    """One evaluation pass's record on the device: predictions, confidences and ReLU peaks."""

    def __init__(self, model: nn.Sequential, split: Split, config: Config) -> None:
        self.model = model
        self.split = split
        self.config = config
        self.classes = len(split.class_names)
        device = split.eval_y.device
        size = len(split.eval_y)
        self.predictions = torch.zeros(size, dtype=torch.long, device=device)
        self.confidences = torch.zeros(size, device=device)
        self.hidden = [layer for layer in model if isinstance(layer, nn.Linear)][:-1]
        # Only a ReLU unit can be exactly 0 on every digit: its largest output over the pass says so.
        relus = [index for index, layer in enumerate(model) if isinstance(layer, nn.ReLU)]
        self._relu_layer = {index: hidden for hidden, index in enumerate(relus)}
        self.peaks = [torch.zeros(layer.out_features, device=device) for layer in self.hidden] if relus else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's logits for the batch ``x``, noting each ReLU unit's largest output."""
        for index, layer in enumerate(self.model):
            x = layer(x)
            hidden = self._relu_layer.get(index)
            if hidden is not None and self.peaks is not None:
                torch.maximum(self.peaks[hidden], x.amax(0), out=self.peaks[hidden])
        return x

    def record(self, start: int, logits: torch.Tensor, predictions: torch.Tensor) -> None:
        """Keep the batch at ``start``: its predictions and their softmax probabilities."""
        end = start + len(predictions)
        self.predictions[start:end] = predictions
        self.confidences[start:end] = logits.softmax(1).gather(1, predictions[:, None]).squeeze(1)

    def cell_counts(self) -> torch.Tensor:
        """Digits per (true, predicted) cell, flattened row-major (a device tensor, no sync)."""
        cells = self.split.eval_y * self.classes + self.predictions
        # index_add_ rather than bincount, whose output size costs a host sync on CUDA.
        counts = torch.zeros(self.classes * self.classes, dtype=torch.long, device=cells.device)
        return counts.index_add_(0, cells, torch.ones_like(cells))

    def measure(self) -> Values:
        """Every probe's device tensors, named ``kind.name``."""
        # On the CPU the probes' small operations run on one thread: beside a busy process, each
        # parallel operation's barrier waits for a descheduled thread (10 times slower on 2 cores).
        cpu = self.split.eval_y.device.type == "cpu"
        with intra_op_threads(1) if cpu else contextlib.nullcontext():
            return {
                f"{probe.kind}.{name}": value for probe in PROBES for name, value in probe.measure(self).items()
            }

    def inspection(self, read: Values) -> Inspection:
        """The host copies of :meth:`measure`'s tensors (from :func:`read_once`), sorted by probe."""
        parts: dict[str, Values] = {probe.kind: {} for probe in PROBES}
        for key, value in read.items():
            kind, dot, name = key.partition(".")
            if dot and kind in parts:
                parts[kind][name] = value
        return Inspection(parts, self.config, self.split.class_names)


@dataclass(frozen=True)
class Inspection:
    """The probes' measurements of one evaluation pass, on the host."""

    values: dict[str, Values]
    config: Config
    class_names: tuple[str, ...]

    def events(self, run_id: str, epoch: int) -> list[Event]:
        """One event per probe, in :data:`PROBES` order."""
        return [probe.event(self.values[probe.kind], self, run_id, epoch) for probe in PROBES]


def read_once(values: Values) -> Values:
    """Copy every tensor to the host in one transfer (the one host sync), keeping dtypes and shapes."""
    # Widest dtypes first: each part then starts at a multiple of its element size.
    names = sorted(values, key=lambda name: -values[name].element_size())
    flat = [values[name].detach().reshape(-1).view(torch.uint8) for name in names]
    if not flat:
        return {}
    host = torch.cat(flat).cpu()
    read: Values = {}
    offset = 0
    for name, part in zip(names, flat):
        value = values[name]
        read[name] = host[offset : offset + part.numel()].view(value.dtype).reshape(value.shape)
        offset += part.numel()
    return read


class Probe(Protocol):
    """One inspection product: measured on the device, made into an event on the host."""

    kind: str

    def measure(self, seen: EvalPass) -> Values: ...

    def event(self, read: Values, inspection: Inspection, run_id: str, epoch: int) -> Event: ...


class Confusion:
    """Counts of every (true, predicted) pair over the whole evaluation set."""

    kind = ConfusionCounted.kind

    def measure(self, seen: EvalPass) -> Values:
        return {"matrix": seen.cell_counts().view(seen.classes, seen.classes)}

    def event(self, read: Values, inspection: Inspection, run_id: str, epoch: int) -> ConfusionCounted:
        matrix = tuple(tuple(row) for row in read["matrix"].tolist())
        return ConfusionCounted(run_id=run_id, epoch=epoch, matrix=matrix, class_names=inspection.class_names)


class Mistakes:
    """The ``mistakes_per_cell`` most confident mistakes of every off-diagonal cell.

    Ordered by cell (true class, then prediction) and, within a cell, by falling confidence; equal
    confidences keep evaluation order. Every cell gets a fixed number of slots, so the result's
    size is known without reading the counts back (-1 marks an empty slot).
    """

    kind = MistakesFound.kind

    def measure(self, seen: EvalPass) -> Values:
        per_cell, classes = seen.config.mistakes_per_cell, seen.classes
        labels, predictions, confidences = seen.split.eval_y, seen.predictions, seen.confidences
        device, size = labels.device, len(labels)
        if size == 0 or per_cell == 0:
            return {"index": torch.zeros(0, dtype=torch.long, device=device)}
        cells = labels * classes + predictions
        order = torch.argsort(confidences, descending=True, stable=True)
        order = order[torch.argsort(cells[order], stable=True)]  # by cell, most confident first
        counts = seen.cell_counts()
        starts = counts.cumsum(0) - counts
        rank = torch.arange(per_cell, device=device)
        cell = torch.arange(classes * classes, device=device)
        wanted = (rank < counts[:, None]) & (cell // classes != cell % classes)[:, None]
        position = (starts[:, None] + rank).clamp_(max=size - 1)
        index = torch.where(wanted, order[position], -1).view(-1)
        safe = index.clamp(min=0)
        return {
            "index": index,
            "label": labels[safe],
            "prediction": predictions[safe],
            "confidence": confidences[safe],
            "images": (seen.split.eval_x[safe] * 255).round().to(torch.uint8),
        }

    def event(self, read: Values, inspection: Inspection, run_id: str, epoch: int) -> MistakesFound:
        kept = (read["index"] >= 0).nonzero().view(-1).tolist()
        column = {name: value.tolist() for name, value in read.items() if name != "images"}
        return MistakesFound(
            run_id=run_id,
            epoch=epoch,
            indices=tuple(column["index"][i] for i in kept),
            labels=tuple(column["label"][i] for i in kept),
            predictions=tuple(column["prediction"][i] for i in kept),
            confidences=tuple(round(column["confidence"][i], 4) for i in kept),
            images=tuple(read["images"][i].numpy().tobytes() for i in kept),
        )


class Weights:
    """The incoming weights of the first hidden layer's first ``weight_units`` units, as bytes.

    The same units every epoch and after a resume, so tiles compare epoch to epoch; PyTorch
    initialises every unit alike, so the first N are as fair a sample as any. One scale (the
    largest magnitude among them) serves all tiles of an epoch.
    """

    kind = WeightsSampled.kind

    def measure(self, seen: EvalPass) -> Values:
        weight = seen.hidden[0].weight  # (units, 784) whatever its memory order
        count = min(seen.config.weight_units, weight.shape[0])
        chosen = weight[:count].detach()
        scale = chosen.abs().amax() if count else torch.zeros((), device=weight.device)
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        images = (chosen / safe * WEIGHT_LEVELS).round_().add_(128).to(torch.uint8)
        return {"images": images, "scale": scale}

    def event(self, read: Values, inspection: Inspection, run_id: str, epoch: int) -> WeightsSampled:
        images = read["images"]
        return WeightsSampled(
            run_id=run_id,
            epoch=epoch,
            layer=0,
            units=tuple(range(len(images))),
            images=tuple(row.numpy().tobytes() for row in images),
            scale=float(read["scale"]),
        )


class Layers:
    """Per hidden layer: width, share of dead ReLU units, incoming weight norm and its gradient's norm.

    The gradient is the mean cross-entropy's on a fixed probe batch (the first ``batch_size``
    training digits) at the epoch's end, by autograd with the model in eval mode (no dropout, batch
    norm's running statistics). It touches neither ``.grad`` nor the random state, so it is the same
    whichever step trained the model (autograd's, or ``mlp_step``'s, which folds momentum SGD's
    gradient into its buffer), and comparable from epoch to epoch.
    """

    kind = LayersMeasured.kind

    def measure(self, seen: EvalPass) -> Values:
        weights = [layer.weight for layer in seen.hidden]
        x = seen.split.train_x[: seen.config.batch_size]
        y = seen.split.train_y[: seen.config.batch_size]
        with torch.inference_mode(False), torch.enable_grad():
            loss = F.cross_entropy(seen.model(x), y)
            grads = torch.autograd.grad(loss, weights)
            grad_norms = torch.stack([torch.linalg.vector_norm(g) for g in grads]).detach()
        values = {
            "weight_norms": torch.stack([torch.linalg.vector_norm(w.detach()) for w in weights]),
            "grad_norms": grad_norms,
        }
        if seen.peaks is not None:
            values["dead"] = torch.stack([(peak <= 0).float().mean() for peak in seen.peaks])
        return values

    def event(self, read: Values, inspection: Inspection, run_id: str, epoch: int) -> LayersMeasured:
        sizes = inspection.config.hidden
        dead = read.get("dead")
        return LayersMeasured(
            run_id=run_id,
            epoch=epoch,
            sizes=tuple(sizes),
            dead=tuple(round(d, 4) for d in dead.tolist()) if dead is not None else (None,) * len(sizes),
            weight_norms=tuple(_significant(v) for v in read["weight_norms"].tolist()),
            grad_norms=tuple(_significant(v) for v in read["grad_norms"].tolist()),
        )


def _significant(value: float) -> float:
    return float(f"{value:.6g}")


PROBES: tuple[Probe, ...] = (Confusion(), Mistakes(), Weights(), Layers())
