"""The wording of ``mnist-tui sweep``'s refusals and help: an empty ``--storage``, values as a TOML file
writes them (``true``, not Python's ``True``), a search space given as a config, and ``--trials 0``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

pytest.importorskip("optuna")

from mnist_tui.engine.config import ConfigError  # noqa: E402
from mnist_tui.engine.presets import load_config_file, load_preset  # noqa: E402
from mnist_tui.engine.space import space_from_mapping  # noqa: E402

SPACE = "lr = { low = 1e-4, high = 1e-1, log = true }\nhidden = { choices = [[16], [32]] }\n"


def test_an_empty_storage_is_called_empty(cli: Callable[..., Any], tmp_path: Path, data_dir: Path) -> None:
    """QA: ``--storage ""`` said "--storage  is a folder" (the empty path read as the current folder)."""
    (tmp_path / "S.toml").write_text(SPACE)
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--trials", "0", "--runs-dir", "runs",
                 "--data-dir", str(data_dir), "--storage", "")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "mnist-tui sweep: error: --storage is empty; name a journal file, such as sweeps.journal, or an SQLAlchemy URL "
        "(or leave it out for RUNS_DIR/sweeps.journal)\n"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "space, message",
    [
        ({"nesterov": {"choices": [True]}}, "S.toml: nesterov choice true: nesterov needs optimizer = 'sgd' and momentum > 0"),
        ({"optimizer": {"choices": ["sgd"]}, "momentum": {"low": 0.0, "high": 0.9}, "nesterov": {"choices": [True, False]}},
         "S.toml: optimizer = 'sgd', momentum = 0.0, nesterov = true together: nesterov needs optimizer = 'sgd' and momentum > 0"),
        ({"batch_norm": {"choices": [True, True]}}, "S.toml: batch_norm: true is listed twice among the choices"),
        ({"epochs": {"choices": [False]}}, "S.toml: epochs choice false: epochs must be an integer, not false"),
        ({"hidden": {"choices": [[16, True]]}}, "S.toml: hidden choice [16, true]: hidden must be a list of integers"),
        ({"lr": True}, "S.toml: lr must be a table such as { low = 1, high = 10 } or { choices = [...] }, not true"),
        ({"batch_norm": {"choices": [True]}, "train_limit": {"low": 129, "high": 130}},
         "S.toml: batch_norm = true, train_limit = 129 together: batch_size 64 leaves a last batch of 1 digit"),
    ],
    ids=["choice", "together", "twice", "wrong type", "in a list", "no table", "reached"],
)
def test_space_errors_write_booleans_as_toml_does(space: dict[str, Any], message: str) -> None:
    """QA: ``nesterov = True`` in a message about a file where it is written ``true``."""
    with pytest.raises(ConfigError) as refused:
        space_from_mapping(space, load_preset("smoke"), source="S.toml")
    assert str(refused.value).startswith(message)


def test_config_errors_write_booleans_as_toml_does(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("epochs = true\n")
    with pytest.raises(ConfigError, match=r"/c\.toml: epochs must be an integer, not true$"):
        load_config_file(tmp_path / "c.toml")


def test_a_search_space_given_as_a_config_is_named_a_search_space(tmp_path: Path) -> None:
    """QA: ``--config space.toml`` said "tables such as [lr] are not used"."""
    (tmp_path / "S.toml").write_text(SPACE)
    with pytest.raises(ConfigError) as refused:
        load_config_file(tmp_path / "S.toml")
    assert str(refused.value) == (
        f"{tmp_path / 'S.toml'}: this looks like a search space (lr has low, high, log): give it to mnist-tui sweep --space; "
        "a config file has plain key = value lines"
    )
    (tmp_path / "t.toml").write_text("[train]\nlr = 0.1\n")
    with pytest.raises(ConfigError, match=r"tables such as \[train\] are not used; write plain key = value lines$"):
        load_config_file(tmp_path / "t.toml")


def test_the_sweep_refuses_a_space_as_its_config_in_one_line(cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "S.toml").write_text(SPACE)
    result = cli("sweep", "--no-ui", "--config", "S.toml", "--space", "S.toml", "--trials", "0", "--runs-dir", "runs")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "mnist-tui sweep: error: S.toml: this looks like a search space (lr has low, high, log): "
        "give it to mnist-tui sweep --space; a config file has plain key = value lines\n"
    )


def test_the_help_says_what_trials_0_timeout_and_workers_do() -> None:
    """QA: the help did not say that ``--trials 0`` runs none and only exports (the README did)."""
    from mnist_tui.sweep import build_parser

    help_text = " ".join(build_parser().format_help().split())
    assert "0 runs none: it shows a study that exists (and exports its best with --export-best)" in help_text
    assert "start no trial after SECONDS, counted from this command's start" in help_text
    assert "exit 1 if it passes before any worker was ready to start one" in help_text
    assert "at most 4 per core, and as many as the free memory holds" in help_text
