"""QA, the sweep dashboard: a paused trial was listed as ``running`` with its time counting on; the
form called the sweep's fixed config ``custom`` though it was ``--preset smoke --set epochs=15``;
at 80x24 the plots left tick labels out (88.20 between 88.60 and 87.80, epoch 127 before 145)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import Static

from mnist_tui.engine.events import RunPaused, RunResumed
from mnist_tui.engine.trial_rows import SweepSnapshot, TrialRow
from mnist_tui.sweep import build_parser, resolve
from mnist_tui.sweep_ui import SweepFeed, sweep_app
from mnist_tui.tui.config_form import ConfigForm
from mnist_tui.tui.status_bar import StatusBar
from mnist_tui.tui.sweep_charts import FieldPlot, TrialCurves
from mnist_tui.tui.sweep_view import SweepUpdated
from mnist_tui.tui.trials_table import TrialsTable
from test_tui_qa_estimates import Clock
from test_tui_sweep import CONFIG, SPACE, cells, make_app, trial_folder
from tui_script import batch, run_async, started, wait_until

pytestmark = pytest.mark.timeout(60)

RUN = "smoke-S-t0000"


class StudyNow:
    """A stand-in for the sweep the feed supervises: its study's rows as the test sets them."""

    def __init__(self, runs_dir: Path) -> None:
        space = SimpleNamespace(to_dict=lambda: SPACE)
        self.options = SimpleNamespace(study="smoke-S", storage=None, runs_dir=str(runs_dir), space=space)
        self.now: list[TrialRow] = []

    def rows(self) -> list[TrialRow]:
        return list(self.now)


@run_async
async def test_a_paused_trial_is_listed_paused_and_its_time_stands_still_until_it_resumes(tmp_path: Path) -> None:
    paused = [started(RUN, CONFIG), batch(RUN, 50), RunPaused(run_id=RUN, epoch=1, step=50)]
    folder = trial_folder(tmp_path / RUN, paused)
    study = StudyNow(tmp_path)
    feed = SweepFeed(study)  # type: ignore[arg-type]
    feed.paused.clock = clock = Clock()
    running = TrialRow(
        number=0, state="running", params={"lr": 0.001, "hidden": "32"}, run_dir=str(folder), outcome="running"
    )
    app = make_app(view="SweepView")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TrialsTable)

        async def shown(seconds: float) -> tuple[str, str, str]:
            """The study at ``seconds`` of Optuna's wall time: the trial's state and time, and the summary line."""
            study.now = [dataclasses.replace(running, seconds=seconds)]
            snapshot = feed.snapshot("running on 1 worker(s)")
            app.post_message(SweepUpdated(snapshot))
            await wait_until(pilot, lambda: table.rows_shown == snapshot.rows, what="the trial")
            await pilot.pause()
            row = cells(table, 0)
            return row[2], row[-1], str(app.query_one("#sweep-summary", Static).render())

        state, time, summary = await shown(10.0)
        assert (state, time) == ("paused", "10.0s") and summary.endswith("1 trial: 1 paused"), (state, time, summary)
        clock.now += 6
        assert (await shown(16.0))[:2] == ("paused", "10.0s")  # six seconds paused: no training time

        with (folder / "events.jsonl").open("a") as log:
            log.write(RunResumed(run_id=RUN, epoch=1, step=50).to_json() + "\n")
        clock.now += 4  # resumed within these (the feed looks once a second): counted as paused
        state, time, summary = await shown(20.0)
        assert (state, time) == ("running", "10.0s") and summary.endswith("1 trial: 1 running"), (state, time, summary)
        clock.now += 5
        assert (await shown(25.0))[:2] == ("running", "15.0s")


@run_async
async def test_the_sweep_dashboards_form_holds_the_preset_and_the_fields_set_as_the_trials_record_them(
    tmp_path: Path,
) -> None:
    space = tmp_path / "space.toml"
    space.write_text("lr = { low = 1e-4, high = 1e-1, log = true }\n")
    args = ["--preset", "smoke", "--set", "epochs=15", "--space", str(space), "--runs-dir", str(tmp_path / "runs")]
    options = resolve(build_parser().parse_args(args))
    app = sweep_app(options, lambda app: None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.current_view == "SweepView"
        form = app.query_one(ConfigForm)
        assert form.summary == "smoke, edited" and form.edited() == ["epochs"], form.summary
        status = str(app.query_one(StatusBar).render())
        assert "smoke, edited" in status and "custom" not in status, status


def long_trials() -> tuple[TrialRow, ...]:
    """Four complete trials of 150 epochs ending between 87 % and 89.4 %, as QA's sweep."""
    rng = random.Random(1)

    def trial(number: int, lr: float, final: float) -> TrialRow:
        accuracies = tuple(80 + 7 * (1 - 0.97**e) + rng.random() / 2 for e in range(149)) + (final,)
        return TrialRow(
            number=number, state="complete", params={"lr": lr, "hidden": "32"}, accuracies=accuracies, value=final,
            seconds=40.0, outcome="complete",
        )

    return trial(0, 0.002, 89.4), trial(1, 0.02, 87.0), trial(2, 0.0005, 88.2), trial(3, 0.05, 87.4)


def y_labels(lines: list[str]) -> list[float]:
    return [float(label) for line in lines if "┤" in line and (label := line.split("┤")[0].strip())]


def evenly_spaced(values: list[float]) -> bool:
    return len({round(b - a, 6) for a, b in zip(values, values[1:])}) <= 1


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@run_async
async def test_the_plots_label_every_tick_they_mark_at_round_even_steps(size: tuple[int, int]) -> None:
    app = make_app(view="SweepView")
    async with app.run_test(size=size) as pilot:
        rows = long_trials()
        app.post_message(SweepUpdated(SweepSnapshot(study="s", storage="j", space=SPACE, rows=rows)))
        table = app.query_one(TrialsTable)
        await wait_until(pilot, lambda: table.row_count == 4, what="the trials")
        await pilot.pause(0.2)
        lr = next(plot for plot in app.query(FieldPlot) if plot.field == "lr")
        for plot in (lr, app.query_one(TrialCurves)):
            lines = plot.render().plain.splitlines()
            labels = y_labels(lines)
            assert len(labels) >= 2 and evenly_spaced(labels), lines  # 88.20 was missing: 89.40 89.00 88.60 87.80
            assert len(labels) == sum(line.split("┤")[0].strip() != "" for line in lines if "┤" in line)
        lines = app.query_one(TrialCurves).render().plain.splitlines()
        epochs = [int(label) for label in lines[-2].split()]  # above the axis's name
        steps = {b - a for a, b in zip(epochs[1:], epochs[2:])}
        assert len(epochs) >= 3 and len(steps) == 1 and epochs[-1] >= 150 - steps.pop(), lines  # 127 was missing
        assert epochs[1] % (epochs[2] - epochs[1]) == 0, epochs  # round: 25, 50, 75, not 19, 37, 55


def test_the_table_printed_at_the_end_leaves_out_the_time_a_trial_was_paused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Sweep view showed a trial paused for 30 s as 70.0s, the table printed after q as 100.0s; and
    (QA) a later command's table showed it as 100.0s too: its worker now records the pauses in the study."""
    from datetime import datetime, timedelta

    import optuna
    from optuna.distributions import FloatDistribution

    from test_sweep_qa import sweep_of

    sweep = sweep_of(tmp_path, "--trials", "0")
    folder = trial_folder(tmp_path / RUN, [started(RUN, CONFIG), batch(RUN, 50), RunPaused(run_id=RUN, epoch=1, step=50)])
    paused = SweepFeed(sweep).paused
    paused.clock = clock = Clock()
    running = TrialRow(number=0, state="running", params={"lr": 0.001}, seconds=10.0, run_dir=str(folder), outcome="running")
    assert paused.apply([running])[0].paused  # the feed saw it paused...
    with (folder / "events.jsonl").open("a") as log:
        log.write(RunResumed(run_id=RUN, epoch=1, step=50).to_json() + "\n")
    clock.now += 30
    assert not paused.apply([dataclasses.replace(running, seconds=40.0)])[0].paused  # ...for 30 s

    start = datetime(2026, 12, 3, 3, 0, 0)
    sweep.study.add_trial(optuna.trial.FrozenTrial(
        number=0, trial_id=0, state=optuna.trial.TrialState.COMPLETE, value=91.5, values=None,
        datetime_start=start, datetime_complete=start + timedelta(seconds=100), params={"lr": 0.001},
        distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True)},
        user_attrs={"run_dir": str(folder), "paused_seconds": 30.0},  # as its worker recorded them
        system_attrs={}, intermediate_values={1: 91.5},
    ))
    capsys.readouterr()
    sweep.finish(None)  # a later headless command, which saw no pause
    table = capsys.readouterr().out
    assert " 70.0 " in table and " 100.0 " not in table, table
    sweep.shown = paused.apply  # as the sweep's dashboard sets it: the pause is not taken out twice
    sweep.finish(None)
    table = capsys.readouterr().out
    assert " 70.0 " in table and " 100.0 " not in table and " 40.0 " not in table, table
