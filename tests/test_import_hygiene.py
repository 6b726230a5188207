"""The engine imports no UI library, and the command line imports torch only when it trains."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

UI_LIBRARIES = ("textual", "rich", "plotext", "textual_plotext", "mnist_tui.tui")


def modules_after(statement: str) -> set[str]:
    """The top-level names in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(result.stdout.splitlines()[-1])
    return set(loaded)


@pytest.mark.parametrize(
    "statement",
    [
        "import mnist_tui.engine",
        "import mnist_tui.engine.train",  # and with it the trainer, model, optimizers, CUDA graphs, data, runs
        "import mnist_tui.headless",
        "import mnist_tui.engine.catalog",
    ],
)
def test_the_engine_and_the_headless_runner_load_no_ui_library(statement: str) -> None:
    loaded = modules_after(statement)
    assert "mnist_tui.engine" in loaded
    if "train" in statement:
        assert {"torch", "mnist_tui.engine.trainer", "mnist_tui.engine.cuda_graph"} <= loaded
    leaked = {name for name in loaded for ui in UI_LIBRARIES if name == ui or name.startswith(ui + ".")}
    assert not leaked, f"{statement!r} loaded {sorted(leaked)}"


def test_the_command_line_loads_torch_only_to_train() -> None:
    """Parsing flags, --help, --list-presets and config errors stay instant: no torch until a run starts."""
    loaded = modules_after("import mnist_tui.command, mnist_tui.engine, mnist_tui.exit_codes")
    assert "torch" not in loaded and "torchvision" not in loaded
    assert not {"textual", "rich", "plotext"} & loaded


def test_listing_and_comparing_runs_load_neither_torch_nor_a_ui_library() -> None:
    """``mnist-tui runs`` and ``compare`` read JSON and TOML only (Rich is imported only on a terminal)."""
    loaded = modules_after("import mnist_tui.runs, mnist_tui.compare, mnist_tui.engine.catalog")
    assert "mnist_tui.engine.catalog" in loaded
    assert not {"torch", "torchvision", "textual", "rich", "plotext"} & loaded
