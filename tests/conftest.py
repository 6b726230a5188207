"""Shared fixtures: the MNIST folder, cached dataset reads, tiny configs, a network guard, the command.

Nothing here imports textual, rich, plotext or the dashboard (the CUDA tests run where textual is
not installed), and nothing imports torch at module level (the dashboard's tests need no torch):
engine modules are imported inside the fixtures that use them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:
    from mnist_tui.engine.config import Config
    from mnist_tui.engine.events import Event

REPO = Path(__file__).resolve().parent.parent
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Tests never download: a connection to anything but this machine fails loudly."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            try:
                local = host == "localhost" or ipaddress.ip_address(host).is_loopback
            except ValueError:
                local = False
            if not local:
                raise OSError(f"tests must not use the network (connection to {address!r})")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]


def _find_data_dir() -> Path:
    configured = os.environ.get("MNIST_TUI_DATA")
    root = Path(configured).expanduser() if configured else REPO.parent / "shared" / "data"
    missing = [name for name in RAW_FILES if not (root / "MNIST" / "raw" / name).is_file()]
    if missing and configured:
        pytest.fail(f"MNIST_TUI_DATA={configured} lacks MNIST/raw/{', '.join(missing)}")
    if missing:
        pytest.skip(f"no MNIST files: set MNIST_TUI_DATA to a folder with MNIST/raw/ (looked in {root})")
    return root.resolve()


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    """The real MNIST folder (torchvision layout); its idx files are parsed once per session.

    Only the parsing of the raw files (``data._read``, 2 s each time) is cached; the size checks,
    splits, limits and conversions of ``load_split`` still run for every test.
    """
    root = _find_data_dir()
    import torch

    from mnist_tui.engine import data

    # One intra-op thread: the tiny models gain nothing from two, and on a busy two-core machine
    # spinning OpenMP threads made each step 50 times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    original = data._read
    cache: dict[tuple[Path, str, bool], Any] = {}

    def cached_read(folder: Path, dataset: str, *, train: bool) -> Any:
        key = (Path(folder).resolve(), dataset, train)
        if key not in cache:
            cache[key] = original(folder, dataset, train=train)
        return cache[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data, "_read", cached_read)
        yield root
    torch.set_num_threads(threads)


@pytest.fixture
def tiny() -> Config:
    """The smoke preset on the CPU for two epochs: 2,000 digits, 32 batches an epoch, a report every 5."""
    from mnist_tui.engine.presets import load_preset

    return load_preset("smoke").replace(epochs=2, device="cpu")


@pytest.fixture
def train(data_dir: Path, tmp_path: Path) -> Callable[..., list[Event]]:
    """Run the engine to its end on the real data and return every event it yielded."""
    from mnist_tui.engine.train import run_training

    def run(config: Config, *, runs_dir: Path | None | str = "default", stop: Any = None) -> list[Event]:
        target = tmp_path / "runs" if runs_dir == "default" else runs_dir
        return list(run_training(config, data_dir=data_dir, runs_dir=target, stop=stop))

    return run


class StopAfter:
    """A stop flag that sets itself on its ``calls``-th ``is_set()`` (the engine polls it between batches)."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.polled = 0

    def is_set(self) -> bool:
        self.polled += 1
        return self.polled >= self.calls


@pytest.fixture
def stop_after() -> type[StopAfter]:
    return StopAfter


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``python -m mnist_tui`` in a subprocess (stdout and stderr are pipes, not a tty)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mnist_tui", *args],
            cwd=tmp_path,
            env=cli_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def command_env() -> dict[str, str]:
    """The environment :func:`cli` runs the command in, for tests that start it themselves."""
    return cli_env()


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess of the command: no data folder unless a test names one, and no
    COLUMNS or LINES (pytest-xdist's workers export 80x24, which would pin the dashboard's size in tmux)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_TUI_DATA", "COLUMNS", "LINES", "FORCE_COLOR")}
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_NUM_THREADS"] = "1"  # as in-process: two spinning threads crawl on a busy two-core machine
    env.update(extra or {})
    return env
