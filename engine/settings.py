"""Changing the optimizer's lr, momentum or weight_decay while a run trains.

A change is checked by the config's own rules (``Config.replace``), applied to every parameter
group, and kept in the optimizer's and the schedule's state, so ``last.pt`` resumes with it.

With a learning-rate schedule, setting ``lr`` sets the rate training uses from now on and rescales
the schedule's base by the same factor: the schedule goes on from the new value (a step schedule
still multiplies by ``gamma`` at its drops, a cosine one still anneals to 0 at the last epoch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .commands import SETTINGS
from .config import Config, ConfigError

if TYPE_CHECKING:
    from .trainer import Trainer


def current_settings(trainer: Trainer) -> dict[str, float]:
    """The settings the run trains with now, as config values: ``lr`` is the schedule's base."""
    group = trainer.optimizer.param_groups[0]
    settings = {key: float(group[key]) for key in SETTINGS if key in group}
    settings["lr"] = float(trainer.schedule.base_lrs[0])
    return settings


def change_settings(trainer: Trainer, config: Config, values: Mapping[str, Any]) -> dict[str, list[float]]:
    """Apply ``values`` to the running optimizer; returns ``{field: [old, new]}`` of what changed.

    A ConfigError (nothing applied) for a setting the optimizer lacks or a value the config's
    rules refuse. ``old`` is the value training used until now (for lr, the scheduled rate).
    """
    group = trainer.optimizer.param_groups[0]
    for key in values:
        if key not in SETTINGS:
            raise ConfigError(f"only {', '.join(SETTINGS)} can change during a run, not {key!r}")
        if key not in group:
            raise ConfigError(f"the {config.optimizer} optimizer has no {key} setting")
    now = {key: float(group[key]) for key in SETTINGS if key in group}
    checked = config.replace(source="set", **{**now, **values})
    changes = {
        key: [now[key], float(getattr(checked, key))]
        for key in values
        if float(getattr(checked, key)) != now[key]
    }
    if not changes:
        return {}
    if "lr" in changes:
        old, new = changes["lr"]
        # The schedule's base moves by the same factor, so every later scheduled rate does too.
        trainer.schedule.base_lrs = [_rescaled(base, old, new) for base in trainer.schedule.base_lrs]
    for each in trainer.optimizer.param_groups:
        for key, (old, new) in changes.items():
            if key == "lr" and "initial_lr" in each:
                each["initial_lr"] = _rescaled(each["initial_lr"], old, new)
            each[key] = new
    trainer.settings_changed()
    return changes


def _rescaled(base: float, old: float, new: float) -> float:
    if base == old or old == 0:
        return new  # exact: a constant schedule's base becomes the typed value, not a product
    return base * (new / old)


def describe_changes(changes: Mapping[str, list[float]]) -> str:
    """``lr 0.001 -> 0.0001, momentum 0.5 -> 0.9``."""
    return ", ".join(f"{key} {old:g} -> {new:g}" for key, (old, new) in changes.items())
