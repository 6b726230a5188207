"""The loss chart's bounded series: a 100-epoch run fits in a fixed number of points and keeps its shape."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from mnist_tui.tui.loss_chart import round_ticks, fit_ticks, loss_ticks
from mnist_tui.tui.run_state import CAPACITY, LossCurves
from mnist_tui.tui.series import DecimatedSeries

REPORTS = 100 * 1875 // 25
"""100 epochs of 60,000 digits at batch 32, a report every 25 batches: 7,500 reports."""


def falling(count: int) -> list[tuple[float, float]]:
    """A strictly falling loss curve over ``count`` reports: (epochs, loss)."""
    return [(i / 75, 0.05 + 2.25 * math.exp(-i / 900)) for i in range(count)]


def test_memory_stays_within_capacity_for_a_100_epoch_run() -> None:
    series = DecimatedSeries(1024)
    largest = 0
    for x, y in falling(REPORTS):
        series.append(x, y)
        largest = max(largest, len(series.xs), len(series.points()[0]))
    assert series.count == REPORTS
    assert largest <= 1024
    assert len(series) <= 1024
    assert 256 <= len(series) <= 1024  # decimated, not emptied


def test_a_falling_curve_stays_falling_and_its_ends_stay_put() -> None:
    series = DecimatedSeries(1024)
    points = falling(REPORTS)
    for x, y in points:
        series.append(x, y)
    xs, ys = series.points()
    assert all(a < b for a, b in zip(xs, xs[1:]))
    assert all(a > b for a, b in zip(ys, ys[1:]))
    # The curve still spans the run: it starts near the first report and ends near the last.
    assert xs[0] < points[len(points) // 100][0]
    assert xs[-1] > points[-len(points) // 100][0]
    assert ys[0] > 2.0 and ys[-1] < 0.1


def test_stored_points_are_means_so_the_mean_is_kept() -> None:
    """Every stored point averages ``stride`` reports; together they average the reports they cover."""
    rng = random.Random(0)
    ys_in = [1.0 + rng.gauss(0, 0.3) for _ in range(REPORTS)]
    series = DecimatedSeries(1024)
    for i, y in enumerate(ys_in):
        series.append(float(i), y)
    covered = len(series.xs) * series.stride
    assert covered + len(series._pending) == REPORTS
    assert sum(series.ys) / len(series.ys) == pytest.approx(sum(ys_in[:covered]) / covered, rel=1e-9)
    # A stored point is the mean of a block of consecutive reports.
    stride = series.stride
    assert series.ys[3] == pytest.approx(sum(ys_in[3 * stride : 4 * stride]) / stride, rel=1e-9)
    assert series.xs[3] == pytest.approx(3 * stride + (stride - 1) / 2)
    _, shown = series.points()
    assert sum(shown) / len(shown) == pytest.approx(sum(ys_in) / REPORTS, abs=0.02)


def test_a_spike_stays_where_it_was() -> None:
    """Means blur a one-report spike but keep it at its place in the run."""
    series = DecimatedSeries(64)
    for i in range(5000):
        series.append(float(i), 5.0 if i == 3700 else 1.0)
    xs, ys = series.points()
    peak = xs[max(range(len(ys)), key=ys.__getitem__)]
    assert abs(peak - 3700) <= series.stride
    assert max(ys) > 1.0


def test_the_open_bucket_reaches_the_newest_value() -> None:
    series = DecimatedSeries(4)
    for i in range(5):  # 4 points fill it: they merge into 2 of stride 2; the 5th waits for a partner
        series.append(float(i), float(i))
    assert series.stride == 2
    assert series.xs == [0.5, 2.5]
    assert series.points() == ([0.5, 2.5, 4.0], [0.5, 2.5, 4.0])
    assert len(series) == 3


def test_clear_forgets_points_and_stride() -> None:
    series = DecimatedSeries(4)
    for i in range(9):
        series.append(float(i), 1.0)
    series.clear()
    assert (len(series), series.stride, series.count, series.points()) == (0, 1, 0, ([], []))


@pytest.mark.parametrize("capacity", [0, 1, 3, 1023])
def test_capacity_must_be_even_and_at_least_two(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        DecimatedSeries(capacity)


def test_the_loss_chart_keeps_a_100_epoch_run_bounded() -> None:
    """``LossCurves.add_batch`` with 7,500 reports: every series it keeps stays within capacity."""
    chart = LossCurves()
    points = falling(REPORTS)
    for x, y in points:
        chart.add_batch(x, y)
    for epoch in range(1, 101):
        chart.add_evaluation(epoch, 1 / epoch)
    for series in (chart.batch, chart.smooth, chart.evaluation):
        assert len(series.points()[0]) <= CAPACITY
    assert chart.batch.count == chart.smooth.count == REPORTS
    _, ys = chart.batch.points()
    assert all(a > b for a, b in zip(ys, ys[1:]))
    _, smooth = chart.smooth.points()
    assert all(a > b for a, b in zip(smooth, smooth[1:]))
    assert len(chart.evaluation) == 100


def test_the_loss_chart_skips_non_finite_losses() -> None:
    chart = LossCurves()
    chart.add_batch(0.1, 2.0)
    chart.add_batch(0.2, math.nan)
    chart.add_batch(0.3, math.inf)
    chart.add_evaluation(1, math.nan)
    assert chart.batch.points() == ([0.1], [2.0])
    assert len(chart.evaluation) == 0


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.04, 0.54, [0.1, 0.2, 0.3, 0.4, 0.5]),  # mid first epoch
        (0.01, 3.0, [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]),
        (0.02, 100.0, [20.0, 40.0, 60.0, 80.0, 100.0]),
        (0.3, 0.3, [0.3]),  # one report so far
    ],
)
def test_round_ticks_are_round_and_few(low: float, high: float, expected: list[float]) -> None:
    assert round_ticks(low, high) == expected


@pytest.mark.parametrize(("low", "high"), [(0.0013, 0.9), (0.02, 7.3), (0.5, 12_345.0), (1e-4, 2e-4)])
def test_round_ticks_stay_inside_the_data_and_number_at_most_seven(low: float, high: float) -> None:
    ticks = round_ticks(low, high)
    assert 1 <= len(ticks) <= 7
    assert all(low - 1e-12 <= t <= high + 1e-12 for t in ticks)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) <= 1  # evenly spaced


def test_loss_ticks_span_the_losses_on_round_values() -> None:
    assert loss_ticks(0.05, 2.3) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
    assert loss_ticks(0.3, 0.4) == [0.3, 0.35, 0.4]  # none of 0.2, 0.5 inside: finer round steps
    assert loss_ticks(2.01, 2.3) == [2.1, 2.2, 2.3]  # only 2 was near, at the frame's corner
    assert loss_ticks(1.5, 2.5) == [1.5, 2.0, 2.5]  # one inside (2) is not a scale either
    assert loss_ticks(0.7, 0.7) == [0.7]  # a flat line: its value
    decades = loss_ticks(1e-6, 2.3)
    assert decades == [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0]  # many decades: powers of ten only


def test_a_short_chart_keeps_fewer_loss_ticks_with_the_ends() -> None:
    ticks = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
    assert fit_ticks(ticks, rows=20) == ticks
    assert fit_ticks(ticks, rows=5) == [0.05, 0.2, 2.0]  # one label per two rows
    assert fit_ticks(ticks, rows=3) == [0.05, 2.0]
    assert fit_ticks(ticks, rows=1) == [0.5]
    assert fit_ticks(ticks, rows=0) == [0.5]


def test_the_chart_gets_at_most_one_point_per_column_with_both_ends_kept() -> None:
    from mnist_tui.tui.loss_chart import thin

    xs = [i / 100 for i in range(1000)]
    ys = [1 / (1 + i) for i in range(1000)]
    tx, ty = thin(xs, ys, 76)
    assert len(tx) == len(ty) == 76
    assert (tx[0], ty[0], tx[-1], ty[-1]) == (xs[0], ys[0], xs[-1], ys[-1])
    assert tx == sorted(tx) and all(a > b for a, b in zip(ty, ty[1:]))  # a falling curve stays falling
    assert thin(xs[:50], ys[:50], 76) == (xs[:50], ys[:50])  # fewer points than columns: all of them


def test_a_log_line_nested_too_deep_to_read_is_skipped_by_the_overlay(tmp_path: Path) -> None:
    """Marking a run whose log holds a line nested 100,000 deep raised RecursionError in the Runs
    view's worker; the line is skipped and counted like any other bad line."""
    from mnist_tui.tui.run_curves import read_curves

    epoch = '{"event":"epoch","epoch":1,"eval_accuracy":90.5}\n'
    deep = '{"event":"batch","x":' + "[" * 100_000 + "]" * 100_000 + "}\n"
    (tmp_path / "events.jsonl").write_text(deep + epoch)
    curves = read_curves(tmp_path)
    assert curves.skipped == 1
    assert curves.accuracy.points() == ([1.0], [90.5])
