"""On a CUDA machine: sync-free steps per optimizer, CUDA graph vs eager losses, and epoch timings.

Usage: python bench/cuda_check.py DATA_DIR   (DATA_DIR holds MNIST/raw/, .gz files are fine)

The README's GPU numbers come from this script on an H100 (torch 2.11). tests/test_cuda.py asserts
the first two parts on synthetic data; this script adds the real dataset and the timings.
"""

from __future__ import annotations

import sys
import time

import torch

from mnist_tui.engine.config import OPTIMIZERS, Config
from mnist_tui.engine.data import load_split
from mnist_tui.engine.presets import load_preset
from mnist_tui.engine.trainer import Trainer

DATA = sys.argv[1]
dev = torch.device("cuda")
print(torch.__version__, torch.cuda.get_device_name())


class Never:
    def is_set(self) -> bool:
        return False


def losses(config: Config, steps: int, *, sync_error: bool) -> list[float]:
    split = load_split(config, DATA, dev)
    trainer = Trainer(config, split, dev)
    trainer._begin_epoch()
    out: list[float] = []
    first = 0
    while first < steps:
        last = min(first + config.report_every, steps)
        if sync_error:
            torch.cuda.set_sync_debug_mode("error")
        try:
            trainer.run_steps(first, last, Never())
        finally:
            torch.cuda.set_sync_debug_mode("default")
        out += trainer._losses[: last - first].tolist()
        first = last
    return out


failures = 0
for name in OPTIMIZERS:
    for graphs in (True, False):
        extra = {"momentum": 0.5} if name in ("sgd", "rmsprop") else {}
        config = Config(optimizer=name, lr=0.001, hidden=(256, 128), batch_size=64, train_limit=20000, cuda_graphs=graphs, **extra)
        try:
            got = losses(config, 300, sync_error=True)
            print(f"sync-free {name:9s} graphs={graphs}: ok, last loss {got[-1]:.4f}")
        except Exception as error:  # report every optimizer, not just the first failure
            failures += 1
            print(f"sync-free {name:9s} graphs={graphs}: FAILED {type(error).__name__}: {error}")

for name, extra in [("adam", {}), ("sgd", {"momentum": 0.5}), ("adam", {"batch_norm": True, "dropout": 0.5, "init": "kaiming_uniform"}), ("rmsprop", {}), ("radam", {})]:
    base = dict(optimizer=name, lr=0.001, hidden=(256, 128), batch_size=64, train_limit=20000, **extra)
    a = losses(Config(cuda_graphs=True, **base), 300, sync_error=False)
    b = losses(Config(cuda_graphs=False, **base), 300, sync_error=False)
    diff = max(abs(x - y) for x, y in zip(a, b))
    print(f"graph vs eager {name} {extra}: max |loss diff| over 300 steps {diff:.2e}")

for preset in ("sigmoid-sgd", "relu-adam-500", "batchnorm-dropout-he", "relu-adam-100-pooled"):
    for graphs in (True, False):
        config = load_preset(preset).replace(cuda_graphs=graphs, epochs=1)
        split = load_split(config, DATA, dev)
        trainer = Trainer(config, split, dev)
        for _ in range(2):
            list(trainer.train_epoch(Never()))
            torch.cuda.synchronize()
            trainer.finish_epoch()
        started = time.perf_counter()
        list(trainer.train_epoch(Never()))
        torch.cuda.synchronize()
        print(f"{preset:22s} graphs={graphs}: {time.perf_counter() - started:.3f} s per epoch")
sys.exit(1 if failures else 0)
