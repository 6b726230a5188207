"""What per-epoch inspection costs: epochs with ``inspect`` on and off, side by side.

Two measurements per preset:

1. **Whole epochs.** Runs alternate on / off (the order flips each pair), each in a fresh Python
   process writing a real run folder. Printed per run: training seconds, evaluation seconds (the
   probes run inside the evaluation, so they are counted there) and the wall time of the whole run
   after loading (so also the inspection events' building and writing, the gallery and the
   checkpoints, which both sides share). The figure is the ratio of the medians of training +
   evaluation, on / off; the wall ratio is printed beside it.
2. **The inspection alone.** In one process, on a model trained for one epoch, the evaluation
   runs alternately without inspection and with it plus building its events, serialising them and
   appending them to a file, as the engine does. The difference of the medians is what inspection
   adds to every epoch, shown as a share of the epoch time measured in 1 (with inspection off).

    .venv/bin/python bench/inspect_cost.py [--preset sigmoid-sgd --preset relu-adam-500] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_model  # bench/, on sys.path when a script here runs

DEFAULT_PRESETS = ("sigmoid-sgd", "relu-adam-500")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# --- 1. whole epochs, one per fresh process ---------------------------------------------------


def run_epochs(preset: str, data_dir: str, inspect: bool, epochs: int) -> dict[str, float]:
    """``epochs`` epochs through ``run_training`` into a temporary run folder; their timings."""
    from mnist_tui.engine import EpochEnded, RunFailed, RunStarted, Terminal, load_preset
    from mnist_tui.engine.train import run_training

    config = load_preset(preset).replace(epochs=epochs, device="cpu", inspect=inspect)
    train = evaluate = 0.0
    started = ended = 0.0
    with tempfile.TemporaryDirectory() as runs:
        for event in run_training(config, data_dir=data_dir, runs_dir=runs):
            if isinstance(event, RunFailed):
                raise SystemExit(f"run failed: {event.error}")
            if isinstance(event, RunStarted):
                started = time.perf_counter()
            elif isinstance(event, EpochEnded):
                train += event.seconds
                evaluate += event.eval_seconds
            elif isinstance(event, Terminal):
                ended = time.perf_counter()
    return {"train": train, "eval": evaluate, "wall": ended - started}


def _measure(preset: str, data_dir: str, inspect: bool, epochs: int) -> dict[str, float]:
    command = [
        sys.executable, __file__, "--worker", "on" if inspect else "off", "--preset", preset,
        "--data-dir", data_dir, "--epochs", str(epochs),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run of {preset} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def whole_epochs(preset: str, data_dir: str, pairs: int, epochs: int) -> float:
    """Alternate runs with inspection on and off; print them and the ratios; return the median epoch off."""
    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for pair in range(pairs):
        for inspect in (True, False) if pair % 2 == 0 else (False, True):
            timing = _measure(preset, data_dir, inspect, epochs)
            runs[inspect].append(timing)
            print(
                f"  pair {pair + 1} inspect {'on ' if inspect else 'off'}  train {timing['train']:6.2f} s  "
                f"eval {timing['eval']:5.3f} s  wall {timing['wall']:6.2f} s   load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    def median(inspect: bool, *keys: str) -> float:
        return statistics.median(sum(run[key] for key in keys) for run in runs[inspect])

    on, off = median(True, "train", "eval"), median(False, "train", "eval")
    print(
        f"  medians: training + evaluation {on / epochs:.3f} s/epoch on, {off / epochs:.3f} off: "
        f"on/off {on / off:.3f}; evaluation alone {median(True, 'eval') / epochs:.3f} s on, "
        f"{median(False, 'eval') / epochs:.3f} off; wall on/off {median(True, 'wall') / median(False, 'wall'):.3f}",
        flush=True,
    )
    return off / epochs


# --- 2. the inspection alone, in one process ---------------------------------------------------


def inspection_alone(preset: str, data_dir: str, repeats: int) -> tuple[float, float]:
    """Median seconds of an evaluation without inspection, and with it and its events written."""
    import torch

    from mnist_tui.engine import load_preset
    from mnist_tui.engine.data import load_split
    from mnist_tui.engine.trainer import Trainer

    class Never:
        def is_set(self) -> bool:
            return False

    config = load_preset(preset).replace(device="cpu")
    device = torch.device("cpu")
    trainer = Trainer(config, load_split(config, data_dir, device), device)
    for _ in trainer.train_epoch(Never()):
        pass
    trainer.finish_epoch()
    plain, inspected = [], []
    with tempfile.TemporaryFile("w") as log:
        for repeat in range(repeats):
            for inspect in (True, False) if repeat % 2 == 0 else (False, True):
                trainer.config = config.replace(inspect=inspect)
                started = time.perf_counter()
                _, _, inspection = trainer.evaluate()
                if inspection is not None:
                    for event in inspection.events("bench", 1):
                        log.write(event.to_json() + "\n")
                    log.flush()
                (inspected if inspect else plain).append(time.perf_counter() - started)
    return statistics.median(plain), statistics.median(inspected)


# --- driver -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", help=f"preset to measure (repeatable; default {', '.join(DEFAULT_PRESETS)})")
    parser.add_argument("--pairs", type=int, default=3, help="on/off pairs of whole runs per preset (default 3)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    parser.add_argument("--repeats", type=int, default=9, help="evaluations per side in part 2 (default 9)")
    parser.add_argument(
        "--data-dir", default=os.environ.get("MNIST_TUI_DATA", str(DEFAULT_DATA_DIR)),
        help="folder holding MNIST/raw (default: $MNIST_TUI_DATA, else ../shared/data)",
    )
    parser.add_argument("--worker", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    presets = args.preset or list(DEFAULT_PRESETS)
    if args.worker:
        print(json.dumps(run_epochs(presets[0], args.data_dir, args.worker == "on", args.epochs)))
        return
    import torch

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}")
    print(f"data: {args.data_dir}; {args.pairs} alternating on/off pairs of {args.epochs}-epoch runs per preset\n")
    for preset in presets:
        print(f"{preset}:", flush=True)
        epoch_off = whole_epochs(preset, args.data_dir, args.pairs, args.epochs)
        plain, inspected = inspection_alone(preset, args.data_dir, args.repeats)
        added = inspected - plain
        print(
            f"  inspection alone ({args.repeats} alternating evaluations each): evaluation {plain * 1000:.0f} ms, "
            f"with inspection and its events written {inspected * 1000:.0f} ms: +{added * 1000:.0f} ms an epoch, "
            f"{100 * added / epoch_off:.2f} % of the epoch off ({epoch_off:.2f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
