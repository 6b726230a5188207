"""The search space of a sweep: one TOML entry per config field, checked by the config's own rules.

A space file reads::

    lr = { low = 1e-4, high = 1e-1, log = true }
    batch_size = { low = 32, high = 256, step = 32 }
    optimizer = { choices = ["adam", "sgd"] }
    hidden = { choices = [[100, 100], [512, 256]] }

Every bound and every choice goes through :func:`config_from_mapping` on top of the sweep's base
config, so a space can only hold values a config file could; the corners of the space (each
range's ends and each choice, in every combination) are built as whole configs up front, so a
rule that ties two fields (nesterov needs momentum > 0) fails here, not in trial 17; the rules
that tie the batches to the training digits, which a value inside a range can break where no
corner does, are weighed over every training-set size and batch size the space reaches. This module
does not import Optuna: :meth:`SearchSpace.suggest` calls the ``suggest_*`` methods of whatever
trial it is given.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from .config import FIELDS, SPLIT_POOLS, Config, ConfigError, check_key, held_out_digits, shown
from .presets import SPACE_KEYS, check_nesting, parse_toml, read_small_file

RANGE_KEYS = tuple(key for key in SPACE_KEYS if key != "choices")
NOT_SEARCHED = ("name",)
"""Fields a sweep sets itself (each trial's name carries the study and the trial number)."""
MAX_CORNERS = 4096
"""Whole configs built to check a space's corners; past this, each field is checked alone."""
MAX_CHOICES = 1000
"""The most choices one field lists (each is checked as a config, and Optuna's sampler weighs them all)."""
MAX_STEPS = 1_000_000
"""The most values a range with a step may have (Optuna computes them in decimal arithmetic)."""
SPLIT_FIELDS = ("eval_split", "holdout_fraction", "split_shuffle", "train_limit")
"""The fields that decide how many digits a run trains on."""
BATCH_FIELDS = ("batch_size", "drop_last", "batch_norm")
"""The fields that the config's rules tie to the number of training digits."""


class Suggester(Protocol):
    """The part of ``optuna.Trial`` a space needs."""

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class Dimension:
    """One searched field: a range (``low``..``high``, maybe ``log`` or ``step``) or ``choices``."""

    field: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    @property
    def labels(self) -> tuple[Any, ...]:
        """The choices as Optuna stores them (hidden sizes as text such as "512,256")."""
        return tuple(_label(choice) for choice in self.choices)

    def value_of(self, param: Any) -> Any:
        """The config value of a stored parameter (the inverse of :attr:`labels`)."""
        if self.choices:
            return self.choices[self.labels.index(param)]
        return param

    def to_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": [list(c) if isinstance(c, tuple) else c for c in self.choices]}
        data: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            data["log"] = True
        if self.step is not None:
            data["step"] = self.step
        return data


@dataclass(frozen=True)
class SearchSpace:
    """The searched fields of a sweep, in file order."""

    dimensions: tuple[Dimension, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(d.field for d in self.dimensions)

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        """Ask ``trial`` for a value of every field; returns config values (hidden as a tuple)."""
        values: dict[str, Any] = {}
        for d in self.dimensions:
            if d.choices:
                values[d.field] = d.value_of(trial.suggest_categorical(d.field, list(d.labels)))
            elif _kind(d.field) is int:
                values[d.field] = trial.suggest_int(d.field, int(d.low), int(d.high), step=int(d.step or 1), log=d.log)
            else:
                values[d.field] = trial.suggest_float(d.field, float(d.low), float(d.high), step=d.step, log=d.log)
        return values

    def config_for(self, base: Config, params: dict[str, Any], *, name: str | None = None) -> Config:
        """The whole config of a trial: ``base`` with the trial's parameters (as Optuna stores them)."""
        values = {d.field: d.value_of(params[d.field]) for d in self.dimensions if d.field in params}
        if name is not None:
            values["name"] = name
        return base.replace(source="search space", **values)

    def corners(self, base: Config) -> Iterator[Config]:
        """The configs at the space's corners on ``base``, as :func:`load_space` built them: the largest
        model the space can produce is among them (past MAX_CORNERS combinations, each corner is alone
        on ``base``)."""
        corners = [[(d.field, value) for value in _raw_corners(d)] for d in self.dimensions]
        for combination in _combinations(corners):
            yield base.replace(source="search space", **dict(combination))

    def to_dict(self) -> dict[str, Any]:
        """The space as plain data (saved with the study, so a joining command can be compared)."""
        return {d.field: d.to_dict() for d in self.dimensions}


def load_space(path: str | Path, base: Config) -> SearchSpace:
    """Read and check a space file against ``base``; every mistake is a ConfigError naming the file."""
    path = Path(path)
    try:
        text = read_small_file(path, "search space file", "a space").decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"search space file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"search space file {path} is a folder") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"search space file {path} cannot be read: {error}") from None
    # The bounds a config file gets: nesting and digits past them raised from the parser.
    data = parse_toml(text, source=str(path))
    for field, entry in data.items():
        check_nesting(field, entry, source=str(path))
    return space_from_mapping(data, base, source=str(path))


def space_from_mapping(data: dict[str, Any], base: Config, *, source: str) -> SearchSpace:
    """Check a parsed space against ``base``; errors start with ``source``."""
    if not data:
        raise ConfigError(f"{source}: searches nothing; add entries such as lr = {{ low = 1e-4, high = 1e-1, log = true }}")
    for field in data:
        check_key(field, source=source)
    try:
        raw = [_shape(field, entry) for field, entry in data.items()]
        values = _checked_values(raw, base)
        space = SearchSpace(tuple(_dimension(d, values) for d in raw))
        _check_reachable(space, base)
        return space
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _shape(field: str, entry: Any) -> Dimension:
    """The entry's keys, before its values are checked: a range or a list of choices."""
    if field in NOT_SEARCHED:
        raise ConfigError(f"{field} cannot be searched: each trial's name is the study's name and its number")
    if not isinstance(entry, dict):
        raise ConfigError(
            f"{field} must be a table such as {{ low = 1, high = 10 }} or {{ choices = [...] }}, not {shown(entry)}"
        )
    unknown = [key for key in entry if key not in SPACE_KEYS]
    if unknown:
        raise ConfigError(f"{field}: unknown key {unknown[0]!r}; a range has low, high, log, step; a list has choices")
    if "choices" in entry:
        if set(entry) != {"choices"}:
            raise ConfigError(f"{field}: choices cannot be combined with {', '.join(k for k in entry if k != 'choices')}")
        choices = entry["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{field}: choices must be a non-empty list, not {shown(choices)}")
        if len(choices) > MAX_CHOICES:
            raise ConfigError(f"{field}: {len(choices):,} choices; at most {MAX_CHOICES:,} (a range searches more values)")
        return Dimension(field, choices=tuple(choices))
    kind = _kind(field)
    if kind not in (int, float):
        raise ConfigError(f"{field} is {_WORDS[kind]}: search it with choices = [...], not a range")
    missing = [key for key in ("low", "high") if key not in entry]
    if missing:
        raise ConfigError(f"{field}: a range needs low and high (missing {' and '.join(missing)})")
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{field}: log must be true or false, not {shown(log)}")
    return Dimension(field, low=entry["low"], high=entry["high"], log=log, step=entry.get("step"))


def _checked_values(raw: list[Dimension], base: Config) -> dict[tuple[str, int], Any]:
    """Each corner value as its field takes it, after building the corners as whole configs.

    A value alone on ``base`` may break a rule that another searched field satisfies (nesterov
    with the base's adam, where the space also searches optimizer = ["sgd"]), so only a
    combination that fails is an error; it is reported as a value of it that fails alone and in
    every combination, if one does, else as the combination.
    """
    corners = [[(d.field, index, value) for index, value in enumerate(_raw_corners(d))] for d in raw]
    alone: dict[tuple[str, int], ConfigError | None] = {}
    values: dict[tuple[str, int], Any] = {}
    for field, index, value in itertools.chain.from_iterable(corners):
        try:
            role = _role(raw, field, index)
            values[field, index] = getattr(base.replace(source=f"{field} {role}", **{field: value}), field)
            alone[field, index] = None
        except ConfigError as error:
            alone[field, index] = error
    passed: set[tuple[str, int]] = set()
    failure: tuple[Any, ConfigError] | None = None
    for combination in _combinations(corners):
        together = ", ".join(f"{field} = {shown(value)}" for field, _, value in combination)
        try:
            config = base.replace(source=f"{together} together", **{field: value for field, _, value in combination})
        except ConfigError as error:
            failure = failure or (combination, error)
            continue
        for field, index, _ in combination:
            values[field, index] = getattr(config, field)
            passed.add((field, index))
    if failure is not None:
        combination, error = failure
        never = (alone[f, i] for f, i, _ in combination if (f, i) not in passed and alone[f, i] is not None)
        raise next(never, error)
    return values


def _dimension(raw: Dimension, values: dict[tuple[str, int], Any]) -> Dimension:
    """The entry with checked values, and the checks a range or a list needs beyond the config's."""
    field = raw.field
    if raw.choices:
        choices = tuple(values[field, index] for index in range(len(raw.choices)))
        for index, choice in enumerate(choices):
            if choice in choices[:index]:
                raise ConfigError(f"{field}: {shown(raw.choices[index])} is listed twice among the choices")
        return Dimension(field, choices=choices)
    low, high = values[field, 0], values[field, 1]
    if not low < high:
        raise ConfigError(f"{field}: low ({shown(low)}) must be below high ({shown(high)})")
    if raw.log and low <= 0:
        raise ConfigError(f"{field}: a log range needs low > 0, not {shown(low)}")
    step = raw.step
    if step is not None:
        kind = _kind(field)
        numeric = isinstance(step, (int, float)) and not isinstance(step, bool)
        if not numeric or kind is int and not isinstance(step, int) or not 0 < step < math.inf:
            raise ConfigError(f"{field}: step must be a positive {'integer' if kind is int else 'number'}, not {shown(step)}")
        if raw.log:
            raise ConfigError(f"{field}: a range takes log or step, not both")
        if kind is int and (high - low) % step:
            raise ConfigError(f"{field}: high - low ({high - low}) must be a multiple of step ({step})")
        if (high - low) / step > MAX_STEPS:
            raise ConfigError(f"{field}: step {shown(step)} gives more than {MAX_STEPS:,} values; use a larger step, or none")
        if kind is float and (Decimal(str(high)) - Decimal(str(low))) % Decimal(str(step)):
            # Optuna would move high to the last multiple, and warn in every trial.
            raise ConfigError(f"{field}: high - low ({shown(high - low)}) must be a multiple of step ({shown(step)})")
    return Dimension(field, low=low, high=high, log=raw.log, step=step)


def _check_reachable(space: SearchSpace, base: Config) -> None:
    """Refuse a space that reaches a training-set size and a batch size the config's rules forbid
    together where no corner does: a batch size that divides the training digits less one leaves a
    last batch of one digit (which batch norm cannot train on) anywhere inside a range, and as
    ``train_limit = 0`` trains on every digit, a range from 0 trains on fewest at its second value.
    Every training-set size and batch size the space reaches is weighed; a combination that breaks
    a rule is named."""
    searched = {d.field: d for d in space.dimensions}
    if not searched.keys() & {*SPLIT_FIELDS, *BATCH_FIELDS}:
        return
    trains = _reachable_trains(searched, base)
    sizes = sorted(_reachable_ints(searched.get("batch_size"), base.batch_size, cap=max(trains) + 1))
    candidates = [(min(trains), sizes[-1]), *_last_batch_of_one(trains, sizes)]
    first = {d.field: _raw_corners(d)[0] for d in space.dimensions}  # the other searched fields: any value will do
    for (train, size), norm, drop in itertools.product(
        candidates, _values(searched.get("batch_norm"), base.batch_norm), _values(searched.get("drop_last"), base.drop_last)
    ):
        reached = {**trains[train], "batch_size": size, "batch_norm": norm, "drop_last": drop}
        values = {**first, **{field: value for field, value in reached.items() if field in searched}}
        named = [f"{field} = {shown(values[field])}" for field in space.fields if field in reached]
        where = f"{', '.join(named)} together" if len(named) > 1 else f"{named[0]} (inside its range)"
        base.replace(source=where, **values)


def _reachable_trains(searched: dict[str, Dimension], base: Config) -> dict[int, dict[str, Any]]:
    """Every training-set size the space reaches, each with split field values that give it."""
    fractions = searched.get("holdout_fraction")
    pools: dict[int, dict[str, Any]] = {}
    for split, shuffle in itertools.product(
        _values(searched.get("eval_split"), base.eval_split), _values(searched.get("split_shuffle"), base.split_shuffle)
    ):
        pool = SPLIT_POOLS[split]
        if fractions is None:
            reached: Iterable[float] = (base.holdout_fraction,)
        elif split == "test":  # nothing is held out: any fraction will do
            reached = fractions.choices[:1] or (fractions.low,)
        else:
            reached = _fractions(fractions, pool, shuffle)
        for fraction in reached:
            held = 0 if split == "test" else held_out_digits(pool, fraction, shuffle)
            pools.setdefault(pool - held, {"eval_split": split, "holdout_fraction": fraction, "split_shuffle": shuffle})
    largest = max(pools)
    limits = _reachable_ints(searched.get("train_limit"), base.train_limit, cap=largest + 1)
    every = 0 if 0 in limits else max(limits)  # train_limit = 0, or one past a pool, trains on all of it
    trains: dict[int, dict[str, Any]] = {}
    for train, witness in pools.items():
        if every == 0 or every >= train:
            trains.setdefault(train, {**witness, "train_limit": every})
    for limit in limits:
        if 0 < limit < largest:
            trains.setdefault(limit, {**pools[largest], "train_limit": limit})
    return trains


def _fractions(d: Dimension, pool: int, shuffle: str) -> Iterable[float]:
    """Holdout fractions the dimension reaches: at least one for every count of held-out digits it reaches."""
    if d.choices:
        yield from d.choices
        return
    low, high = float(d.low), float(d.high)  # type: ignore[arg-type]
    if d.step is not None and (high - low) / d.step <= pool:  # a few values: each of them
        yield from (min(low + i * d.step, high) for i in range(round((high - low) / d.step) + 1))
        return
    # Values closer than a digit apart: one fraction per count (the one that gives it, on the step if any).
    for held in range(held_out_digits(pool, low, shuffle), held_out_digits(pool, high, shuffle) + 1):
        fraction = (held - 0.5 if shuffle == "sklearn" else held) / pool
        if d.step is not None:
            fraction = low + round((fraction - low) / d.step) * d.step
        yield min(max(fraction, low), high)


def _reachable_ints(d: Dimension | None, fixed: int, *, cap: int) -> set[int]:
    """The integers a dimension (None: the base's ``fixed`` value) reaches, those past ``cap`` by its largest only."""
    if d is None:
        return {fixed}
    if d.choices:
        return set(d.choices)
    low, high, step = int(d.low), int(d.high), int(d.step or 1)  # type: ignore[arg-type]
    return {*range(low, min(high, cap) + 1, step), high}


def _values(d: Dimension | None, fixed: Any) -> tuple[Any, ...]:
    return (fixed,) if d is None else d.choices


def _last_batch_of_one(trains: dict[int, Any], sizes: list[int]) -> list[tuple[int, int]]:
    """A training-set size and a batch size of 2 or more that leave a last batch of one digit, if any reached."""
    top = max(trains)
    reached = bytearray(top + 2)
    for train in trains:
        reached[train] = 1
    for size in sizes:
        if size < 2:
            continue
        if reached[1]:
            return [(1, size)]
        for train in range(size + 1, top + 1, size):
            if reached[train]:
                return [(train, size)]
    return []


def _raw_corners(d: Dimension) -> tuple[Any, ...]:
    return d.choices or (d.low, d.high)


def _combinations(corners: list[list[Any]]) -> Iterable[tuple[Any, ...]]:
    """Every combination of one corner per field; past MAX_CORNERS combinations, each corner alone."""
    if math.prod(len(c) for c in corners) > MAX_CORNERS:
        return ((corner,) for corner in itertools.chain.from_iterable(corners))
    return itertools.product(*corners)


def _role(raw: list[Dimension], field: str, index: int) -> str:
    dimension = next(d for d in raw if d.field == field)
    return f"choice {shown(dimension.choices[index])}" if dimension.choices else ("low", "high")[index]


def _kind(field: str) -> type:
    return {"str": str, "int": int, "float": float, "bool": bool}.get(FIELDS[field].type, tuple)


def _label(value: Any) -> Any:
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else value


_WORDS = {str: "text", bool: "true or false", tuple: "a list of layer sizes"}
