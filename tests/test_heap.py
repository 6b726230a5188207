"""Heavy imports run without the garbage collector and leave their objects frozen, once per module."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from mnist_tui.heap import imports_without_collector, load_quietly


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
