"""Config validation, ``--set`` parsing, flag precedence and the TOML round trip (pure logic, no torch)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mnist_tui.command import build_parser, resolve
from mnist_tui.engine.config import (
    FIELDS,
    Config,
    ConfigError,
    config_from_mapping,
    field_docs,
    parse_assignment,
    parse_value,
)
from mnist_tui.engine.presets import config_to_toml, list_presets, load_config_file, load_preset


README = Path(__file__).resolve().parent.parent / "README.md"


def write_config(tmp_path: Path, text: str, name: str = "my-run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def resolve_flags(*argv: str):
    return resolve(build_parser().parse_args(list(argv)))


# --- unknown keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("epoch", "epochs"), ("batchsize", "batch_size"), ("activaton", "activation"), ("learning_rat", None)],
)
def test_unknown_key_in_a_file_names_the_key_the_file_and_the_closest_key(
    tmp_path: Path, key: str, suggestion: str | None
) -> None:
    path = write_config(tmp_path, f"{key} = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"unknown key {key!r}" in message
    if suggestion:
        assert f"did you mean {suggestion!r}?" in message
    else:
        assert "did you mean" not in message


def test_unknown_key_in_set_names_set_and_the_closest_key() -> None:
    with pytest.raises(ConfigError, match=r"--set: unknown key 'optimiser' \(did you mean 'optimizer'\?\)"):
        parse_assignment("optimiser=sgd")


def test_tables_in_a_config_file_are_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[training]\nlr = 0.1\n")
    with pytest.raises(ConfigError, match=r"tables such as \[training\]"):
        load_config_file(path)


# --- types and ranges -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('lr = "fast"', "lr must be a number, not 'fast'"),
        ("epochs = 2.5", "epochs must be an integer, not 2.5"),
        ("epochs = true", "epochs must be an integer, not true"),
        ("lr = true", "lr must be a number, not true"),
        ("batch_norm = 1", "batch_norm must be true or false, not 1"),
        ("hidden = 512", "hidden must be a list of integers such as [512, 256], not 512"),
        ("hidden = [512, 2.5]", "hidden must be a list of integers"),
        ("activation = 3", "activation must be a string, not 3"),
    ],
)
def test_wrong_type_in_a_file_names_the_field_and_the_type(tmp_path: Path, line: str, expected: str) -> None:
    path = write_config(tmp_path, line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"lr": -0.1}, "lr must be greater than 0, not -0.1"),
        ({"lr": 0.0}, "lr must be greater than 0, not 0.0"),
        ({"lr": float("nan")}, "lr must be greater than 0, not nan"),
        ({"lr": float("inf")}, "lr must be greater than 0, not inf"),
        ({"hidden": [512, 0]}, "hidden sizes must be between 1 and 65536, not 0"),
        ({"hidden": []}, "hidden must list at least one layer size"),
        ({"batch_size": 0}, "batch_size must be between 1 and 1000000, not 0"),
        ({"epochs": 0}, "epochs must be between 1 and 100000, not 0"),
        ({"dropout": 1.0}, "dropout must be at least 0 and below 1, not 1.0"),
        ({"momentum": -0.5}, "momentum must be at least 0 and below 1, not -0.5"),
        ({"holdout_fraction": 0.0}, "holdout_fraction must be greater than 0 and below 1, not 0.0"),
        ({"gamma": 1.5}, "gamma must be greater than 0 and at most 1, not 1.5"),
        ({"gallery_size": 101}, "gallery_size must be between 0 and 100, not 101"),
        ({"mistakes_per_cell": -1}, "mistakes_per_cell must be between 0 and 100, not -1"),
        ({"weight_units": 65537}, "weight_units must be between 0 and 65536, not 65537"),
        ({"seed": -1}, "seed must be between 0 and 9223372036854775807, not -1"),
        ({"optimizer": "sgdd"}, "optimizer must be one of sgd, adagrad, rmsprop, adadelta, adam, adamw, radam, not 'sgdd' (did you mean 'sgd'?)"),
        ({"device": "gpu"}, "device must be auto, cpu, cuda, cuda:N or mps, not 'gpu'"),
        ({"name": "my run"}, "name must be 1 to 64 letters, digits"),
        ({"name": ".hidden"}, "name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, not '.hidden'"),  # a hidden folder `runs` missed
        ({"name": "-y"}, "name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, not '-y'"),  # --resume -y-2026... read as a flag
        ({"nesterov": True}, "nesterov needs optimizer = 'sgd' and momentum > 0"),
        ({"split_shuffle": "numpy"}, "split_shuffle must be one of torch, sklearn, not 'numpy'"),
        (
            {"split_shuffle": "sklearn", "split_seed": 2**32},
            "split_seed must be below 2**32 with split_shuffle = 'sklearn' (numpy's seeds), not 4294967296",
        ),
    ],
)
def test_out_of_range_values_name_the_field_and_what_is_allowed(changes: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(changes, source="test.toml")
    assert str(caught.value).startswith(f"test.toml: {expected}")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"batch_norm": True, "batch_size": 1},
         "batch_size must be at least 2 with batch_norm = true (batch norm cannot train on a batch of one digit), not 1"),
        ({"batch_norm": True, "batch_size": 64, "train_limit": 129},
         "batch_size 64 leaves a last batch of 1 digit (129 training digits), and batch norm cannot train on a batch of "
         "one digit; set drop_last = true or change batch_size"),
        ({"batch_norm": True, "batch_size": 64, "eval_split": "holdout", "holdout_fraction": 0.4997083, "split_shuffle": "sklearn"},
         "batch_size 64 leaves a last batch of 1 digit (30,017 training digits)"),  # 29,982.498 held out, rounded up
        ({"batch_norm": True, "train_limit": 1}, "train_limit = 1 leaves one training digit, and batch norm cannot train"
         " on a batch of one digit; raise it"),
        ({"batch_norm": True, "eval_split": "holdout", "holdout_fraction": 0.99998},  # QA: it said "raise it"
         "holdout_fraction = 0.99998 leaves one training digit, and batch norm cannot train on a batch of one digit; lower it"),
        ({"drop_last": True, "batch_size": 300, "train_limit": 200},
         "batch_size 300 with drop_last leaves no batch of the 200 training digits; lower batch_size or set drop_last = false"),
        ({"drop_last": True, "batch_size": 70_000, "eval_split": "pooled"},
         "batch_size 70000 with drop_last leaves no batch of the 56,000 training digits"),
        ({"eval_split": "holdout", "holdout_fraction": 1e-9},
         "holdout_fraction = 1e-09 holds out no digit of the 60,000 (the evaluation set is empty); raise it"),
        ({"eval_split": "pooled", "holdout_fraction": 0.9999999},
         "holdout_fraction = 0.9999999 holds out every digit of the 70,000 (no training digits are left); lower it"),
    ],
)
def test_rules_between_the_split_and_the_batches_refuse_the_config(changes: dict, expected: str) -> None:
    """The trainer refused them only once the data was loaded: the form took them, and a sweep's trials failed one by one."""
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(changes, source="form")
    message = str(caught.value)
    assert message.startswith(f"form: {expected}") and "\n" not in message
    field = message.removeprefix("form: ").split()[0]
    assert field in FIELDS  # the form shows it under that field
    with pytest.raises(ConfigError, match=re.escape(expected)):
        resolve_flags(*(arg for key, value in changes.items() for arg in ("--set", f"{key}={str(value).lower()}")))


def test_the_same_split_and_batches_pass_where_no_batch_is_lost() -> None:
    assert config_from_mapping({"batch_norm": True, "batch_size": 64, "train_limit": 129, "drop_last": True}, source="t")
    assert config_from_mapping({"batch_norm": True, "batch_size": 64, "train_limit": 130}, source="t")
    assert config_from_mapping({"drop_last": True, "batch_size": 200, "train_limit": 200}, source="t")
    # The torch split rounds 29,982.498 held-out digits to nearest: 30,018 train, a last batch of 2.
    assert config_from_mapping({"batch_norm": True, "eval_split": "holdout", "holdout_fraction": 0.4997083}, source="t")


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 0.1  # type: ignore[misc]


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    config = config_from_mapping({"lr": 1, "dropout": 0}, source="test")
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert isinstance(config.dropout, float)


def test_replace_validates_like_any_other_input() -> None:
    with pytest.raises(ConfigError, match="^flags: lr must be greater than"):
        Config().replace(source="flags", lr=-1.0)
    assert Config().replace(lr=0.5).lr == 0.5


def test_every_field_has_a_one_line_docstring() -> None:
    docs = field_docs()
    assert set(docs) == set(FIELDS)
    assert all(doc and "\n" not in doc for doc in docs.values())


def readme_defaults() -> dict[str, str]:
    """The README's table of configuration fields: key -> default as written there."""
    section = README.read_text(encoding="utf-8").split("## Configuration fields")[1].split("\n## ")[0]
    documented: dict[str, str] = {}
    for row in section.splitlines():
        if row.startswith("| `"):
            keys, defaults = (re.findall(r"`([^`]+)`", cell) for cell in row.split("|")[1:3])
            documented.update(zip(keys, defaults * len(keys) if len(defaults) == 1 else defaults, strict=True))
    return documented


def test_the_readme_documents_every_field_with_its_default() -> None:
    documented = readme_defaults()
    assert set(documented) == set(FIELDS) - {"name"}
    defaults = Config()
    assert {key: parse_value(key, text) for key, text in documented.items()} == {
        key: getattr(defaults, key) for key in documented
    }


# --- --set parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("hidden", "512,256", (512, 256)),
        ("hidden", "[512, 256]", (512, 256)),
        ("hidden", "512 256 128", (512, 256, 128)),
        ("hidden", "64", (64,)),
        ("lr", "1e-3", 0.001),
        ("lr", " 0.5 ", 0.5),
        ("epochs", "1000", 1000),
        ("epochs", "+3", 3),
        ("seed", "-1", -1),  # parsed, then refused by the field's range
        ("lr", ".5", 0.5),
        ("lr", "5E-1", 0.5),
        ("weight_decay", "0", 0.0),
        ("batch_norm", "true", True),
        ("batch_norm", "Yes", True),
        ("batch_norm", "on", True),
        ("batch_norm", "1", True),
        ("drop_last", "false", False),
        ("drop_last", "NO", False),
        ("drop_last", "off", False),
        ("drop_last", "0", False),
        ("device", "cuda:1", "cuda:1"),
        ("optimizer", "sgd", "sgd"),
    ],
)
def test_set_values_are_parsed_to_the_fields_type(key: str, text: str, value: object) -> None:
    parsed = parse_value(key, text)
    assert parsed == value
    assert type(parsed) is type(value)
    assert parse_assignment(f"{key}={text}") == (key, value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("epochs=two", "epochs must be an integer, not 'two'"),
        ("epochs=2.5", "epochs must be an integer, not '2.5'"),
        ("lr=fast", "lr must be a number, not 'fast'"),
        ("batch_norm=maybe", "batch_norm must be true or false, not 'maybe'"),
        ("hidden=512,abc", "hidden must be a list of integers such as 512,256, not '512,abc'"),
        # Numbers are plain decimal only: int() and float() take Python's underscores (1_0 trained
        # 10 epochs, while 1e3 was refused), other scripts' digits, nan and infinity.
        ("epochs=1_0", "epochs must be an integer, not '1_0'"),
        ("epochs=1e3", "epochs must be an integer, not '1e3'"),
        ("seed=\uff15", "seed must be an integer, not '\uff15'"),  # a full-width 5
        ("hidden=1_6,8", "hidden must be a list of integers such as 512,256, not '1_6,8'"),
        ("lr=1_0.5", "lr must be a number, not '1_0.5'"),
        ("lr=0.0_1", "lr must be a number, not '0.0_1'"),
        ("lr=nan", "lr must be a number, not 'nan'"),
        ("diverge_above=infinity", "diverge_above must be a number, not 'infinity'"),
    ],
)
def test_set_values_of_the_wrong_type_name_the_field_and_the_type(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_assignment(text)
    assert str(caught.value) == f"--set {text}: {expected}"


@pytest.mark.parametrize("text", ["lr", "=0.1", ""])
def test_set_needs_key_equals_value(text: str) -> None:
    with pytest.raises(ConfigError, match="--set expects KEY=VALUE"):
        parse_assignment(text)


# --- which flags override the preset --------------------------------------------------------


def test_only_typed_flags_override_the_preset() -> None:
    options = resolve_flags("--preset", "sigmoid-sgd", "--epochs", "2")
    expected = load_preset("sigmoid-sgd").replace(epochs=2)
    assert options.config == expected
    assert (options.config.lr, options.config.batch_size, options.config.momentum) == (0.01, 32, 0.5)
    assert options.config.activation == "sigmoid" and options.config.epochs == 2


def test_set_seed_and_device_flags_apply_on_top_of_the_preset() -> None:
    options = resolve_flags(
        "--preset", "relu-adam-500", "--set", "lr=0.0005", "--set", "hidden=256,128", "--seed", "0", "--device", "cpu"
    )
    expected = load_preset("relu-adam-500").replace(lr=0.0005, hidden=(256, 128), seed=0, device="cpu")
    assert options.config == expected


def test_no_preset_means_the_default_preset() -> None:
    options = resolve_flags()
    assert options.preset == "relu-adam-500"
    assert options.config == load_preset("relu-adam-500")
    assert not options.explicit


def test_a_config_file_is_the_base_for_set(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'optimizer = "sgd"\nlr = 0.2\nmomentum = 0.9\nbatch_size = 16\n')
    options = resolve_flags("--config", str(path), "--set", "lr=0.05")
    assert (options.config.optimizer, options.config.lr, options.config.momentum) == ("sgd", 0.05, 0.9)
    assert options.config.batch_size == 16
    assert options.config.name == "my-run"
    assert options.explicit


def test_the_last_of_repeated_set_flags_wins() -> None:
    assert resolve_flags("--preset", "smoke", "--set", "lr=0.1", "--set", "lr=0.2").config.lr == 0.2


@pytest.mark.parametrize("flag", [["--seed", "0"], ["--seed", "7"], ["--device", "cpu"], ["--set", "lr=0.1"]])
def test_resume_rejects_flags_that_would_change_the_saved_config(flag: list[str]) -> None:
    """``--seed 0`` is a flag the user typed, too: it must not be silently ignored because 0 is falsy."""
    with pytest.raises(ConfigError, match=f"drop {flag[0]}"):
        resolve_flags("--resume", "runs/x", *flag)


def test_resume_takes_epochs_as_the_new_total(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(config_to_toml(Config()))  # a run folder: its config is read up front
    options = resolve_flags("--resume", str(tmp_path), "--epochs", "4")
    assert (options.resume, options.resume_epochs) == (str(tmp_path), 4)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--epochs", "0"], "epochs must be between 1 and 100000, not 0"),
        (["--resume", "runs/x", "--epochs", "0"], "--epochs must be at least 1, not 0"),
        (["--fail-under", "101"], "--fail-under must be a percentage between 0 and 100"),
    ],
)
def test_bad_flag_values_are_config_errors(argv: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_flags(*argv)
    assert expected in str(caught.value)


# --- the resolved config round-trips through TOML --------------------------------------------


ODD_CONFIG = Config(
    name="odd.name_1",
    dataset="fashion-mnist",
    eval_split="pooled",
    holdout_fraction=1 / 7,
    split_seed=3,
    split_shuffle="sklearn",
    train_limit=123,
    eval_limit=45,
    hidden=(7, 5, 3),
    activation="leaky_relu",
    batch_norm=True,
    dropout=0.25,
    init="lecun",
    optimizer="sgd",
    lr=1e-5,
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    schedule="cosine",
    step_epochs=2,
    gamma=0.5,
    batch_size=17,
    drop_last=True,
    epochs=9,
    seed=2**40,
    device="cuda:1",
    cuda_graphs=False,
    diverge_above=1e300,
    report_every=3,
    gallery_size=0,
    inspect=False,
    mistakes_per_cell=1,
    weight_units=0,
)


def test_the_odd_config_changes_every_field() -> None:
    defaults = Config()
    assert all(getattr(ODD_CONFIG, name) != getattr(defaults, name) for name in FIELDS)


@pytest.mark.parametrize("config", [Config(), ODD_CONFIG, *(load_preset(name) for name in list_presets())])
def test_config_round_trips_through_toml(tmp_path: Path, config: Config) -> None:
    path = write_config(tmp_path, config_to_toml(config), name="config.toml")
    assert load_config_file(path) == config


@pytest.mark.parametrize("text", ["64,,32", "64,", ",64", "64, ,32"])
def test_an_empty_layer_size_is_refused_not_skipped(text: str) -> None:
    """``--set hidden=64,,32`` trained a 64-32 model: the empty item was taken for a separator."""
    with pytest.raises(ConfigError, match=r"hidden must be a list of integers such as 512,256, not"):
        parse_value("hidden", text)


@pytest.mark.parametrize("text", ["512,256", "512 256", "512, 256", "[512, 256]", " 512 ,256 "])
def test_layer_sizes_are_separated_by_commas_or_spaces(text: str) -> None:
    assert parse_value("hidden", text) == (512, 256)


def test_a_number_too_large_for_a_float_is_named_as_typed() -> None:
    """QA: ``lr=1e400`` said "lr must be in (0, inf), not inf", a value nobody typed."""
    with pytest.raises(ConfigError, match=r"^lr = '1e400' is too large for a number \(at most about 1.8e308\)$"):
        parse_value("lr", "1e400")
    assert parse_value("lr", "1e300") == 1e300
