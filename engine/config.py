"""The one training configuration: a frozen dataclass, validated on construction.

Preset files, ``--config`` files, ``--set KEY=VALUE`` overrides and the dashboard's form all go
through :func:`config_from_mapping` and :func:`parse_value`, so every front end gives the same
messages for the same mistakes.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import math
import re
import reprlib
from dataclasses import dataclass
from typing import Any, Mapping

ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "leaky_relu", "elu", "silu")
INITS = ("default", "kaiming_uniform", "kaiming_normal", "lecun", "xavier_uniform", "xavier_normal")
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "radam")
SCHEDULES = ("constant", "step", "cosine")
DATASETS = ("mnist", "fashion-mnist")
EVAL_SPLITS = ("test", "holdout", "pooled")
SPLIT_SHUFFLES = ("torch", "sklearn")
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d{1,3})?")
"""Matched in full (``fullmatch``: a trailing newline is not let through)."""
MAX_LAYERS = 64
MAX_EPOCHS = 100_000
"""The most epochs a run trains (and a summary can count)."""
MAX_NAME = 64
NAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME - 1}}}")
"""A run's name starts its folder's name: a leading '.' hides the folder, a leading '-' reads as a flag."""
TRAIN_DIGITS = 60_000
"""Training digits of either dataset (MNIST and Fashion-MNIST both hold 60,000, and 10,000 test digits)."""
SPLIT_POOLS = {"test": TRAIN_DIGITS, "holdout": TRAIN_DIGITS, "pooled": TRAIN_DIGITS + 10_000}
"""The digits each eval_split divides into training and evaluation digits (test: none are held out)."""
INTEGER_PATTERN = re.compile(r"[+-]?[0-9]+")
NUMBER_PATTERN = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""Numbers as ``--set`` and the form take them, in plain decimal notation (1000, 0.001, 1e-3):
``int()`` and ``float()`` also take ``1_0``, ``nan`` and other scripts' digits."""


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says where and what is allowed."""


@dataclass(frozen=True)
class Config:
    """Every hyperparameter of a training run."""

    name: str = "custom"
    """Label of the run; the run folder's name starts with it."""
    dataset: str = "mnist"
    """Dataset: mnist or fashion-mnist."""
    eval_split: str = "test"
    """What is evaluated: test (official 10k test set), holdout (part of the 60k training set) or pooled (part of all 70k digits)."""
    holdout_fraction: float = 0.2
    """Share of the pool held out for evaluation when eval_split is holdout or pooled."""
    split_seed: int = 0
    """Seed of the holdout split, fixed apart from the training seed."""
    split_shuffle: str = "torch"
    """How the holdout split shuffles the pool: torch (torch.randperm) or sklearn (scikit-learn's train_test_split with random_state = split_seed: the digits the sources held out)."""
    train_limit: int = 0
    """Train on only the first N training digits (0: all of them)."""
    eval_limit: int = 0
    """Evaluate on only the first N evaluation digits (0: all of them)."""
    hidden: tuple[int, ...] = (512, 256)
    """Hidden layer sizes, input to output, such as 512,256."""
    activation: str = "relu"
    """Activation after each hidden layer."""
    batch_norm: bool = False
    """Batch normalisation after each hidden linear layer."""
    dropout: float = 0.0
    """Dropout probability after each hidden activation."""
    init: str = "default"
    """Weight initialisation of the linear layers (default: PyTorch's own)."""
    optimizer: str = "adam"
    """Optimizer."""
    lr: float = 0.001
    """Learning rate."""
    momentum: float = 0.0
    """Momentum (SGD and RMSprop)."""
    nesterov: bool = False
    """Nesterov momentum (SGD; needs momentum > 0)."""
    weight_decay: float = 0.0
    """L2 weight decay (decoupled for AdamW)."""
    schedule: str = "constant"
    """Learning-rate schedule per epoch: constant, step or cosine."""
    step_epochs: int = 5
    """Epochs between learning-rate drops (step schedule)."""
    gamma: float = 0.1
    """Factor of each learning-rate drop (step schedule)."""
    batch_size: int = 64
    """Training batch size."""
    drop_last: bool = False
    """Drop the last incomplete batch of each epoch."""
    epochs: int = 5
    """Epochs to train."""
    seed: int = 0
    """Seed of weights, shuffling and dropout."""
    device: str = "auto"
    """Device: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps."""
    cuda_graphs: bool = True
    """On CUDA, replay each training step as a captured CUDA graph (same maths, far less launch overhead)."""
    diverge_above: float = 1000.0
    """Mean batch loss above which the run counts as diverged, as it does for NaN or infinity."""
    report_every: int = 25
    """Batches between loss reports."""
    gallery_size: int = 10
    """Evaluation digits shown with their predictions after each epoch."""
    inspect: bool = True
    """Inspect each evaluation: confusion counts, the most confident mistakes, first-layer weights and per-layer statistics."""
    mistakes_per_cell: int = 3
    """Most confident mistakes kept per (true, predicted) pair at each inspection."""
    weight_units: int = 32
    """First-layer units whose incoming weights are shown as 28x28 images (the first N units)."""

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("eval_split", self.eval_split, EVAL_SPLITS)
        _check_choice("split_shuffle", self.split_shuffle, SPLIT_SHUFFLES)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("init", self.init, INITS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("schedule", self.schedule, SCHEDULES)
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps, not {shown(self.device)}")
        if not NAME_PATTERN.fullmatch(self.name):
            raise ConfigError(
                f"name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, not {shown(self.name)}"
            )
        if not self.hidden:
            raise ConfigError("hidden must list at least one layer size, such as 512,256")
        if len(self.hidden) > MAX_LAYERS:
            raise ConfigError(f"hidden must list at most {MAX_LAYERS} layer sizes, not {len(self.hidden)}")
        for size in self.hidden:
            if not 1 <= size <= 65536:
                raise ConfigError(f"hidden sizes must be between 1 and 65536, not {shown(size)}")
        _check_range("holdout_fraction", self.holdout_fraction, low=0.0, high=1.0, open_low=True, open_high=True)
        _check_range("dropout", self.dropout, low=0.0, high=1.0, open_high=True)
        _check_range("lr", self.lr, low=0.0, high=math.inf, open_low=True)
        _check_range("momentum", self.momentum, low=0.0, high=1.0, open_high=True)
        _check_range("weight_decay", self.weight_decay, low=0.0, high=math.inf)
        _check_range("gamma", self.gamma, low=0.0, high=1.0, open_low=True)
        _check_range("batch_size", self.batch_size, low=1, high=1_000_000)
        _check_range("epochs", self.epochs, low=1, high=MAX_EPOCHS)
        _check_range("train_limit", self.train_limit, low=0, high=10_000_000)
        _check_range("eval_limit", self.eval_limit, low=0, high=10_000_000)
        _check_range("step_epochs", self.step_epochs, low=1, high=MAX_EPOCHS)
        _check_range("diverge_above", self.diverge_above, low=0.0, high=math.inf, open_low=True)
        _check_range("report_every", self.report_every, low=1, high=1_000_000)
        _check_range("gallery_size", self.gallery_size, low=0, high=100)
        _check_range("mistakes_per_cell", self.mistakes_per_cell, low=0, high=100)
        _check_range("weight_units", self.weight_units, low=0, high=65536)
        _check_range("seed", self.seed, low=0, high=2**63 - 1)
        _check_range("split_seed", self.split_seed, low=0, high=2**63 - 1)
        if self.split_shuffle == "sklearn" and self.split_seed >= 2**32:
            raise ConfigError(f"split_seed must be below 2**32 with split_shuffle = 'sklearn' (numpy's seeds), not {self.split_seed}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ConfigError("nesterov needs optimizer = 'sgd' and momentum > 0")
        _check_batches(self)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain TOML/JSON-ready values (hidden as a list)."""
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    def replace(self, source: str = "config", **changes: Any) -> Config:
        """A copy with ``changes`` applied and validated like any other input (errors name ``source``)."""
        return config_from_mapping(changes, source=source, base=self)


def held_out_digits(pool: int, fraction: float, split_shuffle: str) -> int:
    """How many of ``pool`` digits the holdout split holds out: scikit-learn rounds up, the torch split to nearest."""
    held = pool * fraction
    return math.ceil(held) if split_shuffle == "sklearn" else round(held)


def train_digits(config: Config) -> int:
    """The training digits a config trains on: its split's pool less the holdout, at most ``train_limit``."""
    pool = SPLIT_POOLS[config.eval_split]
    if config.eval_split != "test":
        pool -= held_out_digits(pool, config.holdout_fraction, config.split_shuffle)
    return min(config.train_limit, pool) if config.train_limit else pool


def _check_batches(config: Config) -> None:
    """The rules that tie the split to the batches (a field's name first, for the form): without them a
    run is refused only once its data is loaded, and a sweep's trials fail one by one."""
    size, fraction = config.batch_size, config.holdout_fraction
    if config.eval_split != "test":
        pool = SPLIT_POOLS[config.eval_split]
        held = held_out_digits(pool, fraction, config.split_shuffle)
        if held == 0:
            raise ConfigError(
                f"holdout_fraction = {fraction!r} holds out no digit of the {pool:,} (the evaluation set is empty); raise it"
            )
        if held == pool:
            raise ConfigError(
                f"holdout_fraction = {fraction!r} holds out every digit of the {pool:,} (no training digits are left); lower it"
            )
    train = train_digits(config)
    if config.drop_last and train < size:
        raise ConfigError(
            f"batch_size {size} with drop_last leaves no batch of the {train:,} training digits; "
            "lower batch_size or set drop_last = false"
        )
    if not config.batch_norm:
        return
    if size == 1:
        raise ConfigError("batch_size must be at least 2 with batch_norm = true (batch norm cannot train on a batch of one digit), not 1")
    if train == 1:
        limit, fix = ("train_limit = 1", "raise it") if config.train_limit == 1 else (f"holdout_fraction = {fraction!r}", "lower it")
        raise ConfigError(f"{limit} leaves one training digit, and batch norm cannot train on a batch of one digit; {fix}")
    if train % size == 1 and not config.drop_last:
        raise ConfigError(
            f"batch_size {size} leaves a last batch of 1 digit ({train:,} training digits), and batch norm cannot train "
            "on a batch of one digit; set drop_last = true or change batch_size"
        )


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": DATASETS,
    "eval_split": EVAL_SPLITS,
    "split_shuffle": SPLIT_SHUFFLES,
    "activation": ACTIVATIONS,
    "init": INITS,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
}


@functools.cache
def field_docs() -> dict[str, str]:
    """Each field's one-line docstring, read from this module's source (for help texts)."""
    try:
        tree = ast.parse(inspect.getsource(Config))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, following in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = following.value.value.strip()
    return docs


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        hint = _did_you_mean(str(value), allowed)
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {shown(value)}{hint}")


def _check_range(
    name: str,
    value: float,
    *,
    low: float,
    high: float,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    below = value <= low if open_low else value < low
    above = value >= high if open_high else value > high
    if isinstance(value, float) and not math.isfinite(value) or below or above:
        raise ConfigError(f"{name} must be {_range_words(low, high, open_low, open_high)}, not {shown(value)}")


def _range_words(low: float, high: float, open_low: bool, open_high: bool) -> str:
    """A range in words (QA: ``(0, inf)`` read as notation): ``greater than 0``, ``between 1 and 100``,
    ``at least 0 and below 1``."""
    lower = f"greater than {_bound(low)}" if open_low else f"at least {_bound(low)}"
    if high == math.inf:
        return lower
    if not open_low and not open_high:
        return f"between {_bound(low)} and {_bound(high)}"
    return f"{lower} and {'below' if open_high else 'at most'} {_bound(high)}"


def _bound(limit: float) -> str:
    # Integer fields show their limits in full (1000000, not 1e+06, which reads as a float).
    if limit == math.inf:
        return "inf"
    return f"{limit:g}" if isinstance(limit, float) else str(limit)


class _ShortRepr(reprlib.Repr):
    """reprlib's short repr, with booleans as a config file writes them (true, false), not as Python does."""

    def repr_bool(self, value: bool, level: int) -> str:
        return "true" if value else "false"


_SHORT = _ShortRepr()


def shown(value: object) -> str:
    """A value as an error message quotes it: short, however long or deep the value is (true, not True)."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an integer past Python's limit on converting to text
        return f"an integer of {value.bit_length():,} bits"  # type: ignore[attr-defined]


def _did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(name: str) -> type:
    annotation = FIELDS[name].type
    return {"str": str, "int": int, "float": float, "bool": bool, "tuple[int, ...]": tuple}[annotation]


def _coerce(name: str, value: Any) -> Any:
    """Check one value's type against its field; ints are accepted where floats are."""
    kind = _kind(name)
    if kind is tuple:
        if isinstance(value, str):
            return parse_value(name, value)
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return tuple(value)
        raise ConfigError(f"{name} must be a list of integers such as [512, 256], not {shown(value)}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise ConfigError(f"{name} = {shown(value)} is too large for a number") from None
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{name} must be {_KIND_WORDS[kind]}, not {shown(value)}")
    return value


_KIND_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def parse_value(name: str, text: str) -> Any:
    """Parse a field's value from text, as typed after ``--set KEY=`` or into the form."""
    check_key(name, source="--set")
    kind = _kind(name)
    text = text.strip()
    try:
        if kind is tuple:
            inner = text.strip("[]() ")
            if not inner:
                return ()  # the config says a layer is needed
            # Commas or spaces between sizes; an empty item (64,,32) is a typo, not a separator.
            return tuple(_integer(p) for p in re.split(r"\s*,\s*|\s+", inner))
        if kind is bool:
            lowered = text.lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise ValueError(text)
        if kind is int:
            return _integer(text)
        if kind is float:
            return _number(text)
    except OverflowError:
        raise ConfigError(f"{name} = {shown(text)} is too large for a number (at most about 1.8e308)") from None
    except ValueError:
        example = {tuple: "a list of integers such as 512,256", bool: "true or false"}
        raise ConfigError(f"{name} must be {example.get(kind) or _KIND_WORDS[kind]}, not {shown(text)}") from None
    return text


def _integer(text: str) -> int:
    """An integer in plain decimal notation; a ValueError for anything else (``1_0``, ``1e3``)."""
    if not INTEGER_PATTERN.fullmatch(text):
        raise ValueError(text)
    return int(text)  # a ValueError past Python's 4,300 digits too


def _number(text: str) -> float:
    """A number in plain decimal notation, with an exponent or not; a ValueError for anything else (``nan``, ``1_0.5``)."""
    if not NUMBER_PATTERN.fullmatch(text):
        raise ValueError(text)
    value = float(text)
    if math.isinf(value):  # 1e400: beyond a float, which would read as inf
        raise OverflowError(text)
    return value


def check_key(name: str, *, source: str) -> None:
    """Raise a ConfigError naming ``source`` and the closest field if ``name`` is no field."""
    if name not in FIELDS:
        raise ConfigError(f"{source}: unknown key {shown(name)}{_did_you_mean(name, list(FIELDS))}")


def config_from_mapping(
    data: Mapping[str, Any], *, source: str, base: Config | None = None
) -> Config:
    """Build a Config from ``base`` (the defaults) updated by ``data``, naming ``source`` in errors."""
    values = (base or Config()).to_dict()
    for key, value in data.items():
        check_key(key, source=source)
        try:
            values[key] = _coerce(key, value)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None
    values["hidden"] = tuple(values["hidden"])
    try:
        return Config(**values)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split and parse a ``KEY=VALUE`` override."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects KEY=VALUE, not {shown(text)}")
    check_key(key, source="--set")
    try:
        return key, parse_value(key, value)
    except ConfigError as error:
        raise ConfigError(f"--set {shown(text)[1:-1]}: {error}") from None
