"""How soon ``watch`` shows an event another process wrote: from the line's append to the progress pane showing it.

The watcher (the real app in watch mode, headless under Textual's test driver) follows a run
folder while this script appends one loss report every 0.3 s, as a training process would, and
times each until the Progress pane's numbers name its step. The issue's budget is one second.

    .venv/bin/python bench/watch_latency.py [--reports 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from tui_script import ScriptedSource, batch, started  # noqa: E402  (the tests' event factories)

from mnist_tui.engine.presets import config_to_toml, load_preset  # noqa: E402
from mnist_tui.tui.app import MnistApp  # noqa: E402

BUDGET_SECONDS = 1.0
RUN = "watched"


async def measure(folder: Path, reports: int) -> list[float]:
    config = load_preset("smoke")
    log = folder / "events.jsonl"
    log.write_text(started(RUN, config).to_json() + "\n")
    app = MnistApp(config, source=ScriptedSource(), runs_dir=folder.parent, watch=folder)
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        numbers = app.query_one("#numbers")
        while app.run_state.events < 1:
            await pilot.pause(0.01)
        for step in range(1, reports + 1):
            await asyncio.sleep(0.3)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(batch(RUN, step).to_json() + "\n")
            written = time.perf_counter()
            while f"step {step:,}/" not in str(numbers.render()):
                await asyncio.sleep(0.005)
            latencies.append(time.perf_counter() - written)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / RUN
        folder.mkdir()
        (folder / "config.toml").write_text(config_to_toml(load_preset("smoke")))
        latencies = asyncio.run(measure(folder, args.reports))
    ms = sorted(t * 1000 for t in latencies)
    print(f"{len(ms)} reports appended 0.3 s apart; from the append to the Progress pane showing it:")
    print(f"  median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * 0.9) - 1]:.0f} ms, max {ms[-1]:.0f} ms")
    print(f"budget {BUDGET_SECONDS:.1f} s: the slowest took {ms[-1] / 1000 / BUDGET_SECONDS:.0%} of it")
    return 0 if ms[-1] <= BUDGET_SECONDS * 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
