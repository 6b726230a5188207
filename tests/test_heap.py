"""Heavy imports run without the garbage collector and leave their objects frozen, once per module."""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path

import pytest

from mnist_tui.heap import TORCH_LAZY, collector_paused_until, imports_without_collector, load_quietly


def test_a_first_import_runs_without_the_collector_and_freezes_what_is_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "heavy_module_for_heap_test.py").write_text(
        "import gc\nCOLLECTOR_ON_DURING_IMPORT = gc.isenabled()\nTABLE = [[i] for i in range(1000)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        module = load_quietly("heavy_module_for_heap_test")
        assert module.COLLECTOR_ON_DURING_IMPORT is False
        assert gc.isenabled(), "the collector is back on after the import"
        assert gc.get_freeze_count() >= frozen + len(module.TABLE), "what the import left is frozen"
        again = gc.get_freeze_count()
        assert load_quietly("heavy_module_for_heap_test") is module
        assert gc.get_freeze_count() == again, "an import already done freezes nothing more"
    finally:
        sys.modules.pop("heavy_module_for_heap_test", None)
        gc.unfreeze()


def test_a_collector_switched_off_by_the_caller_stays_off_and_a_failed_import_restores_it() -> None:
    gc.disable()
    try:
        with imports_without_collector():
            pass
        assert not gc.isenabled(), "the caller had it off"
    finally:
        gc.enable()
        gc.unfreeze()
    with pytest.raises(ModuleNotFoundError):
        load_quietly("no_such_module_anywhere_for_heap_test")
    assert gc.isenabled()
    gc.unfreeze()


def test_what_a_module_imports_on_first_use_loads_in_the_same_quiet_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch imports torch._dynamo at its first optimizer: loaded with the engine, it is frozen too."""
    for name in ("engine_for_heap_test", "lazy_for_heap_test"):
        (tmp_path / f"{name}.py").write_text(
            "import gc\nCOLLECTOR_ON_DURING_IMPORT = gc.isenabled()\nTABLE = [[i] for i in range(1000)]\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module("engine_for_heap_test")  # already imported: only the lazy one is left

        frozen = gc.get_freeze_count()
        module = load_quietly("engine_for_heap_test", "lazy_for_heap_test")
        assert module is sys.modules["engine_for_heap_test"]
        lazy = sys.modules["lazy_for_heap_test"]
        assert lazy.COLLECTOR_ON_DURING_IMPORT is False
        assert gc.get_freeze_count() >= frozen + len(lazy.TABLE)
        again = gc.get_freeze_count()
        load_quietly("engine_for_heap_test", "lazy_for_heap_test")
        assert gc.get_freeze_count() == again, "both loaded: nothing more is frozen"
    finally:
        for name in ("engine_for_heap_test", "lazy_for_heap_test"):
            sys.modules.pop(name, None)
        gc.unfreeze()


def test_the_engine_is_loaded_with_what_torch_imports_at_its_first_optimizer() -> None:
    """If torch stops importing torch._dynamo lazily, TORCH_LAZY should follow (and this says so)."""
    import subprocess

    script = (
        "import sys, torch\n"
        "from mnist_tui.heap import TORCH_LAZY\n"
        "assert not any(name in sys.modules for name in TORCH_LAZY), 'torch now imports them itself'\n"
        "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n"
        "print(sorted(name for name in TORCH_LAZY if name in sys.modules))\n"
    )
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == repr(sorted(TORCH_LAZY)), "the first optimizer imports each of them"


def test_the_collector_pauses_until_the_callback_and_one_switched_off_stays_off() -> None:
    callbacks: list = []
    assert gc.isenabled()
    try:
        collector_paused_until(callbacks.append)
        assert not gc.isenabled() and len(callbacks) == 1
        callbacks.pop()()
        assert gc.isenabled(), "the callback resumes it"
        gc.disable()
        collector_paused_until(callbacks.append)
        assert callbacks == [] and not gc.isenabled(), "the caller's own pause is left to the caller"
    finally:
        gc.enable()
