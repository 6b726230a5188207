"""How listings show runs: their columns and each run's cells, sorting and filtering, and how runs' configurations differ.

``mnist-tui runs``, ``compare`` and the dashboard's Runs view show runs through these, from the
entries :mod:`.catalog` reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable

from .catalog import SORT_KEYS, RunEntry, newest_first, parse_timestamp
from .config import FIELDS, Config
from .presets import list_presets, load_preset


# --- sorting and filtering -----------------------------------------------------------------------

_SORT_VALUES: dict[str, Callable[[RunEntry], Any]] = {
    "date": lambda e: e.when,
    "run": lambda e: e.run,
    "name": lambda e: e.get("name"),
    "preset": lambda e: e.get("preset"),
    "state": lambda e: e.state,
    "epochs": lambda e: e.get("epochs_completed"),
    "final": lambda e: e.get("final_test_accuracy"),
    "best": lambda e: e.get("best_test_accuracy"),
    "time": lambda e: e.get("train_seconds"),
    "device": lambda e: e.get("device"),
    "damage": lambda e: e.damage,
}
# Columns whose natural order is largest first: the newest run, the best accuracy, the longest run.
DESCENDING = frozenset({"date", "epochs", "final", "best", "time"})


def sort_runs(entries: Iterable[RunEntry], key: str, *, reverse: bool = False) -> list[RunEntry]:
    """Entries sorted by a column of SORT_KEYS in its natural order (``reverse`` flips it); blanks go last."""
    if key not in _SORT_VALUES:
        raise ValueError(f"cannot sort by {key!r}; columns: {', '.join(SORT_KEYS)}")
    value = _SORT_VALUES[key]
    descending = (key in DESCENDING) != reverse
    # Ties keep newest first (then the run's name), whatever the column: each sort is stable.
    ordered = newest_first(entries)
    present = [e for e in ordered if value(e) is not None]
    blank = [e for e in ordered if value(e) is None]
    present.sort(key=value, reverse=descending)
    return present + blank


def filter_runs(entries: Iterable[RunEntry], text: str) -> list[RunEntry]:
    """Entries whose run, name, preset, state, device or damage contain every word of ``text`` (any case)."""
    words = text.lower().split()
    return [e for e in entries if all(word in _searchable(e) for word in words)]


def _searchable(entry: RunEntry) -> str:
    parts = (entry.run, entry.get("name"), entry.get("preset"), entry.state, entry.get("device"), entry.damage)
    return " ".join(str(part) for part in parts if part).lower()


# --- configuration differences -------------------------------------------------------------------


def config_differences(configs: list[Config]) -> dict[str, list[Any]]:
    """The fields whose values differ between ``configs``, in field order, with each config's value."""
    rows = [config.to_dict() for config in configs]
    return {
        name: [row[name] for row in rows]
        for name in FIELDS
        if any(row[name] != rows[0][name] for row in rows[1:])
    }


def preset_of(entry: RunEntry) -> Config | None:
    """The shipped preset a run started from, or None (no preset, or one this version does not ship)."""
    preset = entry.get("preset")
    if preset not in list_presets():
        return None
    return load_preset(preset)


# The listing's columns: key (also the sort key), header, right-aligned.
COLUMNS = (
    ("run", "run", False),
    ("name", "name", False),
    ("preset", "preset", False),
    ("state", "state", False),
    ("epochs", "epochs", True),
    ("final", "final %", True),
    ("best", "best %", True),
    ("time", "training", True),
    ("device", "device", False),
    ("date", "started", False),
    ("damage", "damage", False),
)


def row_cells(entry: RunEntry) -> dict[str, str]:
    """The listing's cells for one run, by column key, as ``mnist-tui runs`` and the Runs view show them."""
    return {
        "run": entry.run,
        "name": entry.get("name") or "",
        "preset": entry.get("preset") or "",
        "state": entry.state,
        "epochs": format_epochs(entry.get("epochs_completed"), entry.get("epochs")),
        "final": format_percent(entry.get("final_test_accuracy")),
        "best": format_percent(entry.get("best_test_accuracy")),
        "time": format_duration(entry.get("train_seconds")),
        "device": entry.get("device") or "",
        "date": format_started(entry.when),
        "damage": entry.damage or "",
    }


def format_started(when: float | None) -> str:
    """A start time (a Unix timestamp) as listings show it, to the minute in local time: 2026-11-23 10:15."""
    return datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M") if when else ""


def started_of(summary: dict[str, Any]) -> str | None:
    """A summary's start time as listings show it; its text as written where it is no ISO time."""
    started = summary.get("started")
    return format_started(parse_timestamp(started)) or started


def format_epochs(done: int | None, total: int | None) -> str:
    """Epochs done of the configured total (3/5), or done alone where the summary lacks the total."""
    if done is None:
        return ""
    return str(done) if total is None else f"{done}/{total}"


def format_percent(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def format_duration(seconds: float | None) -> str:
    """Seconds as 42.0s, 3m05s or 2h04m."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_value(value: Any) -> str:
    """A config value as the form and ``--set`` write it (hidden as 512,256)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
