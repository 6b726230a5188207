"""Seconds per training epoch: the engine against each source tutorial's own loop, side by side.

For a preset, one epoch runs through the engine (``run_training`` with ``runs_dir=None``, timed by
``EpochEnded.seconds``: training only, as every run reports it) and one epoch runs in the loop the
source writes (its dataset and DataLoader, its model class, its loss and optimizer with their
defaults). Runs alternate engine / loop, each in a fresh Python process, so neither inherits the
other's warm caches or global torch settings. Loading the data and building the model are not
timed on either side; evaluation is not timed either.

    .venv/bin/python bench/train_speed.py --preset sigmoid-sgd --preset batchnorm-dropout-he --repeats 3
    .venv/bin/python bench/train_speed.py --all
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from machine_info import cpu_model  # bench/, on sys.path when a script here runs

SOURCE_PRESETS = (
    "sigmoid-sgd",
    "relu-adam-500",
    "relu-adam-100-holdout",
    "batchnorm-dropout-he",
    "relu-adam-100-pooled",
)
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# --- the engine ---------------------------------------------------------------------------


def engine_epoch(preset: str, data_dir: str, seed: int) -> float:
    """One epoch through ``run_training``: the seconds its EpochEnded reports."""
    from mnist_tui.engine import EpochEnded, RunFailed, load_preset
    from mnist_tui.engine.train import run_training

    config = load_preset(preset).replace(epochs=1, device="cpu", seed=seed)
    seconds = None
    for event in run_training(config, data_dir=data_dir, runs_dir=None):
        if isinstance(event, RunFailed):
            raise SystemExit(f"engine run failed: {event.error}")
        if isinstance(event, EpochEnded):
            seconds = event.seconds
    assert seconds is not None
    return seconds


# --- the sources' loops, as each tutorial writes them ----------------------------------------
# Only the print lines are left out (the sources print a loss every 1 to 200 batches); they
# would only slow the loop down. Each function builds everything untimed, then returns the epoch.


def _mnist(data_dir: str, *, train: bool, to_tensor: bool):
    from torchvision import datasets, transforms

    transform = transforms.ToTensor() if to_tensor else None
    return datasets.MNIST(root=data_dir, train=train, download=False, transform=transform)


def _split(x, y, test_fraction: float, seed: int):
    """sklearn's ``train_test_split(..., random_state=0)`` stand-in: a seeded shuffle, then a cut."""
    import torch

    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    held = int(round(len(x) * test_fraction))
    return x[order[held:]], x[order[:held]], y[order[held:]], y[order[:held]]


def loop_000_sigmoid_sgd(data_dir: str) -> Callable[[], None]:
    """Source 000: ToTensor MNIST, batch 32, sigmoid MLP with log_softmax, SGD lr 0.01 momentum 0.5."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    device = torch.device("cpu")
    train_dataset = _mnist(data_dir, train=True, to_tensor=True)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=32, shuffle=True)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(28 * 28, 512)
            self.fc2 = nn.Linear(512, 256)
            self.fc3 = nn.Linear(256, 10)

        def forward(self, x):
            x = x.view(-1, 28 * 28)
            x = self.fc1(x)
            x = torch.sigmoid(x)  # the source's F.sigmoid, deprecated alias of the same op
            x = self.fc2(x)
            x = torch.sigmoid(x)
            x = self.fc3(x)
            x = F.log_softmax(x, dim=1)
            return x

    model = Net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    criterion = nn.CrossEntropyLoss()

    def epoch() -> None:
        model.train()
        for image, label in train_loader:
            image = image.to(device)
            label = label.to(device)
            optimizer.zero_grad()
            output = model(image)
            loss = criterion(output, label)
            loss.backward()
            optimizer.step()

    return epoch


def loop_001_relu_adam_500(data_dir: str) -> Callable[[], None]:
    """Source 001: ToTensor MNIST, batch 100, 784-500-500-10 ReLU, Adam lr 0.001."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    device = torch.device("cpu")
    train_dataset = _mnist(data_dir, train=True, to_tensor=True)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=100, shuffle=True)

    class NeuralNet(nn.Module):
        def __init__(self, input_size, hidden_size, num_classes):
            super().__init__()
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.fc2 = nn.Linear(hidden_size, hidden_size)
            self.fc3 = nn.Linear(hidden_size, num_classes)

        def forward(self, x):
            out = F.relu(self.fc1(x))
            out = F.relu(self.fc2(out))
            out = self.fc3(out)
            return out

    model = NeuralNet(784, 500, 10).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

    def epoch() -> None:
        model.train()
        for images, labels in train_loader:
            images = images.reshape(-1, 28 * 28).to(device)
            labels = labels.to(device)
            outputs = model(images)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch


def loop_002_relu_adam_100_holdout(data_dir: str) -> Callable[[], None]:
    """Source 002: the raw tensors / 255 in a TensorDataset (ToTensor is never applied), 80/20
    split, batch 64 drop_last, 784-100-100-10 ReLU, Adam lr 0.001."""
    import torch.nn as nn
    import torch.optim as optim
    from torch.utils.data import DataLoader, TensorDataset

    mnist_dataset = _mnist(data_dir, train=True, to_tensor=True)
    x_train, x_test, y_train, y_test = _split(mnist_dataset.data, mnist_dataset.targets, 0.2, seed=0)
    train_xy = TensorDataset(x_train / 255, y_train)
    train_loader = DataLoader(train_xy, batch_size=64, shuffle=True, drop_last=True)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(28 * 28, 100)
            self.relu1 = nn.ReLU()
            self.fc2 = nn.Linear(100, 100)
            self.relu2 = nn.ReLU()
            self.fc3 = nn.Linear(100, 10)

        def forward(self, x):
            x = self.relu1(self.fc1(x))
            x = self.relu2(self.fc2(x))
            x = self.fc3(x)
            return x

    model = MLP()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    def epoch() -> None:
        model.train(mode=True)
        for x_data, y_data in train_loader:
            x_data = x_data.reshape(-1, 28 * 28)
            outputs = model(x_data)
            optimizer.zero_grad()
            loss = loss_fn(outputs, y_data)
            loss.backward()
            optimizer.step()

    return epoch


def loop_003_batchnorm_dropout_he(data_dir: str) -> Callable[[], None]:
    """Source 003: ToTensor MNIST, batch 32, 784-512-256-10 with batch norm, ReLU, dropout 0.5,
    log_softmax, kaiming_uniform_ on the linear weights, Adam lr 0.01."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.nn.init as init

    device = torch.device("cpu")
    train_dataset = _mnist(data_dir, train=True, to_tensor=True)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=32, shuffle=True)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(28 * 28, 512)
            self.fc2 = nn.Linear(512, 256)
            self.fc3 = nn.Linear(256, 10)
            self.dropout_prob = 0.5
            self.batch_norm1 = nn.BatchNorm1d(512)
            self.batch_norm2 = nn.BatchNorm1d(256)

        def forward(self, x):
            x = x.view(-1, 28 * 28)
            x = self.fc1(x)
            x = self.batch_norm1(x)
            x = F.relu(x)
            x = F.dropout(x, training=self.training, p=self.dropout_prob)
            x = self.fc2(x)
            x = self.batch_norm2(x)
            x = F.relu(x)
            x = F.dropout(x, training=self.training, p=self.dropout_prob)
            x = self.fc3(x)
            x = F.log_softmax(x, dim=1)
            return x

    def weight_init(m):
        if isinstance(m, nn.Linear):
            init.kaiming_uniform_(m.weight.data)

    model = Net().to(device)
    model.apply(weight_init)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()

    def epoch() -> None:
        model.train()
        for image, label in train_loader:
            image = image.to(device)
            label = label.to(device)
            optimizer.zero_grad()
            output = model(image)
            loss = criterion(output, label)
            loss.backward()
            optimizer.step()

    return epoch


def loop_004_relu_adam_100_pooled(data_dir: str) -> Callable[[], None]:
    """Source 004: all 70k digits / 255 as float tensors (the source reads them with fetch_openml),
    1/7 held out, TensorDataset, batch 64, nn.Sequential 784-100-100-10 ReLU, Adam lr 0.01."""
    import numpy as np
    import torch
    from torch import nn, optim
    from torch.utils.data import DataLoader, TensorDataset

    train, test = _mnist(data_dir, train=True, to_tensor=False), _mnist(data_dir, train=False, to_tensor=False)
    X = torch.cat([train.data, test.data]).reshape(-1, 784).numpy().astype(np.float64) / 255
    y = torch.cat([train.targets, test.targets]).numpy().astype(np.int8)
    X_train, X_test, y_train, y_test = _split(X, y, 1 / 7, seed=0)
    X_train = torch.Tensor(X_train)
    y_train = torch.LongTensor(y_train)
    ds_train = TensorDataset(X_train, y_train)
    loader_train = DataLoader(ds_train, batch_size=64, shuffle=True)

    model = nn.Sequential()
    model.add_module("fc1", nn.Linear(28 * 28 * 1, 100))
    model.add_module("relu1", nn.ReLU())
    model.add_module("fc2", nn.Linear(100, 100))
    model.add_module("relu2", nn.ReLU())
    model.add_module("fc3", nn.Linear(100, 10))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)

    def epoch() -> None:
        model.train()
        for data, targets in loader_train:
            optimizer.zero_grad()
            outputs = model(data)
            loss = loss_fn(outputs, targets)
            loss.backward()
            optimizer.step()

    return epoch


LOOPS: dict[str, Callable[[str], Callable[[], None]]] = {
    "sigmoid-sgd": loop_000_sigmoid_sgd,
    "relu-adam-500": loop_001_relu_adam_500,
    "relu-adam-100-holdout": loop_002_relu_adam_100_holdout,
    "batchnorm-dropout-he": loop_003_batchnorm_dropout_he,
    "relu-adam-100-pooled": loop_004_relu_adam_100_pooled,
}


def loop_epoch(preset: str, data_dir: str, seed: int) -> float:
    """One epoch of the source's loop, timed around its ``for`` over the DataLoader."""
    import torch

    torch.manual_seed(seed)
    epoch = LOOPS[preset](data_dir)
    started = time.perf_counter()
    epoch()
    return time.perf_counter() - started


# --- driver -------------------------------------------------------------------------------


def machine() -> str:
    """CPU model, cores, torch version and threads, as one line."""
    import torch

    from mnist_tui.engine.threads import ThreadChoice

    model = cpu_model()
    counts = " or ".join(map(str, ThreadChoice.for_run(adaptive=True).counts))
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op threads "
        f"(the engine's CPU step trains on {counts}, whichever steps faster)"
    )


def _measure(side: str, preset: str, data_dir: str, seed: int, loop_threads: int | None) -> float:
    """One epoch of ``side`` in a fresh interpreter; returns its seconds."""
    command = [sys.executable, __file__, "--worker", side, "--preset", preset, "--data-dir", data_dir, "--seed", str(seed)]
    if side == "loop" and loop_threads:
        command += ["--loop-threads", str(loop_threads)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{side} run of {preset} failed:\n{result.stderr}")
    return float(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])


def bench(preset: str, data_dir: str, repeats: int, loop_threads: int | None = None) -> tuple[float, float, list[float]]:
    """Alternate engine and loop epochs ``repeats`` times each; print and return the medians and
    each run's loop/engine ratio."""
    times: dict[str, list[float]] = {"engine": [], "loop": []}
    print(f"{preset}:", flush=True)
    for repeat in range(repeats):
        # Alternate which side goes first, so a drift in the machine's load favours neither.
        order = ("engine", "loop") if repeat % 2 == 0 else ("loop", "engine")
        for side in order:
            seconds = _measure(side, preset, data_dir, seed=repeat, loop_threads=loop_threads)
            times[side].append(seconds)
            # The load average tells a reader whether other work shared the cores during the run.
            print(f"  run {repeat + 1} {side:<6} {seconds:7.2f} s   load {os.getloadavg()[0]:.1f}", flush=True)
    engine, loop = statistics.median(times["engine"]), statistics.median(times["loop"])
    # Each run's two sides ran back to back, so their ratio drifts less with the load than the medians.
    pairs = [b / a for a, b in zip(times["engine"], times["loop"])]
    print(
        f"  median: engine {engine:.2f} s/epoch, source loop {loop:.2f} s/epoch, loop/engine {loop / engine:.2f}x; "
        f"per run {', '.join(f'{r:.2f}x' for r in pairs)}",
        flush=True,
    )
    return engine, loop, pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--preset", choices=SOURCE_PRESETS, action="append", help="a preset (repeat for more)")
    which.add_argument("--all", action="store_true", help="every preset that reproduces a source")
    parser.add_argument("--repeats", type=int, default=3, help="epochs per side (default 3)")
    parser.add_argument(
        "--data-dir", default=os.environ.get("MNIST_TUI_DATA", str(DEFAULT_DATA_DIR)),
        help="folder holding MNIST/raw (default: $MNIST_TUI_DATA, else ../shared/data)",
    )
    parser.add_argument(
        "--loop-threads", type=int, metavar="N",
        help="run the sources' loops on N intra-op threads (default: PyTorch's own count, as the sources do)",
    )
    parser.add_argument("--worker", choices=("engine", "loop"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.loop_threads:
            import torch

            torch.set_num_threads(args.loop_threads)
        measure = engine_epoch if args.worker == "engine" else loop_epoch
        print(json.dumps({"seconds": measure(args.preset[0], args.data_dir, args.seed)}))
        return
    print(f"machine: {machine()}")
    print(f"data: {args.data_dir}; {args.repeats} alternating epochs per side, each in a fresh process")
    if args.loop_threads:
        print(f"the sources' loops run on {args.loop_threads} intra-op thread(s), not PyTorch's default")
    print()
    presets = SOURCE_PRESETS if args.all else tuple(args.preset)
    results = {preset: bench(preset, args.data_dir, args.repeats, args.loop_threads) for preset in presets}
    if len(results) > 1:
        print("\npreset                  engine s  loop s  loop/engine  per run (min-max)")
        for preset, (engine, loop, pairs) in results.items():
            print(f"{preset:<22} {engine:8.2f} {loop:7.2f} {loop / engine:8.2f}x    {min(pairs):.2f}-{max(pairs):.2f}x")


if __name__ == "__main__":
    main()
