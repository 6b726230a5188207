"""A bounded series for live charts: long runs keep their shape in a fixed number of points."""

from __future__ import annotations


class DecimatedSeries:
    """Points ``(x, y)`` stored as bucket means; when full, neighbouring buckets merge in pairs.

    Memory stays at most ``capacity`` points however long the run: a 100-epoch run at batch 32
    reports about 7,500 losses, which end up as buckets of 8 or 16 reports each. Means keep the
    curve's shape (a falling loss stays a falling line) where dropping points would alias.
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number of at least 2")
        self.capacity = capacity
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.stride = 1
        """Reported points per stored point."""
        self._pending: list[tuple[float, float]] = []
        self.count = 0
        """Points appended in all."""

    def __len__(self) -> int:
        return len(self.xs) + (1 if self._pending else 0)

    def append(self, x: float, y: float) -> None:
        """Add one point; it lands in the open bucket until ``stride`` points filled it."""
        self.count += 1
        self._pending.append((x, y))
        if len(self._pending) < self.stride:
            return
        self._push(*_mean(self._pending))
        self._pending.clear()

    def points(self) -> tuple[list[float], list[float]]:
        """The stored points, plus the open bucket's mean so the curve reaches the newest value."""
        if not self._pending:
            return list(self.xs), list(self.ys)
        x, y = _mean(self._pending)
        return [*self.xs, x], [*self.ys, y]

    def clear(self) -> None:
        self.xs.clear()
        self.ys.clear()
        self._pending.clear()
        self.stride = 1
        self.count = 0

    def _push(self, x: float, y: float) -> None:
        self.xs.append(x)
        self.ys.append(y)
        if len(self.xs) >= self.capacity:
            self.xs = [(a + b) / 2 for a, b in zip(self.xs[::2], self.xs[1::2])]
            self.ys = [(a + b) / 2 for a, b in zip(self.ys[::2], self.ys[1::2])]
            self.stride *= 2


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    count = len(points)
    return sum(p[0] for p in points) / count, sum(p[1] for p in points) / count
