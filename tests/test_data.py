"""The dataset on disk and in memory: checked files, clear errors, .gz unpacking, limits and splits."""

from __future__ import annotations

import filecmp
import functools
import gzip
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch
import torchvision.datasets

from mnist_tui.engine.config import Config
from mnist_tui.engine.data import (
    FILE_SIZES,
    DataError,
    default_data_dir,
    ensure_files,
    gallery_indices,
    holdout_order,
    load_split,
)

CPU = torch.device("cpu")


def linked_copy(data_dir: Path, target: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """A data folder whose raw files are symbolic links to the real ones (never hard links: a test
    that truncates a hard link would truncate the shared original)."""
    raw = target / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILE_SIZES:
        if name not in skip:
            (raw / name).symlink_to(data_dir / "MNIST" / "raw" / name)
    return target


def test_the_real_folder_passes_the_checks(data_dir: Path) -> None:
    assert ensure_files(data_dir, "mnist", download=False) == data_dir


def test_a_named_folder_that_does_not_exist_is_an_error_not_a_download(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    with pytest.raises(DataError, match=f"data folder {missing} does not exist"):
        ensure_files(missing, "mnist")
    assert not missing.exists()


def test_a_named_folder_that_is_a_file_is_named_so(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(DataError, match=f"^data folder {re.escape(str(afile))} is a file, not a folder$"):
        ensure_files(afile, "mnist")


@pytest.mark.parametrize(("make", "what"), [(Path.mkdir, "a folder"), (os.mkfifo, "not a regular file")], ids=["folder", "fifo"])
def test_a_raw_file_that_is_no_file_is_named_and_not_downloaded(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], object], what: str
) -> None:
    """A folder where t10k-labels-idx1-ubyte belongs was "missing": a download was tried, which
    could not replace it."""
    root = linked_copy(data_dir, tmp_path, skip=("t10k-labels-idx1-ubyte",))
    impostor = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    make(impostor)
    monkeypatch.setattr("mnist_tui.engine.data._download", lambda *args: pytest.fail("a download was attempted"))
    with pytest.raises(DataError, match=f"^{re.escape(str(impostor))} is {what}; put the data file itself there$"):
        ensure_files(root, "mnist")


@pytest.mark.parametrize("name", ["t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz"], ids=["file", "archive of a missing file"])
def test_a_raw_file_that_is_a_broken_link_is_named_with_its_target_and_not_downloaded(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """It was "missing", and a download was tried (or the link replaced by the archive's content)."""
    root = linked_copy(data_dir, tmp_path / "data", skip=("t10k-labels-idx1-ubyte",))
    link = root / "MNIST" / "raw" / name
    link.symlink_to(tmp_path / "unmounted" / name)
    monkeypatch.setattr("mnist_tui.engine.data._download", lambda *args: pytest.fail("a download was attempted"))
    with pytest.raises(DataError) as caught:
        ensure_files(root, "mnist")
    assert str(caught.value) == (
        f"{link} is a broken link (to {tmp_path / 'unmounted' / name}); "
        "make its target available again, or put the data file itself there"
    )
    assert link.is_symlink()


def test_a_truncated_file_is_named_with_its_size(data_dir: Path, tmp_path: Path) -> None:
    root = linked_copy(data_dir, tmp_path, skip=("t10k-labels-idx1-ubyte",))
    truncated = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    truncated.write_bytes((data_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes()[:5000])
    with pytest.raises(DataError) as caught:
        ensure_files(root, "mnist", download=False)
    assert str(truncated) in str(caught.value)
    assert "5,000 bytes, expected 10,008" in str(caught.value)


def test_a_missing_file_is_named(data_dir: Path, tmp_path: Path) -> None:
    root = linked_copy(data_dir, tmp_path, skip=("train-labels-idx1-ubyte",))
    with pytest.raises(DataError, match="mnist files missing in .*MNIST/raw: train-labels-idx1-ubyte;"):
        ensure_files(root, "mnist", download=False)


@pytest.fixture(scope="module")
def gz_only(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw folder that holds only the four files gzipped (as Debian's packages ship them)."""
    raw = tmp_path_factory.mktemp("gz") / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILE_SIZES:
        with open(data_dir / "MNIST" / "raw" / name, "rb") as source, gzip.open(raw / f"{name}.gz", "wb", compresslevel=1) as sink:
            shutil.copyfileobj(source, sink)
    return raw


def test_gz_only_folders_are_unpacked(data_dir: Path, gz_only: Path, tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(gz_only, raw)
    assert ensure_files(tmp_path, "mnist", download=False) == tmp_path
    for name in FILE_SIZES:
        assert filecmp.cmp(raw / name, data_dir / "MNIST" / "raw" / name, shallow=False), name
    assert sorted(p.name for p in raw.iterdir()) == sorted([*FILE_SIZES, *(f"{n}.gz" for n in FILE_SIZES)])


@pytest.mark.parametrize("damage", ["truncate", "scramble"])
def test_a_damaged_gz_is_named_and_leaves_nothing_behind(gz_only: Path, tmp_path: Path, damage: str) -> None:
    """A truncated archive ends early (EOFError); scrambled bytes are a zlib error: both are DataErrors."""
    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(gz_only, raw)
    packed = raw / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(packed.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[40:200] = bytes(b ^ 0x55 for b in data[40:200])
    packed.write_bytes(bytes(data))
    with pytest.raises(DataError, match=f"{packed} cannot be unpacked"):
        ensure_files(tmp_path, "mnist", download=False)
    assert not (raw / "t10k-labels-idx1-ubyte").exists()
    assert not list(raw.glob("*.partial"))


def test_fashion_mnist_missing_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    root = linked_copy(data_dir, tmp_path)
    with pytest.raises(DataError) as caught:
        ensure_files(root, "fashion-mnist", download=False)
    assert f"fashion-mnist files missing in {root / 'FashionMNIST' / 'raw'}" in str(caught.value)


def test_fashion_mnist_that_cannot_be_downloaded_is_a_clear_error(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download path runs for real against an empty local mirror: no network, one DataError."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", [mirror.as_uri() + "/"])
    root = linked_copy(data_dir, tmp_path / "data")
    with pytest.raises(DataError) as caught:
        ensure_files(root, "fashion-mnist")
    message = str(caught.value)
    raw = root / "FashionMNIST" / "raw"
    assert message.startswith(f"fashion-mnist files missing in {raw}: train-images-idx3-ubyte, ")
    assert "; downloading them failed (" in message and "\n" not in message  # torchvision's lines: the last one
    assert message.endswith(f"; put them (or their .gz archives) in {raw} by hand, or point --data-dir at a folder that has them")


def tree(folder: Path) -> list[str]:
    """Every path under ``folder``, hidden ones too."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("where", ["named", "default"])
def test_a_failed_download_leaves_the_data_folder_as_it_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """An empty FashionMNIST/raw was left behind (and, for the default folder, the folders above it)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the default folder: cache/mnist-tui
    given = None
    if where == "named":
        given = tmp_path / "data"
        given.mkdir()
        (given / "notes.txt").write_text("kept")
    before = tree(tmp_path)
    with pytest.raises(DataError, match="downloading them failed"):
        ensure_files(given, "fashion-mnist")
    assert tree(tmp_path) == before


@pytest.fixture
def served(gz_only: Path) -> Iterator[str]:
    """The URL of gz_only's archives served over HTTP on this machine (torchvision reads a
    response's length, which a file: URL's lacks)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(gz_only)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_a_download_adds_only_the_missing_files(
    data_dir: Path, served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloaded through a hidden folder, then moved in: the files that were there stay (links
    stay links), and nothing but the data is left."""
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [served])
    # gz_only's archives are compressed here, not the published ones: no archive checksum to match
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", [(f"{name}.gz", None) for name in FILE_SIZES])
    root = linked_copy(data_dir, tmp_path / "data", skip=("t10k-labels-idx1-ubyte",))
    assert ensure_files(root, "mnist") == root
    raw = root / "MNIST" / "raw"
    assert [p.name for p in root.iterdir()] == ["MNIST"]
    assert all((raw / name).is_symlink() for name in FILE_SIZES if name != "t10k-labels-idx1-ubyte")
    assert filecmp.cmp(raw / "t10k-labels-idx1-ubyte", data_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", shallow=False)


def test_the_data_folder_defaults_to_the_environment_then_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNIST_TUI_DATA", str(tmp_path / "data"))
    assert default_data_dir() == tmp_path / "data"
    monkeypatch.delenv("MNIST_TUI_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "mnist-tui"


def test_load_split_applies_the_limits_and_scales_to_unit_floats(data_dir: Path) -> None:
    split = load_split(Config(train_limit=300, eval_limit=200), data_dir, CPU)
    assert split.train_x.shape == (300, 784) and split.eval_x.shape == (200, 784)
    assert split.train_x.dtype == torch.float32 and split.train_y.dtype == torch.long
    assert 0.0 == split.train_x.min().item() and split.train_x.max().item() == 1.0
    assert set(split.train_y.tolist()) == set(range(10))
    assert split.eval_name == "test set"
    assert split.class_names == tuple("0123456789")


def test_the_holdout_split_is_fixed_by_split_seed_alone(data_dir: Path) -> None:
    def held(**changes: object) -> torch.Tensor:
        config = Config(eval_split="holdout", train_limit=1, eval_limit=500, **changes)
        return load_split(config, data_dir, CPU).eval_x

    first = held(split_seed=0)
    assert torch.equal(first, held(split_seed=0, seed=5))
    assert not torch.equal(first, held(split_seed=1))
    assert not torch.equal(first, load_split(Config(train_limit=1, eval_limit=500), data_dir, CPU).eval_x)
    holdout = load_split(Config(eval_split="holdout", holdout_fraction=0.25), data_dir, CPU)
    assert (len(holdout.train_y), len(holdout.eval_y)) == (45_000, 15_000)
    assert holdout.eval_name == "25 % holdout of training set"
    # QA: 0.9999 was named a "100 % holdout", with 6 digits left to train on.
    nearly_all = load_split(Config(eval_split="holdout", holdout_fraction=0.9999), data_dir, CPU)
    assert (len(nearly_all.train_y), nearly_all.eval_name) == (6, "99.99 % holdout of training set")


# scikit-learn 1.9.1's train_test_split(numpy.arange(size), test_size=fraction, random_state=0):
# the first and last held-out indices, the first training ones, and the counts.
SKLEARN_SPLITS = {
    (70_000, 1 / 7): ([10840, 56267, 14849, 62726, 47180, 61640], [39237, 21866, 38802], [28926, 9080, 52804, 28094], 10_000),
    (60_000, 0.2): ([3048, 19563, 58303, 8870, 40228, 31488], [50430, 21574, 10617], [5778, 5287, 57167, 29516], 12_000),
}


@pytest.mark.parametrize(("size", "fraction"), sorted(SKLEARN_SPLITS))
def test_the_sklearn_shuffle_holds_out_what_train_test_split_does(size: int, fraction: float) -> None:
    first, last, train, count = SKLEARN_SPLITS[(size, fraction)]
    order, held = holdout_order(Config(holdout_fraction=fraction, split_shuffle="sklearn"), size)
    assert held == count
    assert order[:6].tolist() == first and order[held - 3 : held].tolist() == last
    assert order[held : held + 4].tolist() == train
    assert sorted(order.tolist()) == list(range(size))


def test_the_sklearn_split_evaluates_on_those_digits_of_the_pool(data_dir: Path) -> None:
    """The pooled split takes the 60,000 training digits, then the 10,000 test digits, as the source's pool."""
    pooled = load_split(Config(eval_split="pooled", holdout_fraction=1 / 7, split_shuffle="sklearn"), data_dir, CPU)
    train = load_split(Config(), data_dir, CPU)
    first = SKLEARN_SPLITS[(70_000, 1 / 7)][0]
    pool_x = torch.cat([train.train_x, train.eval_x])
    assert torch.equal(pooled.eval_x[:6], pool_x[first])
    assert (len(pooled.train_y), len(pooled.eval_y)) == (60_000, 10_000)
    assert pooled.eval_name == "14.3 % holdout of all 70k digits, split as scikit-learn does"


def test_the_gallery_cycles_through_the_classes() -> None:
    labels = torch.tensor([3, 3, 1, 0, 2, 9, 8, 7, 6, 5, 4, 0, 1])
    picked = gallery_indices(labels, 12)
    assert [labels[i].item() for i in picked[:10]] == list(range(10))
    assert len(set(picked)) == 12


def test_a_tiny_gallery_takes_what_there_is() -> None:
    labels = torch.tensor([5, 5, 5])
    assert sorted(gallery_indices(labels, 10)) == [0, 1, 2]
    assert gallery_indices(labels, 0) == []
