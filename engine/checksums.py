"""The raw data files checked against the official files' MD5 checksums, once per data folder.

The expected digests come from the ``MD5SUMS`` file beside the raw files (``md5sum`` format),
or, for files it does not list, from the constants below: the uncompressed MNIST files, and the
published ``.gz`` archives of both datasets (a raw file with its archive beside it must be the
archive's content). Digests are cached in the user's cache folder, keyed by each file's path,
size and modification time, so the 55 MB are read once, not at every run; the data folder itself
may be read-only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Callable, Iterable

MD5SUMS = "MD5SUMS"
RAW_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {},
}
"""The official uncompressed files (no published digests of Fashion-MNIST's: its archives vouch for them)."""
GZ_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
"""The archives torchvision downloads (its own resource checksums)."""


class ChecksumMismatch(RuntimeError):
    """A data file differs from the official one; the message names it."""


def cache_file() -> Path:
    """Where computed digests are kept: ``$XDG_CACHE_HOME/mnist-tui/checksums.json`` (``~/.cache`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mnist-tui" / "checksums.json"


def verify(raw: Path, dataset: str, names: Iterable[str]) -> None:
    """Raise ChecksumMismatch naming the first file of ``names`` in ``raw`` that is not the official one."""
    listed = read_md5sums(raw / MD5SUMS)
    digests = _DigestCache(cache_file())
    try:
        for name in names:
            path = raw / name
            expected = listed.get(name) or RAW_MD5[dataset].get(name)
            source = MD5SUMS if name in listed else "the official file"
            if expected is None:
                _verify_by_archive(path, dataset, listed, digests)
                continue
            actual = digests.get(path, "file", _md5_of_file)
            if actual != expected:
                raise ChecksumMismatch(_mismatch(path, actual, expected, source))
    finally:
        digests.save()


def _verify_by_archive(path: Path, dataset: str, listed: dict[str, str], digests: _DigestCache) -> None:
    """Check a raw file that no digest lists through its ``.gz`` beside it, when there is one."""
    archive = path.with_name(path.name + ".gz")
    expected = listed.get(archive.name) or GZ_MD5[dataset].get(archive.name)
    if expected is None or not archive.is_file():
        return  # nothing to compare with: the size check in data.py is all there is
    actual = digests.get(archive, "file", _md5_of_file)
    if actual != expected:
        raise ChecksumMismatch(_mismatch(archive, actual, expected, MD5SUMS if archive.name in listed else "the official file"))
    if digests.get(path, "file", _md5_of_file) != digests.get(archive, "content", _md5_of_content):
        raise ChecksumMismatch(f"{path} differs from the content of {archive.name} (corrupt file); delete it to unpack it again")


def _mismatch(path: Path, actual: str, expected: str, source: str) -> str:
    return (
        f"{path} does not match its checksum in {source} (md5 {actual}, expected {expected}): "
        "the file is corrupt; replace it with the official one"
    )


def read_md5sums(path: Path) -> dict[str, str]:
    """``md5sum``'s output format: ``DIGEST  NAME`` (or ``DIGEST *NAME``) per line; a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    listed: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and len(parts[0]) == 32:
            listed[parts[1].lstrip("*").strip()] = parts[0].lower()
    return listed


def _md5_of_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _md5_of_content(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error):
        return "unreadable"
    return digest.hexdigest()


class _DigestCache:
    """Digests by (path, kind), valid while the file keeps its size and modification time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.changed = False
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            self.entries: dict[str, dict] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError, RecursionError):
            self.entries = {}

    def get(self, file: Path, kind: str, compute: Callable[[Path], str]) -> str:
        stat = file.stat()
        key = f"{kind}:{file.resolve()}"
        entry = self.entries.get(key)
        if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
            return str(entry.get("md5"))
        digest = compute(file)
        self.entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "md5": digest}
        self.changed = True
        return digest

    def save(self) -> None:
        if not self.changed:
            return
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(self.entries, indent=1), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:  # a read-only home: the files are verified again next time, nothing else is lost
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
