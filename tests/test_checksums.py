"""Data is verified: corrupted copies of MNIST are refused naming the file; digests are cached.

The corrupted copies are built in tmp folders (links to the shared files, one file copied and
changed); the shared data folder is never written.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from conftest import RAW_FILES, cli_env
from mnist_tui.command import main
from mnist_tui.engine import checksums
from mnist_tui.engine.checksums import ChecksumMismatch, read_md5sums, verify

SMOKE = ("--no-ui", "--preset", "smoke", "--device", "cpu", "--set", "train_limit=200", "--set", "eval_limit=100")


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's digests go to its own cache folder, not the user's."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def corrupted_copy(data_dir: Path, root: Path, name: str, change: Callable[[bytearray], None], *, md5sums: bool) -> Path:
    """A data folder whose ``name`` is a changed copy; the other files link to ``data_dir``'s."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    source = data_dir / "MNIST" / "raw"
    for other in RAW_FILES:
        if other != name:
            (raw / other).symlink_to(source / other)
    content = bytearray((source / name).read_bytes())
    change(content)
    (raw / name).write_bytes(bytes(content))
    if md5sums:
        (raw / "MD5SUMS").write_bytes((source / "MD5SUMS").read_bytes())
    return root


def ff_block(content: bytearray) -> None:
    content[1016:2016] = b"\xff" * 1000


def all_ff(content: bytearray) -> None:
    content[16:] = b"\xff" * (len(content) - 16)


def all_threes(content: bytearray) -> None:
    content[8:] = b"\x03" * (len(content) - 8)


def shifted(content: bytearray) -> None:
    content[8:] = content[9:] + content[8:9]


CORRUPTIONS = {
    "1,000 bytes of 0xFF in the training images": ("train-images-idx3-ubyte", ff_block, True),
    "every training image all 0xFF": ("train-images-idx3-ubyte", all_ff, False),
    "every training label a 3": ("train-labels-idx1-ubyte", all_threes, True),
    "the test labels shifted by one": ("t10k-labels-idx1-ubyte", shifted, False),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_data_is_exit_2_naming_the_file(
    case: str, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, change, md5sums = CORRUPTIONS[case]
    corrupt = corrupted_copy(data_dir, tmp_path / "data", name, change, md5sums=md5sums)
    code = main([*SMOKE, "--data-dir", str(corrupt), "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2
    source = "MD5SUMS" if md5sums else "the official file"
    assert err.startswith(f"mnist-tui: error: {corrupt / 'MNIST' / 'raw' / name} does not match its checksum in {source} ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists(), "nothing was written"


def test_the_real_command_refuses_corrupt_data(data_dir: Path, tmp_path: Path, own_cache: Path) -> None:
    corrupt = corrupted_copy(data_dir, tmp_path / "data", "train-images-idx3-ubyte", ff_block, md5sums=True)
    done = subprocess.run(
        [sys.executable, "-m", "mnist_tui", *SMOKE, "--data-dir", str(corrupt), "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, env=cli_env({"XDG_CACHE_HOME": str(own_cache)}), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"mnist-tui: error: {corrupt / 'MNIST' / 'raw' / 'train-images-idx3-ubyte'} does not match")
    assert "Traceback" not in done.stderr


def test_the_shared_files_match_md5sums_and_the_built_in_checksums(data_dir: Path) -> None:
    raw = data_dir / "MNIST" / "raw"
    listed = read_md5sums(raw / "MD5SUMS")
    assert listed == checksums.RAW_MD5["mnist"]
    verify(raw, "mnist", RAW_FILES)  # the shared (read-only) folder passes, and is not written


def test_digests_are_cached_by_size_and_modification_time(
    data_dir: Path, tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[str] = []
    real = checksums._md5_of_file
    monkeypatch.setattr(checksums, "_md5_of_file", lambda path: computed.append(path.name) or real(path))
    root = corrupted_copy(data_dir, tmp_path / "data", "t10k-labels-idx1-ubyte", lambda c: None, md5sums=False)
    raw = root / "MNIST" / "raw"

    verify(raw, "mnist", RAW_FILES)
    assert sorted(computed) == sorted(RAW_FILES)
    assert len(json.loads(checksums.cache_file().read_text())) == 4
    assert checksums.cache_file().parent == own_cache / "mnist-tui"

    computed.clear()
    verify(raw, "mnist", RAW_FILES)
    assert computed == [], "the second check reads no file"

    stat = (raw / "t10k-labels-idx1-ubyte").stat()
    os.utime(raw / "t10k-labels-idx1-ubyte", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    verify(raw, "mnist", RAW_FILES)
    assert computed == ["t10k-labels-idx1-ubyte"], "a changed modification time is checked again"


def test_a_cache_that_cannot_be_written_only_costs_time(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    verify(data_dir / "MNIST" / "raw", "mnist", RAW_FILES)


def test_a_file_no_digest_lists_is_checked_through_its_archive(tmp_path: Path) -> None:
    """Fashion-MNIST's raw files have no published digests: their .gz beside them vouches for them."""
    raw = tmp_path / "raw"
    raw.mkdir()
    name = "t10k-labels-idx1-ubyte"
    (raw / f"{name}.gz").write_bytes(gzip.compress(b"the official bytes"))
    digest = hashlib.md5((raw / f"{name}.gz").read_bytes()).hexdigest()
    (raw / "MD5SUMS").write_text(f"{digest}  {name}.gz\n")
    (raw / name).write_bytes(b"the official bytes")
    verify(raw, "fashion-mnist", [name])

    (raw / name).write_bytes(b"the official bytez")
    with pytest.raises(ChecksumMismatch, match=f"{raw / name} differs from the content of {name}.gz"):
        verify(raw, "fashion-mnist", [name])

    (raw / "MD5SUMS").unlink()  # now the built-in digest of the official archive applies
    with pytest.raises(ChecksumMismatch, match=f"{raw / name}.gz does not match its checksum in the official file"):
        verify(raw, "fashion-mnist", [name])
