"""The Sweep view, driven by Pilot and fed scripted trial snapshots as ``mnist-tui sweep`` posts them (no torch)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from mnist_tui.engine.config import Config
from mnist_tui.engine.events import Event
from mnist_tui.engine.presets import config_to_toml, load_preset
from mnist_tui.engine.trial_rows import SweepSnapshot, TrialRow, trial_name
from mnist_tui.tui.accuracy_table import AccuracyTable
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.key_bar import KeyBar
from mnist_tui.tui.status_bar import StatusBar
from mnist_tui.tui.sweep_charts import BEST, FAINT, FieldPlot, TrialCurves
from mnist_tui.tui.sweep_view import SweepUpdated, SweepView
from mnist_tui.tui.trials_table import BEST_STYLE, TrialsTable
from tui_script import ScriptedSource, press, run_async, training_run, wait_until

pytestmark = pytest.mark.timeout(60)

CONFIG = load_preset("smoke").replace(epochs=3)
SIZE = (120, 40)
SPACE = {"lr": {"low": 1e-4, "high": 1e-1, "log": True}, "hidden": {"choices": [[32], [64, 32]]}}


def trial(number: int, state: str, accuracies: tuple[float, ...], lr: float, hidden: str = "32", **more: object) -> TrialRow:
    """A scripted trial as the storage would give it (a complete trial's value is its last accuracy)."""
    value = accuracies[-1] if state == "complete" else None
    return TrialRow(
        number=number, state=state, params={"lr": lr, "hidden": hidden}, accuracies=accuracies, value=value,
        seconds=12.0, outcome=state, **more,  # type: ignore[arg-type]
    )


def snapshot(*rows: TrialRow, status: str = "running on 2 worker(s)") -> SweepSnapshot:
    return SweepSnapshot(study="smoke-S", storage="runs/sweeps.journal", space=SPACE, rows=rows, status=status)


# The sweep as it goes: two trials start, epochs arrive, one is pruned, one ends best.
STEPS = [
    snapshot(trial(0, "running", (), 0.001), trial(1, "running", (), 0.01, "64,32")),
    snapshot(trial(0, "running", (80.0,), 0.001), trial(1, "running", (90.0,), 0.01, "64,32")),
    snapshot(
        trial(0, "complete", (80.0, 85.0, 86.5), 0.001),
        trial(1, "complete", (90.0, 93.0, 94.25), 0.01, "64,32"),
        trial(2, "pruned", (40.0,), 0.0002),
        trial(3, "running", (88.0,), 0.05),
    ),
]


def make_app(**kwargs: object) -> MnistApp:
    return MnistApp(CONFIG, source=ScriptedSource(), preset="smoke", **kwargs)  # type: ignore[arg-type]


def cells(table: TrialsTable, number: int) -> list[str]:
    return [str(cell) for cell in table.get_row(str(number))]


def trial_folder(folder: Path, events: list[Event], config: Config = CONFIG) -> Path:
    """A trial's run folder as the engine records it: its log (so far) and its config."""
    folder.mkdir()
    (folder / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    (folder / "config.toml").write_text(config_to_toml(config))
    return folder


async def show_trials(app: MnistApp, pilot: Pilot, *rows: TrialRow) -> TrialsTable:
    table = app.query_one(TrialsTable)
    app.post_message(SweepUpdated(snapshot(*rows)))
    await wait_until(pilot, lambda: table.row_count == len(rows), what="the trials")
    return table


@run_async
async def test_the_app_opens_on_the_sweep_view_and_calls_its_feed_once_mounted() -> None:
    ready: list[MnistApp] = []
    app = make_app(view="SweepView", on_ready=ready.append)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0)
        assert ready == [app]
        assert app.current_view == "SweepView" and app.query_one(SweepView).display
        assert "No sweep in this dashboard" in str(app.query_one("#sweep-summary", Static).render())
        assert isinstance(app.focused, TrialsTable)


@run_async
async def test_a_live_table_of_trials_with_pruned_greyed_and_the_best_marked() -> None:
    app = make_app(view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TrialsTable)
        app.post_message(SweepUpdated(STEPS[0]))
        await wait_until(pilot, lambda: table.row_count == 2, what="two trials")
        assert [str(c.label) for c in table.columns.values()] == [
            "", "trial", "state", "lr", "hidden", "accuracy by epoch", "accuracy", "time"
        ]
        assert cells(table, 0) == ["", "0", "running", "0.001", "32", "-", "-", "12.0s"]

        app.post_message(SweepUpdated(STEPS[1]))
        await wait_until(pilot, lambda: cells(table, 1)[5] == "90.0", what="the first epoch")
        await press(pilot, "down")  # the cursor on trial 1 stays there as rows come and change
        await wait_until(pilot, lambda: table.chosen_number() == 1, what="the cursor on trial 1")

        app.post_message(SweepUpdated(STEPS[2]))
        await wait_until(pilot, lambda: table.row_count == 4, what="four trials")
        assert table.chosen_number() == 1
        assert cells(table, 1) == ["★", "1", "complete", "0.01", "64,32", "90.0 93.0 94.2", "94.25", "12.0s"]
        assert cells(table, 0)[0] == "" and cells(table, 0)[6] == "86.50"
        assert cells(table, 2)[2] == "pruned" and cells(table, 2)[6] == "40.00"
        assert cells(table, 3)[6] == "-"  # a running trial has no accuracy yet, only its epochs
        assert {cell.style for cell in table.get_row("1")} == {BEST_STYLE}
        assert {cell.style for cell in table.get_row("2")} == {"dim"}
        summary = str(app.query_one("#sweep-summary", Static).render())
        assert summary.startswith("Study smoke-S · running on 2 worker(s) · 4 trials: 2 complete, 1 pruned, 1 running")
        assert "best" not in summary
        assert str(table.border_title) == "Trials · best: trial 1, 94.25 % (lr=0.01 hidden=64,32)"


@run_async
async def test_the_best_curve_bright_the_others_faint_and_accuracy_against_each_field() -> None:
    app = make_app(view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(SweepUpdated(STEPS[2]))
        curves = app.query_one(TrialCurves)
        await wait_until(pilot, lambda: len(curves.curves) == 4, what="the curves")
        assert curves.curves[-1] == (1, [90.0, 93.0, 94.25], BEST)  # drawn last, over the others
        assert {number: color for number, _, color in curves.curves[:-1]} == {0: FAINT, 2: FAINT, 3: FAINT}

        plots = {plot.field: plot for plot in app.query(FieldPlot)}
        assert list(plots) == ["lr", "hidden"]
        assert plots["lr"].title == "lr (log)" and plots["lr"].border_title == "lr (log)"
        lr = plots["lr"].points
        assert lr["best"] == [(math.log10(0.01), 94.25)]
        assert lr["complete"] == [(math.log10(0.001), 86.5)]
        assert lr["pruned"] == [(math.log10(0.0002), 40.0)]  # its last accuracy; the running trial is left out
        hidden = plots["hidden"].points
        assert hidden["best"] == [(1.0, 94.25)] and hidden["complete"] == [(0.0, 86.5)]


@run_async
async def test_a_hidden_sweep_view_draws_nothing_and_catches_up_when_shown() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(SweepView)
        for step in STEPS:
            app.post_message(SweepUpdated(step))
        await wait_until(pilot, lambda: view.snapshot == STEPS[-1], what="the snapshots")
        assert app.current_view == "TrainView" and view.draws == 0
        await press(pilot, "5")
        assert app.current_view == "SweepView" and view.draws == 1
        assert app.query_one(TrialsTable).row_count == 4


@run_async
async def test_a_trial_opens_in_train_and_in_inspect_from_its_run_folder(tmp_path: Path) -> None:
    # A trial's run folder, as the engine records it.
    name = "smoke-S-t0001-20261201-120000-abcd"
    folder = trial_folder(tmp_path / name, list(training_run()(CONFIG, name)), CONFIG.replace(lr=0.0123, hidden=(32, 16)))
    rows = (trial(0, "complete", (80.0,), 0.001), trial(1, "complete", (95.5, 97.25, 96.75), 0.01, run_dir=str(folder)))
    app = make_app(view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        table = await show_trials(app, pilot, *rows)

        notified = []
        app.notify = lambda message, **kwargs: notified.append(message)  # type: ignore[method-assign]
        await press(pilot, "enter")  # trial 0 has no run folder here (another machine's)
        await wait_until(pilot, lambda: notified, what="the notice")
        assert notified == ["Trial 0 has no run folder on this machine (it ran on another, or failed before making one)."]
        assert app.current_view == "SweepView" and app.run_id is None

        await press(pilot, "down")
        await wait_until(pilot, lambda: table.chosen_number() == 1, what="the cursor on trial 1")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: app.current_view == "TrainView", what="the Train view")
        assert app.run_id == folder.name and app.state == "finished"
        assert app.query_one(AccuracyTable).row_count == 3
        form = app.query_one("#form").read()  # type: ignore[attr-defined]
        assert (form.lr, form.hidden) == (0.0123, (32, 16))  # the trial's settings, not the base's
        assert app.exit_code == 0  # an opened run's end is no outcome of this command

        await press(pilot, "5")
        await wait_until(pilot, lambda: app.current_view == "SweepView", what="the Sweep view")
        await press(pilot, "i")
        await wait_until(pilot, lambda: app.current_view == "InspectView", what="the Inspect view")
        assert app.run_id == folder.name


def trial_run(tmp_path: Path, number: int) -> tuple[str, Config, Path]:
    """Trial ``number`` of the study smoke-S, lr and hidden searched: its run's name, its settings, its folder."""
    name = f"{trial_name('smoke-S', number)}-20261201-120000-abcd"
    settings = CONFIG.replace(name=trial_name("smoke-S", number), lr=0.0123, hidden=(32, 16))
    return name, settings, trial_folder(tmp_path / name, list(training_run()(settings, name)), settings)


async def open_in_train(app: MnistApp, pilot: Pilot, number: int, folder: Path) -> None:
    """The complete trial ``number``, its run in ``folder``, shown in the Sweep view and opened in Train."""
    await show_trials(app, pilot, trial(number, "complete", (95.5, 97.25, 96.75), 0.0123, run_dir=str(folder)))
    await press(pilot, "enter")
    await wait_until(pilot, lambda: app.current_view == "TrainView" and app.run_id == folder.name, what="the trial shown")


@run_async
async def test_a_run_started_from_a_trials_settings_is_a_fresh_run_of_its_own(tmp_path: Path) -> None:
    """Opened in Train, a trial fills the form with its settings; s then trained them under the
    trial's name (smoke-S-t0001-...: one more trial of the study, in the runs and the status bar)."""
    name, settings, folder = trial_run(tmp_path, 1)
    source = ScriptedSource()
    app = MnistApp(CONFIG, source=source, preset="smoke", view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        await open_in_train(app, pilot, 1, folder)
        assert app.query_one(StatusBar).name_shown == settings.name  # the trial's run, shown as it ran

        await press(pilot, "s")
        await wait_until(pilot, lambda: source.calls, what="the run started")
        fresh = Config().name  # what the form names a run of its own, with no preset
        assert source.last.config == settings.replace(name=fresh)  # the trial's settings, all of them
        assert source.last.preset is None
        assert source.last.run_id.startswith(f"{fresh}-")
        await wait_until(pilot, lambda: app.query_one(StatusBar).name_shown == fresh, what="the new run's name")


@run_async
async def test_a_trial_opened_in_train_shows_its_preset_with_the_searched_fields_edited(tmp_path: Path) -> None:
    """QA: a trial its study made from smoke filled the form as "custom" ("Your own configuration."), though its
    summary records smoke; it is smoke with the searched fields edited, and s starts a run of smoke's, not a trial."""
    import json

    name, settings, folder = trial_run(tmp_path, 2)
    sweep = {"study": "smoke-S", "trial": 2, "state": "complete", "outcome": "finished", "params": {"lr": 0.0123}}
    (folder / "summary.json").write_text(json.dumps({"status": "finished", "preset": "smoke", "sweep": sweep}))
    source = ScriptedSource()
    app = MnistApp(CONFIG, source=source, preset="smoke", view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        await open_in_train(app, pilot, 2, folder)
        form = app.query_one(ConfigForm)
        assert form.preset == "smoke" and form.summary == "smoke, edited", form.summary
        assert form.edited() == ["hidden", "lr", "epochs"]  # CONFIG is smoke with epochs=3
        description = str(form.query_one("#preset-description", Static).render())
        assert description.startswith("smoke, edited: hidden, lr, epochs."), description

        await press(pilot, "s")
        await wait_until(pilot, lambda: source.calls, what="the run started")
        smoke = load_preset("smoke").name
        assert source.last.config == settings.replace(name=smoke) and source.last.preset == "smoke"
        assert source.last.run_id.startswith(f"{smoke}-")


@run_async
async def test_choices_too_long_for_a_narrow_plot_are_lettered_with_a_legend_below() -> None:
    """plotext drops a label that would overlap its neighbour: one name stood under several columns."""
    hidden = [[512, 256], [256, 128], [128, 64], [64, 32], [1024, 512]]
    space = {
        **{name: {"low": 0.0, "high": 0.5} for name in ("dropout", "momentum", "weight_decay", "gamma")},
        "lr": {"low": 1e-4, "high": 1e-1, "log": True}, "hidden": {"choices": hidden},
    }
    rows = (trial(0, "complete", (90.0,), 0.01, "128,64"),)
    app = make_app(view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(SweepUpdated(SweepSnapshot(study="s", storage="j", space=space, rows=rows)))
        await wait_until(pilot, lambda: len(app.query(FieldPlot)) == 6, what="the field plots")
        plot = next(p for p in app.query(FieldPlot) if p.field == "hidden")
        await wait_until(pilot, lambda: plot.border_subtitle.startswith("a "), what="the legend")
        assert plot.border_subtitle == "a 512,256 · b 256,128 · c 128,64 · d 64,32 · e 1024,512"
        assert plot.tooltip == "hidden: " + plot.border_subtitle  # the border cuts it short: the mouse shows it whole
        lines = plot.render().plain.splitlines()
        assert lines[-1].split() == ["a", "b", "c", "d", "e"]
        assert 90 < max(float(line.split("┤")[0]) for line in lines if "┤" in line) <= 100  # no accuracy past 100 %
        curve = app.query_one(TrialCurves).render().plain.splitlines()
        assert max(float(line.split("┤")[0]) for line in curve if "┤" in line) <= 100
        await pilot.resize_terminal(700, 40)  # wide enough for the names: they come back, the legend goes
        await wait_until(pilot, lambda: plot.border_subtitle == "accuracy %", what="the names")
        assert plot.tooltip is None
        assert plot.render().plain.splitlines()[-1].split() == ["512,256", "256,128", "128,64", "64,32", "1024,512"]


@run_async
async def test_a_running_trial_opened_in_train_is_followed_live_and_let_go_when_it_ends(tmp_path: Path) -> None:
    name = "smoke-S-t0002-20261201-120000-abcd"
    settings = CONFIG.replace(lr=0.0123, name="smoke-S-t0002")
    whole = list(training_run()(settings, name))
    first_epoch = next(i for i, e in enumerate(whole) if e.kind == "epoch") + 1
    folder = trial_folder(tmp_path / name, whole[:first_epoch], settings)
    log = folder / "events.jsonl"
    app = make_app(view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        await show_trials(app, pilot, trial(2, "running", (80.0,), 0.0123, run_dir=str(folder)))
        await press(pilot, "enter")
        await wait_until(pilot, lambda: app.current_view == "TrainView", what="the Train view")
        accuracy = app.query_one(AccuracyTable)
        await wait_until(pilot, lambda: accuracy.row_count == 1 and app.state == "running", what="the first epoch")
        assert app.watching == folder and app.trial_followed
        assert app.check_action("start", ()) is None  # no run of its own while it follows the trial
        assert form.read().name == "smoke-S-t0002"  # the trial followed, as it runs

        notified: list[str] = []
        notify = app.notify
        app.notify = lambda message, **kwargs: notified.append(message)  # type: ignore[method-assign]
        assert app.state_is_active("opening another run")  # as the Runs view asks before it opens one
        assert notified[-1].startswith(f"This dashboard follows the trial {folder.name}")
        app.notify = notify  # type: ignore[method-assign]

        with log.open("a") as handle:  # the trial's worker trains on and ends
            handle.write("".join(event.to_json() + "\n" for event in whole[first_epoch:]))
        await wait_until(pilot, lambda: app.state == "finished", what="the trial's end", timeout=10)
        assert accuracy.row_count == 3
        assert app.watching is None and not app.trial_followed and app.check_action("start", ()) is True
        bar = app.query_one(KeyBar)
        assert dict(zip((key.action for key in bar.keys), bar.enabled))["start"]  # drawn as usable too
        assert app.exit_code == 0  # a followed trial's end is no outcome of this command
        # s now starts a run of this dashboard's, with the trial's settings: not one more trial.
        assert form.read() == settings.replace(name=Config().name) and form.preset is None


@run_async
async def test_opening_another_trial_lets_the_followed_one_go(tmp_path: Path) -> None:
    whole = list(training_run()(CONFIG, "smoke-S-t0002-20261201-120000-abcd"))
    running = trial_folder(tmp_path / whole[0].run_id, whole[:5])
    done = trial_folder(tmp_path / "smoke-S-t0001-20261201-110000-abcd", list(training_run()(CONFIG, "smoke-S-t0001-20261201-110000-abcd")))
    rows = (
        trial(1, "complete", (95.5, 97.25, 96.75), 0.01, run_dir=str(done)),
        trial(2, "running", (), 0.001, run_dir=str(running)),
    )
    app = make_app(view="SweepView")
    async with app.run_test(size=SIZE) as pilot:
        table = await show_trials(app, pilot, *rows)
        await press(pilot, "down")
        await wait_until(pilot, lambda: table.chosen_number() == 2, what="the cursor on trial 2")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: app.run_id == running.name and app.state == "running", what="trial 2 followed")
        await press(pilot, "5", "up")
        await wait_until(pilot, lambda: table.chosen_number() == 1, what="the cursor on trial 1")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: app.run_id == done.name and app.state == "finished", what="trial 1 shown")
        assert app.watching is None and not app.trial_followed
        with (running / "events.jsonl").open("a") as handle:  # trial 2 trains on: no longer shown here
            handle.write("".join(event.to_json() + "\n" for event in whole[5:]))
        await pilot.pause(1.0)
        assert app.run_id == done.name and app.query_one(AccuracyTable).row_count == 3


@run_async
async def test_at_80x24_the_plots_give_rows_to_the_table_and_take_them_back_when_taller() -> None:
    """At the smallest size the plots had kept 16 rows, and the table showed its header and no trial."""
    app = make_app(view="SweepView")
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(SweepUpdated(STEPS[2]))
        table = app.query_one(TrialsTable)
        await wait_until(pilot, lambda: table.row_count == 4, what="the trials")
        await pilot.pause()
        assert table.size.height - 2 >= 4  # all four trials under the header, above the scrollbar
        assert app.query_one("#sweep-plots").size.height >= 10
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: app.query_one("#sweep-plots").size.height == 16, what="the plots' full height")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@run_async
async def test_the_best_trials_parameters_show_whole_on_a_line_of_their_own(size: tuple[int, int]) -> None:
    """After the counts on the summary line, the best trial's parameters ran off the end at 120x40,
    cut with no ellipsis and no closing parenthesis. The counts stay on the summary line and the best
    trial titles the trials table: each shows whole, or ends in an ellipsis where it must be cut."""
    space = {
        "lr": {"low": 1e-5, "high": 1e-1, "log": True}, "batch_size": {"choices": [32, 64, 128]},
        "hidden": {"choices": ["512,256", "64"]}, "activation": {"choices": ["relu", "leaky_relu"]},
    }
    params = {"lr": 0.000239, "batch_size": 64, "hidden": "512,256", "activation": "leaky_relu"}
    rows = tuple(
        TrialRow(number=n, state=state, params=params, accuracies=(70.0, value or 60.0), value=value, seconds=30.0,
                 outcome=state)
        for n, state, value in ((0, "complete", 68.5), (1, "complete", 72.7), (2, "pruned", None), (3, "failed", None))
    )
    sweep = SweepSnapshot(study="smoke-space", storage="runs/sweeps.journal", space=space, rows=rows,
                          status="done: 4 of 4 trials run, 2 workers stopped")
    app = make_app(view="SweepView")
    async with app.run_test(size=size) as pilot:
        table = app.query_one(TrialsTable)
        app.post_message(SweepUpdated(sweep))
        await wait_until(pilot, lambda: table.row_count == 4, what="the trials")
        await pilot.pause()
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        summary = app.query_one("#sweep-summary", Static).content_region
        counts = lines[summary.y][summary.x : summary.right].rstrip()
        title = lines[table.region.y][table.region.x + 3 : table.region.right].rstrip("─╮").removesuffix(" ")
        expected = [
            "Study smoke-space · done: 4 of 4 trials run, 2 workers stopped · 4 trials: 2 complete, 1 pruned, 1 failed",
            "Trials · best: trial 1, 72.70 % (lr=0.000239 batch_size=64 hidden=512,256 activation=leaky_relu)",
        ]
        for line, whole in zip([counts, title], expected):
            assert line == whole or (line.endswith("…") and whole.startswith(line[:-1])), (line, whole)
        if size == (120, 40):
            assert [counts, title] == expected, "at 120 columns both show whole"


def test_the_summary_line_counts_one_trial_in_the_singular_and_none_once() -> None:
    """It read "1 trials: 1 running" and "0 trials: no trials yet" (QA)."""
    from mnist_tui.tui.sweep_view import describe_sweep

    assert describe_sweep(snapshot()) == "Study smoke-S · running on 2 worker(s) · no trials yet"
    assert describe_sweep(snapshot(trial(0, "running", (), 0.001))) == (
        "Study smoke-S · running on 2 worker(s) · 1 trial: 1 running"
    )


def test_a_trial_under_a_second_shows_its_tenths_and_a_long_one_its_minutes() -> None:
    """A 0.3 s smoke trial read "0 s" (QA); times read as the Runs view's do."""
    import dataclasses

    from mnist_tui.tui.trials_table import row_cells

    for seconds, shown in ((0.3, "0.3s"), (185.0, "3m05s")):
        row = dataclasses.replace(trial(0, "complete", (76.5,), 0.008), seconds=seconds)
        assert str(row_cells(row, ("lr",), None)[-1]) == shown
