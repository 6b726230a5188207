"""MNIST and Fashion-MNIST as tensors: verified on disk, loaded once, split by seed.

Files are read in torchvision's folder layout (``DATA_DIR/MNIST/raw``); they are checked by
size first, so a truncated or missing file is a clear :class:`DataError` naming it, never a
shape error deep inside torchvision, then against the official checksums (``checksums.py``),
so a corrupted file is refused instead of trained on.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from . import paths
from .checksums import ChecksumMismatch, verify
from .config import Config, ConfigError, held_out_digits
from .raw_files import FILE_SIZES, TORCHVISION_DATASETS as _DATASETS, raw_folder

ENV_DATA_DIR = "MNIST_TUI_DATA"

class DataError(RuntimeError):
    """The dataset is missing, incomplete or unreadable; the message names the file and a fix."""


@dataclass(frozen=True)
class Split:
    """Training and evaluation tensors on one device: images as float32 in [0, 1], shape (N, 784)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    eval_x: torch.Tensor
    eval_y: torch.Tensor
    eval_name: str
    class_names: tuple[str, ...]
    root: Path | None = None
    """The data folder the files were read from (None: tensors made elsewhere, as tests make them)."""


def class_names_of(dataset: str) -> tuple[str, ...]:
    """The names of ``dataset``'s ten classes (the digits, for MNIST)."""
    return _DATASETS[dataset][1]


def default_data_dir() -> Path:
    """``$MNIST_TUI_DATA``, else the user's cache folder (where torchvision downloads to)."""
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mnist-tui"


def ensure_files(data_dir: Path | str | None, dataset: str, *, download: bool | None = None) -> Path:
    """Check the raw files, downloading them when allowed; returns the data folder.

    A folder the user named that does not exist is an error rather than a download target (a
    typo must not fetch 50 MB somewhere unexpected). ``download=None`` downloads only into the
    default cache folder or a folder the user named that exists.
    """
    explicit = data_dir is not None
    root = Path(data_dir).expanduser() if explicit else default_data_dir()
    if explicit and not paths.is_dir(root):
        if paths.exists(root):
            raise DataError(f"data folder {root} is a file, not a folder")
        raise DataError(f"data folder {root} {paths.absent(root)} (check --data-dir or ${ENV_DATA_DIR})")
    raw = raw_folder(root, dataset)
    _refuse_non_files(raw)
    _gunzip_missing(raw)
    missing = [name for name in FILE_SIZES if not (raw / name).is_file()]
    if missing and (download if download is not None else True):
        _download(root, dataset, raw, missing)
        missing = [name for name in FILE_SIZES if not (raw / name).is_file()]
    if missing:
        raise DataError(
            f"{dataset} files missing in {raw}: {', '.join(missing)}; "
            "put torchvision's raw files there, or let mnist-tui download them when online"
        )
    for name, size in FILE_SIZES.items():
        actual = (raw / name).stat().st_size
        if actual != size:
            raise DataError(
                f"{raw / name} is {actual:,} bytes, expected {size:,} (truncated or corrupt); "
                "delete it to download it again"
            )
    try:
        verify(raw, dataset, FILE_SIZES)
    except ChecksumMismatch as error:
        raise DataError(str(error)) from None
    except OSError as error:
        raise DataError(f"{raw} cannot be read: {error}") from None
    return root


def _refuse_non_files(raw: Path) -> None:
    """A DataError naming a raw file's name that holds something else (a folder, a FIFO, a broken
    link, or a missing file's archive that is one): it is not missing, so downloading would not
    replace it, and reading it would fail or wait."""
    for name in FILE_SIZES:
        path, packed = raw / name, raw / f"{name}.gz"
        if path.exists() and not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file"
            raise DataError(f"{path} is {what}; put the data file itself there")
        link = path if os.path.lexists(path) else packed  # a missing file is unpacked from its archive
        if link.is_symlink() and not link.exists():
            raise DataError(
                f"{link} is a broken link (to {os.readlink(link)}); "
                "make its target available again, or put the data file itself there"
            )


def _gunzip_missing(raw: Path) -> None:
    """Unpack ``name.gz`` where only the compressed file is there (as Debian's packages ship them)."""
    for name in FILE_SIZES:
        target, packed = raw / name, raw / f"{name}.gz"
        if not target.exists() and packed.is_file():
            temporary = target.with_suffix(".partial")
            try:
                with gzip.open(packed, "rb") as source, open(temporary, "wb") as sink:
                    shutil.copyfileobj(source, sink)
            except (OSError, EOFError, zlib.error) as error:  # truncated or scrambled archives
                temporary.unlink(missing_ok=True)
                raise DataError(f"{packed} cannot be unpacked: {error}") from None
            temporary.replace(target)


def _download(root: Path, dataset: str, raw: Path, missing: list[str]) -> None:
    """Download ``dataset`` into a hidden folder in ``root``, then move the files ``raw`` lacks into
    it: a failed or interrupted download leaves the data folder as it was (no empty ``raw``)."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, _DATASETS[dataset][0])
    absent = _absent_folders(raw)
    staging: Path | None = None
    finished = False
    try:
        try:
            root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
            cls(root=str(staging), train=True, download=True)
            cls(root=str(staging), train=False, download=True)
        except Exception as error:  # torchvision raises RuntimeError, URLError, OSError...
            # Its message runs to several lines (each mirror tried); the last says why.
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            why = lines[-1].strip("<>") if lines else type(error).__name__
            raise DataError(
                f"{dataset} files missing in {raw}: {', '.join(missing)}; downloading them failed ({why}); "
                f"put them (or their .gz archives) in {raw} by hand, or point --data-dir at a folder that has them"
            ) from None
        try:
            raw.mkdir(parents=True, exist_ok=True)
            for fetched in raw_folder(staging, dataset).iterdir():
                if not os.path.lexists(raw / fetched.name):
                    os.replace(fetched, raw / fetched.name)
        except OSError as error:
            raise DataError(f"the downloaded {dataset} files cannot be moved into {raw}: {error.strerror or error}") from None
        finished = True
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not finished:
            _remove_empty(absent)


def _absent_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first: what making it makes."""
    absent = []
    while not os.path.lexists(path) and path.parent != path:
        absent.append(path)
        path = path.parent
    return absent


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) that a failed download made, up to the first that is not empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except FileNotFoundError:  # never made
            continue
        except OSError:  # something else put files there since: not ours to remove
            return


def _read(root: Path, dataset: str, *, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 784) and labels (N,) as uint8, straight from the idx files.

    Parsed here rather than through torchvision's dataset classes: the same bytes, without the
    two seconds torchvision takes to import (it is needed only to download).
    """
    raw = raw_folder(root, dataset)
    prefix = "train" if train else "t10k"
    images = _read_idx(raw / f"{prefix}-images-idx3-ubyte", dims=3)
    labels = _read_idx(raw / f"{prefix}-labels-idx1-ubyte", dims=1)
    if len(images) != len(labels) or images.shape[1:] != (28, 28):
        raise DataError(f"{raw}: {tuple(images.shape)} images do not match {len(labels)} labels of 28x28 digits")
    if len(labels) and int(labels.max()) >= len(_DATASETS[dataset][1]):
        raise DataError(f"{raw / f'{prefix}-labels-idx1-ubyte'} holds a label above 9 (corrupt file)")
    return images.reshape(len(images), -1), labels


def _read_idx(path: Path, *, dims: int) -> torch.Tensor:
    """An idx file of unsigned bytes (magic 0x08 0x{dims}) as a uint8 tensor of its shape."""
    try:
        data = bytearray(path.read_bytes())
    except OSError as error:
        raise DataError(f"{path} cannot be read: {error}") from None
    header = 4 + 4 * dims
    magic = int.from_bytes(data[:4], "big")
    if len(data) < header or magic != 0x0800 + dims:
        raise DataError(f"{path} is not an idx file of unsigned bytes with {dims} dimension(s) (corrupt file)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    if len(data) != header + math.prod(shape):
        raise DataError(f"{path} is {len(data):,} bytes, its header announces {header + math.prod(shape):,}")
    return torch.frombuffer(data, dtype=torch.uint8, offset=header).reshape(shape)


def load_split(config: Config, data_dir: Path | str | None, device: torch.device) -> Split:
    """Load, split and move the dataset to ``device`` as the config says."""
    root = ensure_files(data_dir, config.dataset)
    train_x, train_y = _read(root, config.dataset, train=True)
    test_x, test_y = _read(root, config.dataset, train=False)
    if config.eval_split == "test":
        eval_name = "test set"
    else:
        if config.eval_split == "pooled":
            train_x, train_y = torch.cat([train_x, test_x]), torch.cat([train_y, test_y])
        order, held = holdout_order(config, len(train_x))
        test_x, test_y = train_x[order[:held]], train_y[order[:held]]
        train_x, train_y = train_x[order[held:]], train_y[order[held:]]
        pool = "training set" if config.eval_split == "holdout" else "all 70k digits"
        percent = f"{config.holdout_fraction * 100:.3g}"
        if percent in ("0", "100"):  # 0.9999 is not all of it (QA): the digits that tell it apart
            percent = f"{config.holdout_fraction * 100:.6g}"
        eval_name = f"{percent} % holdout of {pool}"
        if config.split_shuffle == "sklearn":
            eval_name += ", split as scikit-learn does"
    if config.train_limit:
        train_x, train_y = train_x[: config.train_limit], train_y[: config.train_limit]
    if config.eval_limit:
        test_x, test_y = test_x[: config.eval_limit], test_y[: config.eval_limit]
    if len(test_y) == 0:
        raise ConfigError(
            f"the evaluation set is empty: holdout_fraction = {config.holdout_fraction:g} holds out no digit; raise it"
        )
    return Split(
        train_x=_to_float(train_x, device),
        train_y=train_y.to(device=device, dtype=torch.long),
        eval_x=_to_float(test_x, device),
        eval_y=test_y.to(device=device, dtype=torch.long),
        eval_name=eval_name,
        class_names=_DATASETS[config.dataset][1],
        root=root.resolve(),
    )


def holdout_order(config: Config, size: int) -> tuple[torch.Tensor, int]:
    """The pool's indices in split order and how many of the first ones are held out.

    ``sklearn`` reproduces ``train_test_split(pool, test_size=holdout_fraction,
    random_state=split_seed)`` without scikit-learn: numpy's legacy ``RandomState`` (whose stream
    numpy keeps stable) permutes the pool, and the first ``ceil(fraction * size)`` indices are held
    out, in that order. The sources split this way, so their presets evaluate on the same digits.
    """
    if config.split_shuffle == "sklearn":
        import numpy  # torchvision's dependency; only this split needs it

        permutation = numpy.random.RandomState(config.split_seed).permutation(size)
        return torch.from_numpy(permutation).long(), held_out(config, size)
    generator = torch.Generator().manual_seed(config.split_seed)
    return torch.randperm(size, generator=generator), held_out(config, size)


def held_out(config: Config, size: int) -> int:
    """How many of a pool of ``size`` digits the split holds out (``config.held_out_digits``)."""
    return held_out_digits(size, config.holdout_fraction, config.split_shuffle)


def _to_float(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    # Move as uint8 (4x less to copy), then scale on the device: the same values as ToTensor().
    return images.to(device).float().div_(255.0)


def gallery_indices(labels: torch.Tensor, count: int) -> list[int]:
    """``count`` fixed evaluation indices, cycling through the classes so each digit appears."""
    labels_list = labels.tolist()
    picked: list[int] = []
    taken: set[int] = set()
    wanted = 0
    while len(picked) < min(count, len(labels_list)):
        found = next(
            (i for i, y in enumerate(labels_list) if y == wanted % 10 and i not in taken), None
        )
        if found is None:  # this class has run out (tiny subsets): take the next unused digit
            found = next(i for i in range(len(labels_list)) if i not in taken)
        picked.append(found)
        taken.add(found)
        wanted += 1
    return picked
