"""The six presets: they load, match their sources, and ship in the wheel as package data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from mnist_tui.engine.config import Config, ConfigError
from mnist_tui.engine.presets import DEFAULT_PRESET, list_presets, load_config_file, load_preset, preset_description
from mnist_tui.engine.space import load_space

REPO = Path(__file__).resolve().parent.parent
PRESETS = [
    "batchnorm-dropout-he",
    "relu-adam-100-holdout",
    "relu-adam-100-pooled",
    "relu-adam-500",
    "sigmoid-sgd",
    "smoke",
]

# The key fields of each preset, as ../shared/sources/README.md's table gives them.
FULL_DATA = {"dataset": "mnist", "train_limit": 0, "eval_limit": 0}
SOURCES = {
    "sigmoid-sgd": {  # 000
        "hidden": (512, 256), "activation": "sigmoid", "batch_norm": False, "dropout": 0.0,
        "optimizer": "sgd", "lr": 0.01, "momentum": 0.5, "batch_size": 32, "drop_last": False,
        "epochs": 10, "eval_split": "test", **FULL_DATA,
    },
    "relu-adam-500": {  # 001
        "hidden": (500, 500), "activation": "relu", "batch_norm": False, "dropout": 0.0,
        "optimizer": "adam", "lr": 0.001, "batch_size": 100, "drop_last": False, "epochs": 5,
        "eval_split": "test", **FULL_DATA,
    },
    "relu-adam-100-holdout": {  # 002
        "hidden": (100, 100), "activation": "relu", "batch_norm": False, "dropout": 0.0,
        "optimizer": "adam", "lr": 0.001, "batch_size": 64, "drop_last": True, "epochs": 10,
        "eval_split": "holdout", "holdout_fraction": 0.2, "split_seed": 0, "split_shuffle": "sklearn", **FULL_DATA,
    },
    "batchnorm-dropout-he": {  # 003
        "hidden": (512, 256), "activation": "relu", "batch_norm": True, "dropout": 0.5,
        "init": "kaiming_uniform", "optimizer": "adam", "lr": 0.01, "batch_size": 32,
        "drop_last": False, "epochs": 10, "eval_split": "test", **FULL_DATA,
    },
    "relu-adam-100-pooled": {  # 004
        "hidden": (100, 100), "activation": "relu", "batch_norm": False, "dropout": 0.0,
        "optimizer": "adam", "lr": 0.01, "batch_size": 64, "drop_last": False, "epochs": 3,
        "eval_split": "pooled", "split_seed": 0, "split_shuffle": "sklearn", **FULL_DATA,
    },
    "smoke": {"train_limit": 2000, "epochs": 1},
}


def test_all_six_presets_are_listed() -> None:
    assert list_presets() == PRESETS
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_loads_named_after_itself_with_a_description(name: str) -> None:
    config = load_preset(name)
    assert config.name == name
    assert config.seed == 0 and config.device == "auto"
    assert preset_description(name)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_preset_matches_its_source(name: str) -> None:
    config = load_preset(name)
    actual = {key: getattr(config, key) for key in SOURCES[name]}
    assert actual == SOURCES[name]


def test_pooled_preset_holds_out_one_seventh() -> None:
    assert load_preset("relu-adam-100-pooled").holdout_fraction == pytest.approx(1 / 7, abs=1e-9)


@pytest.mark.parametrize(("name", "train", "held"), [("relu-adam-100-holdout", 48_000, 12_000), ("relu-adam-100-pooled", 60_000, 10_000)])
def test_holdout_presets_split_like_their_sources(data_dir: Path, name: str, train: int, held: int) -> None:
    """Source 002 evaluates on 12,000 of the 60,000 training digits; source 004 on 10,000 of all 70,000."""
    import torch

    from mnist_tui.engine.data import load_split

    split = load_split(load_preset(name), data_dir, torch.device("cpu"))
    assert (len(split.train_y), len(split.eval_y)) == (train, held)


def test_an_unknown_preset_names_the_closest_and_lists_them_all() -> None:
    with pytest.raises(ConfigError) as caught:
        load_preset("smok")
    message = str(caught.value)
    assert "unknown preset 'smok' (did you mean 'smoke'?)" in message
    assert all(name in message for name in PRESETS)


def test_presets_are_found_wherever_the_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert list_presets() == PRESETS


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline from a copy of the source (the checkout stays clean)."""
    source = tmp_path_factory.mktemp("source")
    for folder in ("cli", "engine", "presets", "tui"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for file in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / file, source / file)
    target = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (wheel,) = target.glob("mnist_tui-*.whl")
    return wheel


def test_the_wheel_ships_the_presets_under_one_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"mnist_tui/presets/{name}.toml" for name in PRESETS} <= set(names)
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"mnist_tui"}  # no top-level engine, tui, cli or presets package


def test_presets_load_from_the_wheel_alone(wheel: Path, tmp_path: Path) -> None:
    """Imported from the zipped wheel (not the checkout), the presets are still found: importlib.resources."""
    code = (
        "import mnist_tui, sys; "
        "from mnist_tui.engine.presets import list_presets, load_preset; "
        "assert mnist_tui.__file__.startswith(sys.argv[1]), mnist_tui.__file__; "
        "print(','.join(list_presets())); print(load_preset('sigmoid-sgd').lr)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {code}", str(wheel)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [",".join(PRESETS), "0.01"]


LOADERS: dict[str, tuple[Callable[[Path], object], str]] = {
    "config": (load_config_file, "config file"),
    "space": (lambda path: load_space(path, Config()), "search space file"),
}


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))  # the file stays when the socket is closed
    listener.close()
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="no FIFOs or Unix sockets")
@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize(
    "make", [make_fifo, make_socket, lambda path: Path(os.devnull)], ids=["fifo", "socket", "dev-null"]
)
def test_a_file_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str, make: Callable[[Path], Path]
) -> None:
    """``mkfifo f.toml; mnist-tui --config f.toml`` waited forever for a writer, saying nothing."""
    monkeypatch.chdir(tmp_path)  # a short relative name: a socket's path is limited to 108 bytes
    path = make(Path("f.toml"))
    load, kind = LOADERS[loader]
    outcome: list[object] = []

    def attempt() -> None:
        try:
            outcome.append(load(path))
        except Exception as error:  # handed to the test's thread
            outcome.append(error)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=10)
    waited = reader.is_alive()
    if waited:  # let the stuck reader go: a writer that closes at once
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert not waited, f"the {kind} was waited on"
    (error,) = outcome
    assert isinstance(error, ConfigError) and str(error) == f"{kind} {path} is not a regular file"


def test_a_folder_an_endless_device_and_a_long_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"^config file {tmp_path} is a folder$"):
        load_config_file(tmp_path)
    with pytest.raises(ConfigError, match="^config file /dev/zero is not a regular file$"):
        load_config_file("/dev/zero")
    (tmp_path / "long.toml").write_text("# a comment\n" * 100_000)
    with pytest.raises(ConfigError, match="long.toml is over 1,000,000 bytes; a config is a few lines$"):
        load_config_file(tmp_path / "long.toml")
    (tmp_path / "ok.toml").write_text("epochs = 2\n")
    assert load_config_file(tmp_path / "ok.toml").epochs == 2
