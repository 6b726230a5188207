"""Search space files: checked by the config's own rules, suggested through Optuna's trial API."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_tui.engine.config import Config, ConfigError
from mnist_tui.engine.presets import load_preset
from mnist_tui.engine.space import SearchSpace, load_space, space_from_mapping

ISSUE_EXAMPLE = """
lr = { low = 1e-4, high = 1e-1, log = true }
batch_size = { low = 32, high = 256, step = 32 }
optimizer = { choices = ["adam", "sgd"] }
hidden = { choices = [[100, 100], [512, 256]] }
"""


@pytest.fixture
def base() -> Config:
    return load_preset("smoke")


def check(data: dict, base: Config) -> str:
    with pytest.raises(ConfigError) as caught:
        space_from_mapping(data, base, source="S.toml")
    return str(caught.value)


def test_the_issue_example_reads_as_typed_dimensions(tmp_path: Path, base: Config) -> None:
    path = tmp_path / "space.toml"
    path.write_text(ISSUE_EXAMPLE)
    space = load_space(path, base)
    assert space.fields == ("lr", "batch_size", "optimizer", "hidden")
    lr, batch, optimizer, hidden = space.dimensions
    assert (lr.low, lr.high, lr.log, lr.step) == (1e-4, 1e-1, True, None)
    assert (batch.low, batch.high, batch.step) == (32, 256, 32) and isinstance(batch.low, int)
    assert optimizer.choices == ("adam", "sgd")
    assert hidden.choices == ((100, 100), (512, 256))
    assert hidden.labels == ("100,100", "512,256")  # Optuna's choices are plain values


def test_an_int_field_takes_int_bounds_and_a_float_field_widens_ints(base: Config) -> None:
    space = space_from_mapping({"dropout": {"low": 0, "high": 0.5}}, base, source="S.toml")
    assert space.dimensions[0].low == 0.0 and isinstance(space.dimensions[0].low, float)
    assert "batch_size low: batch_size must be an integer, not 32.5" in check({"batch_size": {"low": 32.5, "high": 64}}, base)


def test_every_trial_is_a_whole_config_with_the_trials_values(base: Config) -> None:
    optuna = pytest.importorskip("optuna")
    space = space_from_mapping(
        {"lr": {"low": 1e-4, "high": 1e-1, "log": True}, "hidden": {"choices": [[32], [64, 32]]}}, base, source="S.toml"
    )
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        values = space.suggest(trial)
        config = space.config_for(base, trial.params, name=f"s-t{trial.number:04d}")
        assert isinstance(config, Config)
        assert config.lr == values["lr"] and 1e-4 <= config.lr <= 1e-1
        assert config.hidden == values["hidden"] and config.hidden in ((32,), (64, 32))
        assert config.train_limit == base.train_limit and config.name == f"s-t{trial.number:04d}"
        seen.add(config.hidden)
        study.tell(trial, 1.0)
    assert seen == {(32,), (64, 32)}
    assert study.trials[0].distributions["hidden"].choices == ("32", "64,32")


def test_an_unknown_field_names_the_file_and_the_closest_field(base: Config) -> None:
    assert check({"lrr": {"low": 1e-4, "high": 1e-2}}, base) == "S.toml: unknown key 'lrr' (did you mean 'lr'?)"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"lr": {"low": 0.1, "high": 0.001}}, "S.toml: lr: low (0.1) must be below high (0.001)"),
        ({"lr": {"choices": []}}, "S.toml: lr: choices must be a non-empty list, not []"),
        ({"lr": {"low": 0, "high": 0.1}}, "S.toml: lr low: lr must be greater than 0, not 0.0"),
        ({"dropout": {"low": 0.0, "high": 1.0}}, "S.toml: dropout high: dropout must be at least 0 and below 1, not 1.0"),
        ({"hidden": {"choices": [[0]]}}, "S.toml: hidden choice [0]: hidden sizes must be between 1 and 65536, not 0"),
        ({"weight_decay": {"low": 0, "high": 0.1, "log": True}}, "S.toml: weight_decay: a log range needs low > 0, not 0.0"),
        ({"batch_size": {"low": 32, "high": 256, "step": 30}}, "S.toml: batch_size: high - low (224) must be a multiple of step (30)"),
        ({"optimizer": {"low": 1, "high": 2}}, "S.toml: optimizer is text: search it with choices = [...], not a range"),
        ({"lr": {"low": 1e-3}}, "S.toml: lr: a range needs low and high (missing high)"),
        ({"lr": {"low": 1e-3, "high": 1e-1, "log": True, "step": 0.01}}, "S.toml: lr: a range takes log or step, not both"),
        ({"lr": 0.01}, "S.toml: lr must be a table such as { low = 1, high = 10 } or { choices = [...] }, not 0.01"),
        ({"name": {"choices": ["a", "b"]}}, "S.toml: name cannot be searched: each trial's name is the study's name and its number"),
        ({}, "S.toml: searches nothing; add entries such as lr = { low = 1e-4, high = 1e-1, log = true }"),
        ({"hidden": {"choices": [[10, 10], "10,10"]}}, "S.toml: hidden: '10,10' is listed twice among the choices"),
    ],
)
def test_a_bad_entry_says_what_is_allowed(data: dict, message: str, base: Config) -> None:
    assert check(data, base) == message


def test_a_choice_the_field_forbids_names_the_choices(base: Config) -> None:
    message = check({"optimizer": {"choices": ["adam", "sgdd"]}}, base)
    assert message.startswith("S.toml: optimizer choice 'sgdd': optimizer must be one of sgd, adagrad")
    assert "(did you mean 'sgd'?)" in message


def test_fields_tied_by_a_rule_are_checked_together(base: Config) -> None:
    # nesterov = true is invalid on the base (adam, momentum 0) but valid with what the space searches.
    ok = {"optimizer": {"choices": ["sgd"]}, "momentum": {"low": 0.5, "high": 0.9}, "nesterov": {"choices": [True, False]}}
    assert space_from_mapping(ok, base, source="S.toml").fields == ("optimizer", "momentum", "nesterov")
    bad = {**ok, "momentum": {"low": 0.0, "high": 0.9}}
    assert check(bad, base) == (
        "S.toml: optimizer = 'sgd', momentum = 0.0, nesterov = true together: "
        "nesterov needs optimizer = 'sgd' and momentum > 0"
    )


def test_the_file_itself_missing_or_malformed(tmp_path: Path, base: Config) -> None:
    with pytest.raises(ConfigError, match="search space file .*nope.toml does not exist"):
        load_space(tmp_path / "nope.toml", base)
    broken = tmp_path / "broken.toml"
    broken.write_text("lr = { low = 1e-4, high = ")
    with pytest.raises(ConfigError, match=r"broken.toml: TOML syntax error"):
        load_space(broken, base)


def test_a_space_round_trips_through_plain_data(tmp_path: Path, base: Config) -> None:
    path = tmp_path / "space.toml"
    path.write_text(ISSUE_EXAMPLE)
    space = load_space(path, base)
    again = space_from_mapping(space.to_dict(), base, source="saved")
    assert again == space and isinstance(again, SearchSpace)


def test_the_corners_are_every_combination_of_the_ends_and_choices(tmp_path: Path, base: Config) -> None:
    """What the sweep checks against memory before its study: the largest model is among them."""
    path = tmp_path / "space.toml"
    path.write_text(ISSUE_EXAMPLE)
    corners = list(load_space(path, base).corners(base))
    assert len(corners) == 2 * 2 * 2 * 2
    assert {(c.lr, c.batch_size, c.optimizer, c.hidden) for c in corners} == {
        (lr, batch, optimizer, hidden)
        for lr in (1e-4, 1e-1) for batch in (32, 256) for optimizer in ("adam", "sgd") for hidden in ((100, 100), (512, 256))
    }
    assert all(c.replace(lr=base.lr, batch_size=base.batch_size, optimizer=base.optimizer, hidden=base.hidden) == base
               for c in corners)  # the rest is the base config's


@pytest.mark.parametrize(
    "changes, data, message",
    [
        # 2,000 training digits less one is 1,999, a prime: batches of 16 to 64 are safe, but not of 1,999.
        ({"batch_norm": True}, {"batch_size": {"low": 16, "high": 2048, "step": 1}},
         "S.toml: batch_size = 1999 (inside its range): batch_size 1999 leaves a last batch of 1 digit (2,000 training "
         "digits), and batch norm cannot train on a batch of one digit; set drop_last = true or change batch_size"),
        ({}, {"batch_norm": {"choices": [False, True]}, "train_limit": {"low": 100, "high": 200}},
         "S.toml: batch_norm = true, train_limit = 129 together: batch_size 64 leaves a last batch of 1 digit (129 "
         "training digits)"),
        # train_limit = 0 trains on all 2,000... of the 60,000: the fewest are at the range's second value.
        ({"train_limit": 0}, {"train_limit": {"low": 0, "high": 1000}, "drop_last": {"choices": [False, True]}},
         "S.toml: train_limit = 1, drop_last = true together: batch_size 64 with drop_last leaves no batch of the 1 "
         "training digits"),
        ({"batch_norm": True, "train_limit": 0, "eval_split": "holdout"}, {"holdout_fraction": {"low": 0.1, "high": 0.3}},
         "S.toml: holdout_fraction = 0.29918333333333336 (inside its range): batch_size 64 leaves a last batch of 1 digit "
         "(42,049 training digits)"),
    ],
    ids=["a batch size inside its range", "a train_limit inside its range", "train_limit from 0", "a holdout fraction"],
)
def test_a_combination_inside_the_ranges_that_breaks_a_rule_is_refused(
    changes: dict, data: dict, message: str, base: Config
) -> None:
    """Every corner of these spaces passes, so each trial that drew the combination failed alone."""
    base = base.replace(**changes)
    assert check(data, base).startswith(message)


def test_a_space_whose_every_combination_keeps_the_rules_is_taken(base: Config) -> None:
    # 1,499 and 1,999 are primes: no batch of 16 to 64 digits leaves one digit over.
    safe = {"batch_norm": {"choices": [False, True]}, "batch_size": {"low": 16, "high": 64}, "train_limit": {"choices": [1500, 2000]}}
    assert space_from_mapping(safe, base, source="S.toml").fields == ("batch_norm", "batch_size", "train_limit")
    with_drop_last = {"batch_norm": {"choices": [True]}, "drop_last": {"choices": [True]}, "train_limit": {"low": 100, "high": 200, "step": 5}}
    assert space_from_mapping(with_drop_last, base, source="S.toml").fields == ("batch_norm", "drop_last", "train_limit")
