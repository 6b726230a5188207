"""The model the Draw view classifies with when no run trains: a run folder's ``best.pt`` (else ``last.pt``).

By default only a trained one: a run stopped before its first epoch ended holds a ``last.pt`` of
random weights, which would classify every drawing as noise. Loading imports torch and reads a checkpoint, so :func:`load_model` runs in a worker thread, never
on the UI thread; :class:`ModelCache` keeps the loaded model until its checkpoint file changes.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..engine import paths
from ..engine.catalog import DamagedRun, read_summary

CHECKPOINTS = ("best.pt", "last.pt")


class ModelError(RuntimeError):
    """A run folder whose model cannot be loaded; the message says why (from the engine's CheckpointError)."""


@dataclass(frozen=True)
class SavedModel:
    """A run folder's saved model, ready to classify 784 greyscale bytes."""

    folder: Path
    checkpoint: Path
    epoch: int
    accuracy: float | None
    """The evaluation accuracy of the saved epoch (percent), where the summary has it."""
    class_names: tuple[str, ...]
    predict: Callable[[bytes], tuple[float, ...]]

    @property
    def label(self) -> str:
        """``best.pt of RUN (epoch 3, 97.80 %)``; a model saved before any epoch ended is called untrained."""
        if self.epoch == 0:
            return f"{self.checkpoint.name} of {self.folder.name} (epoch 0: untrained, its weights are random)"
        accuracy = f", {self.accuracy:.2f} %" if self.accuracy is not None else ""
        return f"{self.checkpoint.name} of {self.folder.name} (epoch {self.epoch}{accuracy})"


def has_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` has a best.pt or last.pt in any form: a folder or a broken link in its place
    counts, so that loading reports it rather than the view skipping the run."""
    return any(os.path.lexists(folder / name) for name in CHECKPOINTS)


def trained(folder: Path) -> bool:
    """Whether ``folder``'s model has finished an epoch: it has a best.pt (written only as an epoch
    ends; in any form, as for :func:`has_checkpoint`), or a last.pt that its summary says came after
    one. A run stopped in its first epoch has only a last.pt of epoch 0."""
    if os.path.lexists(folder / "best.pt"):
        return True
    if not os.path.lexists(folder / "last.pt"):
        return False
    try:
        done = read_summary(folder).get("epochs_completed")
    except DamagedRun:
        return False
    return isinstance(done, int) and done >= 1


def newest_trained_run(runs_dir: Path | None) -> Path | None:
    """The run folder under ``runs_dir`` with a :func:`trained` model whose checkpoint was written last, if any."""
    if runs_dir is None or not paths.is_dir(runs_dir):
        return None
    found = [path for name in CHECKPOINTS for path in runs_dir.glob(f"*/{name}") if trained(path.parent)]
    # lstat: a broken link in a checkpoint's place is still the run's (loading it says what is wrong).
    return max(found, key=lambda path: path.lstat().st_mtime_ns).parent if found else None


def load_model(folder: Path) -> SavedModel:
    """Load ``folder``'s best.pt (else last.pt) on the CPU; a ModelError says what is wrong."""
    from ..engine.predictor import load_predictor  # torch loads here, in the worker
    from ..engine.runs import CheckpointError

    try:
        predictor = load_predictor(folder)
    except CheckpointError as error:
        raise ModelError(str(error)) from None
    return SavedModel(
        folder=folder,
        checkpoint=predictor.checkpoint,
        epoch=predictor.epoch,
        accuracy=_accuracy(folder, predictor.checkpoint.name),
        class_names=predictor.class_names,
        predict=predictor.predict,
    )


def _accuracy(folder: Path, checkpoint: str) -> float | None:
    """The summary's accuracy for ``checkpoint``: the best epoch's for best.pt, the last one's for last.pt."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    value = summary.get("best_test_accuracy" if checkpoint == "best.pt" else "final_test_accuracy")
    return float(value) if isinstance(value, (int, float)) else None


class ModelCache:
    """The last loaded model, reloaded when another folder is asked for or its checkpoint was rewritten."""

    def __init__(self, loader: Callable[[Path], SavedModel] | None = None) -> None:
        self._loader = loader
        self._lock = threading.Lock()  # two workers may ask at once; one loads
        self._key: tuple[Path, tuple[tuple[str, int, int], ...]] | None = None
        self._model: SavedModel | None = None

    def get(self, folder: Path) -> SavedModel:
        """The model of ``folder``, loaded again only when its checkpoint files changed."""
        key = (folder.resolve(), checkpoint_stamps(folder))
        with self._lock:
            if self._model is None or key != self._key:
                # Looked up at call time, so a test can stand in a fake for the engine's loader.
                self._model = (self._loader or load_model)(folder)
                self._key = key
            return self._model


def checkpoint_stamps(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Each checkpoint file of ``folder`` as (name, modification time, size): which changes when one is rewritten."""
    stamps = []
    for name in CHECKPOINTS:
        try:
            stat = (folder / name).stat()
        except OSError:
            continue
        stamps.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)
