"""The up-front memory check counts the batch a step really takes and names what drives its estimate."""

from __future__ import annotations

import pytest
import torch

from mnist_tui.engine import memory
from mnist_tui.engine.config import Config, ConfigError
from mnist_tui.engine.memory import check_memory, estimate


@pytest.mark.parametrize(
    ("split", "whole"),
    [
        ({"train_limit": 0}, 60_000),
        ({"train_limit": 5_000}, 5_000),
        ({"train_limit": 0, "eval_split": "holdout", "holdout_fraction": 0.2}, 48_000),
        ({"train_limit": 0, "eval_split": "pooled", "holdout_fraction": 0.2}, 56_000),
    ],
)
def test_a_batch_larger_than_the_training_set_counts_as_the_training_set(split: dict, whole: int) -> None:
    """batch_size = 1,000,000 trains on batches of the whole set, as batch_size = its size does."""
    config = Config(hidden=(8192,), **split)
    assert memory.train_digits(config) == whole
    assert estimate(config.replace(batch_size=1_000_000)) == estimate(config.replace(batch_size=whole))
    assert estimate(config.replace(batch_size=whole // 2)).batches < estimate(config.replace(batch_size=whole)).batches


def refusal(config: Config, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(memory, "available_host_memory", lambda: 10**9)  # 1 GB free
    with pytest.raises(ConfigError) as refused:
        check_memory(config, torch.device("cpu"))
    return str(refused.value)


def test_the_advice_names_the_batch_when_the_batch_drives_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    message = refusal(Config(hidden=(8192,), batch_size=60_000, train_limit=0), monkeypatch)
    assert message.endswith(
        "most of it is a training step's batch of 60,000 digits; use a smaller batch_size or smaller hidden layers"
    ), message


def test_the_advice_names_the_layers_when_the_model_drives_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    message = refusal(Config(hidden=(16384, 16384), batch_size=64), monkeypatch)
    assert message.startswith("hidden = [16384, 16384] with adam needs about ")
    assert message.endswith("use fewer or smaller hidden layers"), message


def test_the_real_batch_fits_where_the_asked_one_would_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """The QA case: hidden = [8192] with batch_size = 1,000,000 needs what batch_size = 60,000 needs."""
    config = Config(hidden=(8192,), batch_size=1_000_000, train_limit=0)
    room = estimate(config.replace(batch_size=60_000)).total + 10**6
    monkeypatch.setattr(memory, "available_host_memory", lambda: room)
    check_memory(config, torch.device("cpu"))  # no ConfigError
