"""Where a dataset's raw files lie in a data folder, and their sizes: no torch, so that the
dashboard's own modules (``watch``'s resume hint) can look without loading it."""

from __future__ import annotations

from pathlib import Path

TORCHVISION_DATASETS = {
    "mnist": ("MNIST", tuple(str(d) for d in range(10))),
    "fashion-mnist": (
        "FashionMNIST",
        ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"),
    ),
}
"""Per dataset: torchvision's class name (its folder's name), and the names of its classes."""

# The four idx files and their exact sizes (header + payload); the same for both datasets.
FILE_SIZES = {
    "train-images-idx3-ubyte": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}


def raw_folder(data_dir: Path, dataset: str) -> Path:
    """Where torchvision keeps (and downloads) the raw idx files of ``dataset``."""
    return data_dir / TORCHVISION_DATASETS[dataset][0] / "raw"


def holds_files(data_dir: Path | str, dataset: str) -> bool:
    """Whether ``data_dir`` holds every raw file of ``dataset``, or its archive: a quick look at
    the names, before ``data.ensure_files`` checks sizes and checksums (and unpacks)."""
    if dataset not in TORCHVISION_DATASETS:  # a log's word for it
        return False
    raw = raw_folder(Path(data_dir), dataset)
    try:
        return all((raw / name).is_file() or (raw / f"{name}.gz").is_file() for name in FILE_SIZES)
    except OSError:  # a path too long to be a folder's, a loop of links: no data there to read
        return False
