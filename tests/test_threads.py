"""The CPU's thread count: chosen from measured step times, and never a cause of other losses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnist_tui.engine.config import Config
from mnist_tui.engine.data import load_split
from mnist_tui.engine.mlp_step import GATHER_MIN_WIDTH
from mnist_tui.engine import threads
from mnist_tui.engine.threads import ABANDON, CLEAR_LOSS, PROBE_GAPS, SWITCH_GAIN, TRIAL_STEPS, ThreadChoice, intra_op_threads
from mnist_tui.engine.trainer import Trainer


class Never:
    def is_set(self) -> bool:
        return False


def drive(choice: ThreadChoice, seconds: dict[int, float], intervals: int) -> list[int]:
    """The counts ``choice`` picks for ``intervals`` intervals when a step on N threads takes seconds[N]."""
    picked = []
    for _ in range(intervals):
        count = choice.next()
        picked.append(count)
        choice.record(count, seconds[count])
    return picked


def test_the_faster_count_is_kept_and_the_other_tried_ever_more_rarely() -> None:
    choice = ThreadChoice((2, 1))
    picked = drive(choice, {2: 0.003, 1: 0.004}, 300)
    assert choice.current == 2
    tries = [i + 1 for i, count in enumerate(picked) if count == 1]
    assert tries[:6] == [3, 3 + 8, 11 + 16, 27 + 32, 59 + 64, 123 + 64]
    assert all(b - a <= PROBE_GAPS[1] for a, b in zip(tries, tries[1:]))


def test_a_count_that_turns_slow_is_left_for_the_other() -> None:
    """Idle at first (two threads win), then a busy neighbour makes two threads slower than one."""
    choice = ThreadChoice((2, 1))
    drive(choice, {2: 0.003, 1: 0.004}, 12)  # tries on intervals 3 and 11, the next on 27
    assert choice.current == 2
    picked = drive(choice, {2: 0.0065, 1: 0.0042}, 4)
    assert picked == [2, 2, 1, 1], "two slow intervals bring the next try forward, and it wins"
    assert choice.current == 1
    drive(choice, {2: 0.003, 1: 0.004}, PROBE_GAPS[0] + 1)
    assert choice.current == 2, "the first try after the neighbour left wins"


def test_bursts_of_other_work_bring_no_try_forward_and_switch_nothing() -> None:
    """The dashboard's repaints slow one interval in two on all cores (3 ms, then 5.5 ms a step);
    one core, at 4.6 ms, is slower than their mean but within one interval's noise: only the
    regular tries run, every 8 intervals, and none switches."""
    choice = ThreadChoice((2, 1))
    tries = []
    for interval in range(1, 101):
        count = choice.next()
        if count == 1:
            tries.append(interval)
        choice.record(count, 0.0046 if count == 1 else (0.003 if interval % 2 == 0 else 0.0055))
    assert choice.current == 2
    assert tries == list(range(3, 101, PROBE_GAPS[0]))


def test_a_try_within_noise_does_not_switch() -> None:
    choice = ThreadChoice((2, 1))
    drive(choice, {2: 0.0040, 1: 0.0038}, 40)
    assert choice.current == 2


def test_a_try_within_one_intervals_noise_is_tried_again_soon() -> None:
    """A `sigmoid-sgd` epoch: one core at 1.22 ms a step; two threads' first intervals at 1.48
    and 1.40 ms (the host busy for a moment), every later one at 1.00. Undecided tries must not
    keep one core for the 16, 32 and 64 intervals a lost one waits for the next."""
    choice = ThreadChoice((1, 2))
    tries = iter([0.00148, 0.00140])
    picked = []
    for _ in range(40):
        count = choice.next()
        picked.append(count)
        choice.record(count, 0.00122 if count == 1 else next(tries, 0.00100))
    assert all(1.0 < ratio < CLEAR_LOSS for ratio in (1.48 / 1.22, 1.40 / 1.22)), "neither won nor lost"
    assert [i + 1 for i, count in enumerate(picked[:19]) if count == 2] == [3, 11, 19], "the shortest wait each time"
    assert choice.current == 2 and picked[19:26] == [2] * 7, "the third try wins"


def test_a_clear_loss_still_doubles_the_wait() -> None:
    choice = ThreadChoice((2, 1))
    picked = drive(choice, {2: 0.0030, 1: CLEAR_LOSS * 0.0030 * 1.01}, 40)
    assert [i + 1 for i, count in enumerate(picked) if count == 1] == [3, 11, 27]


@pytest.mark.parametrize(("load", "start"), [(0.3, 2), (0.99, 2), (1.0, 1), (1.7, 1), (float("inf"), 1)])
def test_a_run_starts_on_every_core_only_on_an_idle_host(monkeypatch: pytest.MonkeyPatch, load: float, start: int) -> None:
    monkeypatch.setattr(threads, "cpu_cores", lambda: 2)
    monkeypatch.setattr(threads, "_host_load", lambda: load)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        choice = ThreadChoice.for_run(adaptive=True)
    finally:
        torch.set_num_threads(before)
    assert choice.current == start and sorted(choice.counts) == [1, 2]
    assert drive(choice, {1: 0.004, 2: 0.004}, 3)[2] == 3 - start, "the third interval tries the other"


def test_the_load_average_unreadable_counts_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(threads.os, "getloadavg", unreadable)
    assert threads._host_load() == float("inf")


def test_a_try_that_loses_clearly_ends_early_and_counts_as_lost() -> None:
    """On a busy host two threads stepped 7 times slower than one: the try ends after TRIAL_STEPS."""
    choice = ThreadChoice((1, 2))
    drive(choice, {1: 0.004, 2: 0.004}, 2)
    assert choice.next() == 2, "the third interval tries all cores"
    assert not choice.abandons(2, TRIAL_STEPS - 1, (TRIAL_STEPS - 1) * 0.028), "too early to judge"
    assert not choice.abandons(2, TRIAL_STEPS, TRIAL_STEPS * 0.9 * ABANDON * 0.004), "within the margin"
    assert choice.abandons(2, TRIAL_STEPS, TRIAL_STEPS * 0.028)
    choice.record(2, 0.012)  # the interval's mixed time measures neither count
    assert choice.current == 1 and len(choice._times[2]) == 0
    later = []
    for interval in range(4, 40):
        count = choice.next()
        if count == 2:
            later.append(interval)
        choice.record(count, 0.028 if count == 2 else 0.004)
    assert later == [11, 27], "as after a try that ran its whole interval and lost: the wait doubles"


def test_a_run_cut_short_on_its_try_steps_on_the_current_count(data_dir: Path, tiny: Config) -> None:
    config = tiny.replace(report_every=20)
    trainer = Trainer(config, load_split(config, data_dir, torch.device("cpu")), torch.device("cpu"))
    choice = trainer.threads = ThreadChoice((1, 2))
    choice.abandons = lambda count, steps, seconds: steps == TRIAL_STEPS  # type: ignore[method-assign]
    seen: list[int] = []
    step = trainer._manual_step
    trainer._manual_step = lambda *batch: seen.append(torch.get_num_threads()) or step(*batch)  # type: ignore[method-assign]
    before = torch.get_num_threads()
    trainer._begin_epoch()
    trainer.run_steps(0, 20, Never(), threads=2)
    assert seen == [2] * TRIAL_STEPS + [1] * (20 - TRIAL_STEPS)
    assert torch.get_num_threads() == before


def test_one_count_is_never_changed() -> None:
    choice = ThreadChoice((1,))
    assert drive(choice, {1: 0.001}, 20) == [1] * 20
    assert choice.fallback == 1


def test_the_block_runs_on_the_count_and_the_setting_comes_back() -> None:
    before = torch.get_num_threads()
    with intra_op_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


class Alternating(ThreadChoice):
    """Switches between 1 and 2 threads at every interval: the worst case for reproducibility."""

    def __init__(self) -> None:
        super().__init__((1, 2))
        self.flip = 0

    def next(self) -> int:
        self.flip += 1
        return 1 + self.flip % 2


CONFIGS = {
    "sgd-momentum-sigmoid": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "activation": "sigmoid", "hidden": (64, 32)},
    # Wide enough to gather the lit pixels: the momentum fold's index_add_ (the narrow ones multiply every pixel).
    "sgd-momentum-gathered": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "activation": "sigmoid", "hidden": (GATHER_MIN_WIDTH, 32)},
    "adam-relu": {"optimizer": "adam", "lr": 0.003, "hidden": (100, 100)},
    "adamw-gelu-dropout": {"optimizer": "adamw", "lr": 0.003, "activation": "gelu", "dropout": 0.3, "hidden": (48,)},
    # Batch norm's CPU kernels sum per thread; the step runs them on one.
    "adam-batchnorm-dropout": {"optimizer": "adam", "lr": 0.01, "batch_norm": True, "dropout": 0.5, "hidden": (512, 256)},
    "sgd-width-one": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "hidden": (3, 1)},
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_losses_do_not_depend_on_the_thread_count(data_dir: Path, tiny: Config, name: str) -> None:
    """One epoch of 2,000 digits (31 batches of 64 and one of 16) on 1 thread, on 2, and switching
    at every report: the same loss at every step, to the bit."""
    config = tiny.replace(**CONFIGS[name])
    split = load_split(config, data_dir, torch.device("cpu"))

    def losses(choice: ThreadChoice) -> list[float]:
        trainer = Trainer(config, split, torch.device("cpu"))
        assert trainer._manual is not None, "this config trains with the hand-derived step"
        trainer.threads = choice
        seen: list[float] = []
        every = config.report_every
        trainer._begin_epoch()
        for first in range(0, trainer.steps_per_epoch, every):
            last = min(first + every, trainer.steps_per_epoch)
            trainer.run_steps(first, last, Never(), threads=choice.next())
            seen += trainer._losses[: last - first].tolist()
        return seen

    one, two, switching = losses(ThreadChoice((1,))), losses(ThreadChoice((2,))), losses(Alternating())
    assert len(one) == 32
    assert one == two == switching
