"""How many intra-op threads train on the CPU, chosen from the step times the run measures.

One step of these MLPs is a few dozen operations of 10 us to 1 ms, and every parallel one ends
in an OpenMP barrier. On an idle 2-core machine, two threads train the hand-derived step
(``mlp_step.py``) about 1.4 times faster than one; beside a busy process, whose core the
scheduler shares, the barriers wait and two threads are 1.6 times slower than one. Which is
faster depends on what else runs, and that changes during a run, so the count is measured:
the run trains on one count, tries the other now and then, and keeps whichever steps faster.

Changing the count mid-run changes no result: every operation of that step gives the same bits
on any thread count (each weight gradient is computed input-major for this; a test checks it),
except matrix products with fewer than about 12 rows, so batches under ``ADAPTIVE_MIN_ROWS``
rows always run on the fallback count. Autograd's step has no such guarantee (its last layer's
weight gradient changes with the thread count), so it keeps one fixed count.
"""

from __future__ import annotations

import math
import os
import statistics
from contextlib import contextmanager
from typing import Iterator

import torch

ADAPTIVE_MIN_ROWS = 32
"""Batches with fewer rows run on the fallback count (MKL's small products vary with threads)."""
FIRST_PROBE = 3
"""The report interval that first tries the other count (the first one also warms up)."""
PROBE_GAPS = (8, 64)
"""Intervals between tries: from 8, doubling while the current count keeps winning, up to 64."""
SWITCH_GAIN = 0.9
"""A try must step this much faster (time ratio) than the current count's last intervals to switch."""
CLEAR_LOSS = 1.25
"""A try at least this much slower than the current count's last intervals lost: the wait for the
next doubles. Between ``SWITCH_GAIN`` and this, it said nothing (one interval's noise is about as
large), and the next try comes as soon as after a win."""
SLOWDOWN = 1.25
"""Two intervals in a row this much slower than the current count's typical one try the other next."""
KEPT = 5
"""Recent intervals remembered per count."""
TRIAL_STEPS = 5
"""Steps a try runs before it may be cut short."""
ABANDON = 1.5
"""A try this much slower per step than the current count's recent intervals ends after ``TRIAL_STEPS``."""


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def training_threads() -> int:
    """The fixed count: PyTorch's own, but one core left free (for the dashboard's UI thread)."""
    return max(1, min(torch.get_num_threads(), cpu_cores() - 1))


class ThreadChoice:
    """The thread count of each report interval: ``next()`` before it, ``record()`` after it.

    With one count there is nothing to choose. With two (all cores, and one left free), the run
    starts on the first given (:meth:`for_run`) and tries the other on its third interval (the
    first one also pays for warming up, so it is not counted). A try that wins switches; one that
    loses clearly (``CLEAR_LOSS``) doubles the wait for the next (8 intervals, then 16, up to 64),
    since each losing try costs its interval. A try within one interval's noise of the current
    count decided nothing and cost little, so the next comes after the shortest wait: one slow
    interval on the faster count no longer kept the slower one for the rest of an epoch (one
    thread for 61 of 75 intervals of a `sigmoid-sgd` epoch, each step 1.2 times as long). Two
    intervals in a row much slower than the current count's typical one (another process has
    started) bring the next try forward.

    Another thread's bursts of work (the dashboard repainting) slow single intervals, and more so
    on all cores: a try is judged against the mean of the current count's last three intervals,
    bursts included, and one slow interval alone brings no try forward.

    On a host busier than its cores, two threads can step five to ten times slower than one (each
    waits for the other at every barrier), so a whole interval on them would cost as much as
    several: a try that is that clearly losing after ``TRIAL_STEPS`` steps ends there
    (:meth:`abandons`), and the rest of its interval runs on the current count.
    """

    def __init__(self, counts: tuple[int, ...]) -> None:
        self.counts = tuple(dict.fromkeys(counts))[:2]  # the start first; no repeats
        self.current = self.counts[0]
        self.fallback = min(self.counts)
        self._times: dict[int, list[float]] = {count: [] for count in self.counts}
        self._intervals = 0
        self._next_probe = FIRST_PROBE
        self._gap = PROBE_GAPS[0]
        self._abandoned = False

    @classmethod
    def for_run(cls, adaptive: bool) -> ThreadChoice:
        """One core left free or all cores, chosen by speed when ``adaptive``; else the fixed count.

        The run starts on all cores when the host is idle (its load average under one task less
        than its cores: nothing else wants a whole core), else on the fewer: on a busy host the
        first intervals on all cores would cost several times theirs. Either way the third
        interval tries the other.
        """
        fixed = training_threads()
        if not adaptive:
            return cls((fixed,))
        every = min(torch.get_num_threads(), cpu_cores())
        return cls((every, fixed) if _host_load() < cpu_cores() - 1 else (fixed, every))

    def next(self) -> int:
        """The count to train the next interval on."""
        self._intervals += 1
        if len(self.counts) > 1 and self._intervals >= self._next_probe:
            return next(count for count in self.counts if count != self.current)  # a try
        return self.current

    def abandons(self, count: int, steps: int, seconds: float) -> bool:
        """Whether a try on ``count``, ``steps`` steps and ``seconds`` into its interval, loses so
        clearly that the interval goes on with the current count (the try counts as lost)."""
        if count == self.current or steps < TRIAL_STEPS or self._abandoned:
            return False
        recent = self._times[self.current][-3:]
        if not recent or seconds / steps < ABANDON * statistics.fmean(recent):
            return False
        self._abandoned = True
        self._next_probe = self._intervals + self._gap
        self._gap = min(2 * self._gap, PROBE_GAPS[1])
        return True

    def record(self, count: int, seconds_per_step: float) -> None:
        """What the interval trained on ``count`` measured; switches when a try was faster."""
        if self._abandoned:  # an interval of two counts: it measured neither
            self._abandoned = False
            return
        if self._intervals == 1 or len(self.counts) == 1:
            return  # the first interval also warms up
        times = self._times[count]
        times.append(seconds_per_step)
        del times[:-KEPT]
        current = self._times[self.current]
        if count != self.current:  # a try, against the intervals just before it (the load drifts)
            recent = current[-3:]
            if recent and seconds_per_step < SWITCH_GAIN * statistics.fmean(recent):
                self.current = count
                self._gap = PROBE_GAPS[0]
                self._next_probe = self._intervals + self._gap
            elif recent and seconds_per_step < CLEAR_LOSS * statistics.fmean(recent):
                self._next_probe = self._intervals + PROBE_GAPS[0]  # undecided: the wait stays as it was
            else:
                self._next_probe = self._intervals + self._gap
                self._gap = min(2 * self._gap, PROBE_GAPS[1])
        elif len(current) >= 3 and min(current[-2:]) > SLOWDOWN * statistics.median(current):
            self._next_probe = min(self._next_probe, self._intervals + 1)


def _host_load() -> float:
    """The host's load average over the last minute (infinite where there is none to read)."""
    try:
        return os.getloadavg()[0]
    except OSError:  # not available on this platform
        return math.inf


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run the block on ``count`` intra-op threads, then restore the setting."""
    if count == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
