"""``watch``: a run whose folder goes away while it is followed, and keys that can do nothing (no torch)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from mnist_tui.engine.lock import RunLock
from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.key_bar import Key, KeyBar
from mnist_tui.tui.quick_text import QuickText
from tui_script import ScriptedSource, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=2)
RUN = "smoke-deleted"


@run_async
async def test_a_deleted_run_folder_is_no_longer_shown_running(tmp_path: Path) -> None:
    """Its lock file went with it, so the writer's death could not be told: it showed "running"
    and a time left for minutes after its trainer had failed."""
    folder = tmp_path / RUN
    folder.mkdir()
    (folder / "config.toml").write_text(config_to_toml(CONFIG))
    events = list(training_run(end=False)(CONFIG, RUN))[:8]
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    writer = RunLock.acquire(folder)  # a live writer, until it fails at its next write
    app = MnistApp(CONFIG, source=ScriptedSource(), runs_dir=tmp_path, watch=folder)
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)  # type: ignore[method-assign]
    try:
        await _follow_the_deletion(app, folder, notes)
    finally:
        writer.release()


async def _follow_the_deletion(app: MnistApp, folder: Path, notes: list[str]) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state == "running", what="the log")
        await pilot.pause(1.5)  # quiet past QUIET_SECONDS: the live writer keeps it running
        assert app.state == "running"
        shutil.rmtree(folder)
        await wait_until(pilot, lambda: app.state == "failed", what="the folder's loss noticed")
        assert str(app.query_one("#numbers", QuickText).content) == "Failed: its run folder is gone\nnothing is left to resume"
        assert notes == [f"Run folder {folder} is gone (deleted or moved): nothing is left to follow or resume."]
        assert not app.check_action("pause", ()) and not app.check_action("stop", ())


class Keys(App[None]):
    """An app whose check_action greys out ``pause`` (None) and hides ``stop`` (False)."""

    answers: dict[str, bool | None] = {"start": True, "pause": None, "stop": False}

    def compose(self) -> ComposeResult:
        yield KeyBar((Key("s", "start", "Start"), Key("p", "pause", "Pause"), Key("x", "stop", "Stop")))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.answers.get(action, True)


@run_async
async def test_a_key_its_app_hides_is_left_off_the_bar_and_takes_no_click() -> None:
    """A watcher of an ended run offered p, x and e, which did nothing and said nothing: the app
    hides them (check_action False, as Textual's footer takes it), and the bar leaves them off."""
    app = Keys()
    async with app.run_test(size=(60, 3)):
        bar = app.query_one(KeyBar)
        bar.update_keys()
        assert (bar.enabled, bar.shown) == ((True, False, False), (True, True, False))
        assert str(bar.render()) == "s Start  p Pause"
        assert [bar.key_at(x) for x in (0, 9, 17)] == [bar.keys[0], bar.keys[1], None]
