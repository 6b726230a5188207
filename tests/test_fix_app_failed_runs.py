"""A dashboard run that failed before it had a run folder (no MNIST files, a refused resume): the
terminal says why once the screen closes, as headless does, and the gallery stops waiting (QA: an
empty terminal with exit 2, and "Waiting for the model's first predictions…" for good)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import pytest

from mnist_tui.engine.config import Config
from mnist_tui.engine.events import Event, RunFailed
from mnist_tui.exit_codes import FINISHED, USAGE
from mnist_tui.tui import app
from mnist_tui.tui.digit_gallery import DigitGallery
from test_tui_views_closing import leave_run, run_main
from tui_script import ScriptedSource, batch, laid_text, run_async, started, wait_until

NO_DATA = "mnist files missing in /nowhere/MNIST/raw: put them there by hand, or point --data-dir at a folder that has them"


def no_data(config: Config, run_id: str) -> Iterator[Event]:
    """As the engine fails for want of data: one RunFailed, no run started, no folder made."""
    yield RunFailed(run_id=run_id, error=NO_DATA, reason="data")


def test_the_dashboard_notes_a_failure_that_left_no_run_folder() -> None:
    """Only such a failure: one after the run started is in its folder's summary."""
    begun = dataclasses.replace(started("r", Config()), run_dir="runs/a")
    later = RunFailed(run_id="r", error="CUDA error", reason="error")
    trained: list[Path | RunFailed] = []
    list(app.noting_runs(lambda *args, **kwargs: no_data(Config(), "q"), trained)())
    list(app.noting_runs(lambda *args, **kwargs: iter([begun, batch("r", 1), later]), trained)())
    assert trained == [RunFailed(run_id="q", error=NO_DATA, reason="data"), Path("runs/a")]


def test_quitting_after_such_a_failure_says_it_on_stderr_as_headless_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def failed(trained: list[Path | RunFailed], runs: Path) -> int:
        trained.append(RunFailed(run_id="smoke-x", error=NO_DATA, reason="data"))
        return USAGE

    assert run_main(monkeypatch, tmp_path / "runs", failed) == USAGE
    assert capsys.readouterr() == ("", f"mnist-tui: error: {NO_DATA}\n")


def test_a_later_run_that_trained_is_the_one_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def failed_then_finished(trained: list[Path | RunFailed], runs: Path) -> int:
        trained.append(RunFailed(run_id="smoke-x", error=NO_DATA, reason="data"))
        leave_run(trained, runs, "smoke-y", status="finished", epochs_completed=5)
        return FINISHED

    run_main(monkeypatch, tmp_path / "runs", failed_then_finished)
    out, err = capsys.readouterr()
    assert err == "" and out.splitlines() == ["finished after epoch 5", f"run folder: {tmp_path / 'runs' / 'smoke-y'}"]


@run_async
async def test_the_gallery_says_the_run_failed_before_any_predictions() -> None:
    source = ScriptedSource(no_data)
    dashboard = app.MnistApp(Config(), source=source, preset="smoke")
    async with dashboard.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: dashboard.state == "failed", what="the failure")
        await pilot.pause()
        gallery = dashboard.query_one(DigitGallery)
        assert gallery.note == "The run failed before the model's first predictions." and not gallery.cards
        assert " ".join(" ".join(laid_text(gallery)).split()) == gallery.note  # as shown
        assert dashboard.exit_code == USAGE
