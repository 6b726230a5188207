"""Reading a run's checkpoints: every way one can be unusable, said in words.

Checkpoints are written by ``runs.RunFolder`` through the journal (``journal.py``) as PyTorch's zip
files holding only tensors and plain values, and read back with ``torch.load(weights_only=True)``:
loading never unpickles objects. A file that cannot be used raises a CheckpointError whose message
names it and says why, as a person would check: missing, a broken link, not a regular file,
unreadable (permission denied), empty, corrupt (cut short, or changed since it was written), or
not an mnist-tui checkpoint (naming what it lacks).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

import torch

from .journal import CheckpointError

CHECKPOINT_FORMAT = 1


ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of a zip archive, as every checkpoint mnist-tui writes is (PyTorch's format)."""


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint safely (weights-only); a CheckpointError says why it cannot be used: missing,
    not a file, unreadable, empty, corrupt, or no mnist-tui checkpoint (naming what it lacks)."""
    magic = _first_bytes(path)
    if magic == ZIP_MAGIC:
        damage = _zip_damage(path)
        if damage is not None:
            raise CheckpointError(f"{path} {damage}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated data, disallowed types, torch's own refusals: all unusable
        if isinstance(error, OSError) and error.errno != errno.EINVAL:  # EINVAL: torch seeking outside a cut file
            raise CheckpointError(f"{path} cannot be read ({_reason(error)})") from None
        raise CheckpointError(f"{path} {_load_failure(error, zipped=magic == ZIP_MAGIC)}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (it holds a {type(state).__name__}, not a table of fields)")
    if "format" not in state:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (it has no format number)")
    if state["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not an mnist-tui checkpoint this version reads (format {state['format']!r:.40}, not {CHECKPOINT_FORMAT})"
        )
    weights = state.get("model")
    if weights is None:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (it holds no model weights)")
    if not isinstance(weights, dict) or not all(isinstance(value, torch.Tensor) for value in weights.values()):
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (its model weights are not tensors)")
    return state


def _first_bytes(path: Path) -> bytes:
    """The first four bytes of a checkpoint file, or a CheckpointError saying why there are none to read."""
    try:
        status = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise CheckpointError(f"{path} is a broken link (to {os.readlink(path)})") from None
        raise CheckpointError(f"{path} does not exist") from None
    except OSError as error:  # a link loop, a name too long, a folder that cannot be searched
        raise CheckpointError(f"{path} cannot be read ({_reason(error)})") from None
    if stat.S_ISDIR(status.st_mode):
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if not stat.S_ISREG(status.st_mode):  # a FIFO would wait for a writer forever
        raise CheckpointError(f"{path} is not a regular file")
    if status.st_size == 0:
        raise CheckpointError(f"{path} is empty (its writer was stopped before writing it)")
    try:
        with open(path, "rb") as handle:
            return handle.read(len(ZIP_MAGIC))
    except OSError as error:
        raise CheckpointError(f"{path} cannot be read ({_reason(error)})") from None


def _reason(error: OSError) -> str:
    """An OSError's reason as words in a sentence ("permission denied")."""
    reason = error.strerror or type(error).__name__
    return reason[:1].lower() + reason[1:]


def _zip_damage(path: Path) -> str | None:
    """What is wrong with a checkpoint's zip archive, as the rest of a sentence naming the file, or None.

    torch.load never checks the entries' CRC-32s (flipped bits in the weights loaded as other
    weights), and names a cut-off archive only in its own words.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if not any(name == "data.pkl" or name.endswith("/data.pkl") for name in archive.namelist()):
                return "is not an mnist-tui checkpoint (a zip archive, but not one PyTorch wrote)"
            damaged = archive.testzip()
    except OSError as error:
        return f"cannot be read ({_reason(error)})"
    except (zipfile.BadZipFile, EOFError, ValueError, RuntimeError, NotImplementedError, zlib.error):
        return "is corrupt (truncated or damaged: not a whole zip archive)"
    if damaged is not None:
        return f"is corrupt: its {damaged} does not match its checksum (changed on disk since it was written)"
    return None


_MISSING_RECORD = re.compile(r"failed locating file (\S+): file not found")


def _load_failure(error: Exception, *, zipped: bool) -> str:
    """Why torch.load refused a checkpoint, as the rest of a sentence naming the file: in a few
    words, without PyTorch's advice to load unsafely. Bytes that are no zip archive may be a
    checkpoint cut or written over from its start, or another file: which, nothing tells."""
    text = str(error)
    if "Unsupported global" in text:
        return "is corrupt or not an mnist-tui checkpoint (it holds Python objects, which are never loaded)"
    if not zipped:
        return "is corrupt or not an mnist-tui checkpoint (not a whole PyTorch file)"
    missing = _MISSING_RECORD.search(text)
    if missing:
        return f"is corrupt (its archive lacks {missing.group(1)})"
    if "record size" in text:
        return "is corrupt (a tensor's data does not match its shape)"
    if "maximum supported version" in text:
        return f"was written by a newer PyTorch than this one ({torch.__version__}); upgrade PyTorch to read it"
    return "is corrupt (not a whole PyTorch file)"


def best_epoch_of(path: Path) -> int:
    """The epoch whose weights a ``best.pt`` holds."""
    return epoch_of(load_checkpoint(path), path)


def epoch_of(state: dict[str, Any], path: Path) -> int:
    """The epochs trained when the checkpoint ``state`` (read from ``path``) was saved."""
    epoch = state.get("epoch")
    if epoch is None:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (it names no epoch)")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint (its epoch is {epoch!r:.40}, not a count of epochs)")
    return epoch


def check_position(state: dict[str, Any], steps_per_epoch: int, *, where: str = "last.pt") -> None:
    """The position fields of a checkpoint are counts that fit together, or a CheckpointError names the bad one."""
    values = {name: state.get(name) for name in ("epoch", "epoch_step", "global_step")}
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CheckpointError(f"{where}: {name} = {value!r} is not a count of {name.split('_')[-1]}s")
    if values["epoch_step"] >= steps_per_epoch:
        raise CheckpointError(f"{where}: epoch_step = {values['epoch_step']} is past the {steps_per_epoch} steps of an epoch")
    if values["global_step"] != values["epoch"] * steps_per_epoch + values["epoch_step"]:
        raise CheckpointError(
            f"{where}: global_step = {values['global_step']} does not match epoch {values['epoch']}, "
            f"step {values['epoch_step']} of {steps_per_epoch}"
        )
    partial = state.get("partial")
    if not isinstance(partial, dict) or not all(
        isinstance(partial.get(k), (int, float)) and not isinstance(partial.get(k), bool) and partial[k] >= 0
        for k in ("loss_sum", "correct", "seen", "seconds")
    ):
        raise CheckpointError(f"{where}: its partial-epoch sums are not numbers")


def _any(value: Any) -> bool:
    return True


def _generator_state(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dtype == torch.uint8


RESUME_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "optimizer": (
        "the optimizer's state",
        lambda value: isinstance(value, dict) and isinstance(value.get("state"), dict) and isinstance(value.get("param_groups"), list),
    ),
    "schedule": ("the learning-rate schedule's state", lambda value: isinstance(value, dict)),
    "epoch": ("its epoch", _any),
    "epoch_step": ("its step in the epoch", _any),
    "global_step": ("its step count", _any),
    "epoch_shuffle_state": ("the epoch's shuffling state", _generator_state),
    "shuffle_state": ("the shuffling generator's state", _generator_state),
    "cpu_rng_state": ("the random number generator's state", _generator_state),
    "partial": ("the sums of its partial epoch", _any),
}
"""What a ``last.pt`` holds besides its weights for a resume to go on exactly (``Trainer.full_state``),
in words, each with a look at its shape (``check_position`` checks the counts' values)."""


def resume_problem(state: dict[str, Any]) -> str | None:
    """What a ``last.pt``'s state lacks for a resume, or which of its parts is malformed, in words; None when whole."""
    lacking = [words for name, (words, _) in RESUME_FIELDS.items() if name not in state]
    if lacking:
        return "it lacks " + (", ".join(lacking[:-1]) + " and " + lacking[-1] if len(lacking) > 1 else lacking[0])
    malformed = [words for name, (words, fits) in RESUME_FIELDS.items() if not fits(state[name])]
    return f"{malformed[0]} is malformed" if malformed else None
