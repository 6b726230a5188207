"""The run folder: resolved config, event log, summary and checkpoints, written atomically.

Layout of ``RUNS_DIR/RUN_ID/``: ``config.toml``, ``events.jsonl`` (every event, appended),
``summary.json``, ``best.pt`` and ``last.pt``. Checkpoints hold only tensors and plain values
and are read back with ``torch.load(weights_only=True)``: loading never unpickles objects.
"""

from __future__ import annotations

import io
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Sequence

import torch

from .config import Config, ConfigError
from .events import EpochEnded, Event, SettingsChanged, Terminal
from .presets import config_to_toml, load_config_file

CHECKPOINT_FORMAT = 1


class CheckpointError(RuntimeError):
    """A run folder or checkpoint that cannot be resumed; the message names the file."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def library_versions() -> dict[str, str]:
    """Versions that decide a run's numbers, saved in its summary (read without importing torchvision)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    return {
        "mnist_tui": installed("mnist-tui"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": installed("torchvision"),
    }


@dataclass
class RunFolder:
    """One run's folder; :meth:`record` is fed every event the engine yields."""

    path: Path
    _log: IO[str] | None = None

    @classmethod
    def create(cls, runs_dir: Path | str, run_id: str, config: Config) -> RunFolder:
        path = Path(runs_dir) / run_id
        path.mkdir(parents=True, exist_ok=False)
        folder = cls(path)
        folder.write_config(config)
        return folder

    def write_config(self, config: Config) -> None:
        """Save the resolved config as ``config.toml`` (it loads back with ``--config``)."""
        atomic_write(self.path / "config.toml", config_to_toml(config).encode())

    def record(self, event: Event) -> None:
        """Append the event to ``events.jsonl`` (unless it is an ephemeral answer such as a prediction)."""
        if not event.recorded:
            return
        if self._log is None:
            self._log = open(self.path / "events.jsonl", "a", encoding="utf-8")
        self._log.write(event.to_json() + "\n")
        self._log.flush()
        if isinstance(event, (EpochEnded, Terminal)):
            os.fsync(self._log.fileno())

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write(self.path / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())

    def save_checkpoint(self, which: str, state: dict[str, Any]) -> Path:
        buffer = io.BytesIO()
        torch.save({"format": CHECKPOINT_FORMAT, **state}, buffer)
        path = self.path / f"{which}.pt"
        atomic_write(path, buffer.getvalue())
        return path


def summarize(
    epochs: list[EpochEnded],
    terminal: Terminal | None,
    *,
    config: Config,
    preset: str | None,
    started: str,
    eval_name: str,
    device: str,
    versions: dict[str, str],
    changes: Sequence[SettingsChanged] = (),
) -> dict[str, Any]:
    """``summary.json`` of a run from all its epochs and setting changes (across resumes) and how it ended.

    It holds all a runs listing shows (name, preset, configured epochs, start time), so listing
    never reads ``events.jsonl``.
    """
    best = max(epochs, key=lambda e: e.eval_accuracy, default=None)
    return {
        "name": config.name,
        "preset": preset,
        "started": started,
        "status": terminal.status if terminal else "running",
        "epochs": config.epochs,
        "final_test_accuracy": epochs[-1].eval_accuracy if epochs else None,
        "best_test_accuracy": best.eval_accuracy if best else None,
        "best_epoch": best.epoch if best else None,
        "epochs_completed": epochs[-1].epoch if epochs else 0,
        "train_seconds": round(sum(e.seconds for e in epochs), 3),
        "eval_seconds": round(sum(e.eval_seconds for e in epochs), 3),
        "evaluated_on": eval_name,
        "device": device,
        "error": getattr(terminal, "error", None),
        "versions": versions,
        "changes": [
            {"epoch": c.epoch, "step": c.step, "changes": c.changes, "source": c.source} for c in changes
        ],
    }


def earlier_summary(run_dir: Path) -> dict[str, Any]:
    """The run folder's ``summary.json`` as it stands (empty if missing or unreadable): a resume keeps its preset and start."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return summary if isinstance(summary, dict) else {}


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint safely (weights-only); a missing or corrupt file is a CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt zip, truncated file, disallowed type: all unusable
        raise CheckpointError(f"{path} is corrupt or not an mnist-tui checkpoint: {error}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (format {CHECKPOINT_FORMAT})")
    return state


def open_run(run_dir: Path | str) -> tuple[Config, dict[str, Any], list[dict[str, Any]]]:
    """Config, last checkpoint and logged events of a run folder, for ``--resume``."""
    path = Path(run_dir)
    if not path.is_dir():
        raise CheckpointError(f"run folder {path} does not exist")
    try:
        config = load_config_file(path / "config.toml")
    except ConfigError as error:
        raise CheckpointError(f"run folder {path} has no usable config.toml: {error}") from None
    state = load_checkpoint(path / "last.pt")
    events: list[dict[str, Any]] = []
    log = path / "events.jsonl"
    if log.is_file():
        for number, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                raise CheckpointError(f"{log} line {number} is not JSON") from None
    return config, state, events
