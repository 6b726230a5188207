"""Classifying one 28x28 digit: with the model training now, or with a run folder's saved model.

Pixels are 784 greyscale bytes, row by row, white ink on black as in MNIST (what
:func:`~.prepare.prepare_digit` returns). The model sees them as the training data are: bytes / 255.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import not_a_run_folder
from .commands import PIXELS
from .config import ConfigError
from .data import class_names_of
from .model import build_model
from .presets import load_config_file
from .journal import first_detail
from .checkpoint import CheckpointError, epoch_of, load_checkpoint


@torch.inference_mode()
def class_probabilities(model: nn.Module, pixels: bytes, device: torch.device) -> tuple[float, ...]:
    """The model's probability of each class for one digit (in evaluation mode; its mode is restored)."""
    if len(pixels) != PIXELS:
        raise ValueError(f"a digit is {PIXELS} bytes (28x28), not {len(pixels)}")
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).to(device=device, dtype=torch.float32)
    training = model.training
    model.eval()
    try:
        probabilities = F.softmax(model(x.div_(255.0).view(1, PIXELS)), dim=1)[0]
    finally:
        model.train(training)
    return tuple(round(p, 6) for p in probabilities.tolist())


@dataclass(frozen=True)
class Predictor:
    """A run folder's saved model on the CPU, ready to classify digits."""

    model: nn.Module
    checkpoint: Path
    """The file the weights came from (best.pt, else last.pt)."""
    epoch: int
    """Epochs trained when it was saved."""
    class_names: tuple[str, ...]

    def predict(self, pixels: bytes) -> tuple[float, ...]:
        """Each class's probability for one digit of 784 greyscale bytes."""
        return class_probabilities(self.model, pixels, torch.device("cpu"))


def load_predictor(run_dir: str | Path) -> Predictor:
    """The model of ``run_dir``'s ``best.pt`` (else ``last.pt``); a CheckpointError names what is wrong."""
    folder = Path(run_dir)
    problem = not_a_run_folder(folder)
    if problem is not None:
        raise CheckpointError(problem)
    try:
        config = load_config_file(folder / "config.toml")
    except ConfigError as error:
        raise CheckpointError(f"run folder {folder} has no usable config.toml: {error}") from None
    path = _checkpoint_of(folder)
    state = load_checkpoint(path)
    model = build_model(config)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, TypeError) as error:
        raise CheckpointError(f"{path} does not fit the run's config.toml: {first_detail(error)}") from None
    model.eval()
    return Predictor(model=model, checkpoint=path, epoch=epoch_of(state, path), class_names=class_names_of(config.dataset))


def _checkpoint_of(folder: Path) -> Path:
    """``best.pt``, else ``last.pt`` (a run has no best.pt until its first epoch ends): the first that is
    there in any form, so that a folder or a broken link in its place is reported rather than skipped."""
    for path in (folder / "best.pt", folder / "last.pt"):
        if os.path.lexists(path):
            return path
    raise CheckpointError(f"run folder {folder} has no best.pt or last.pt to classify with")
