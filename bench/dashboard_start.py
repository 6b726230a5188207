"""How long the dashboard takes to mount, and how many stylesheet passes it makes, with the app's
own styling (``tui/styling.py``) and with Textual's default in its place, side by side.

Both sides run in one process, in turn (the order flips each pair), each a fresh ``MnistApp`` in
Textual's headless test harness at 120x40, timed from ``run_test`` to the first idle moment after
mounting (what every dashboard start pays before the first frame, and every dashboard test too).
Textual's default is the app with ``App.update_styles`` and ``App.get_default_screen`` put back:
widgets restyled before they are mounted, and the whole screen restyled at its first showing.

    .venv/bin/python bench/dashboard_start.py [--pairs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from machine_info import cpu_model  # bench/, on sys.path when a script here runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the harness's scripted source

from textual.app import App  # noqa: E402
from tui_script import ScriptedSource, training_run  # noqa: E402

from mnist_tui.engine.presets import load_preset  # noqa: E402
from mnist_tui.tui.app import MnistApp  # noqa: E402

SHIPPED = {"update_styles": MnistApp.update_styles, "get_default_screen": MnistApp.get_default_screen}
DEFAULT = {"update_styles": App.update_styles, "get_default_screen": App.get_default_screen}


def use(methods: dict[str, Any]) -> None:
    for name, method in methods.items():
        setattr(MnistApp, name, method)


async def mount_once() -> tuple[float, int, int]:
    """Seconds to mount, stylesheet passes over the screen's widgets, and how many widgets."""
    app = MnistApp(load_preset("smoke"), source=ScriptedSource(training_run()), preset="smoke")
    styled: list[Any] = []
    apply = app.stylesheet.apply

    def counted(node: Any, *args: Any, **kwargs: Any) -> None:
        styled.append(node)
        apply(node, *args, **kwargs)

    app.stylesheet.apply = counted  # type: ignore[method-assign]
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        seconds = time.perf_counter() - started
        widgets = set(app.screen.walk_children(with_self=True))
    return seconds, sum(node in widgets for node in styled), len(widgets)


async def main(pairs: int) -> None:
    sides = {"shipped": SHIPPED, "default": DEFAULT}
    times: dict[str, list[float]] = {name: [] for name in sides}
    passes: dict[str, int] = {}
    widgets = 0
    for name, methods in sides.items():  # warm-up: imports, CSS parsing and caches, not counted
        use(methods)
        await mount_once()
    for pair in range(pairs):
        order = list(sides) if pair % 2 == 0 else list(reversed(sides))
        for name in order:
            use(sides[name])
            seconds, passes[name], widgets = await mount_once()
            times[name].append(seconds)
    use(SHIPPED)
    print(f"dashboard start, {pairs} pair{'s' * (pairs != 1)} in turn, 120x40 | {cpu_model()} | {widgets} widgets")
    for name in sides:
        values = times[name]
        print(
            f"{name:8} mount s  min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"
            f"  | stylesheet passes {passes[name]} ({passes[name] / widgets:.2f} a widget)"
        )
    ratios = sorted(a / b for a, b in zip(times["shipped"], times["default"]))
    print(
        f"shipped/default: {statistics.median(times['shipped']) / statistics.median(times['default']):.3f} by medians,"
        f" {statistics.median(ratios):.3f} pair by pair (per pair {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10, help="shipped/default pairs, in turn (default 10)")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error(f"--pairs must be at least 1, not {args.pairs}")
    asyncio.run(main(args.pairs))
