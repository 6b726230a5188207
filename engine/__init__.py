"""The training engine: no UI imports, one generator of frozen events.

``run_training(config, stop=...)`` is the core every front end runs through: the dashboard's
worker thread, the headless printer and the tests all iterate the same events.
"""

from __future__ import annotations

from .config import Config, ConfigError, config_from_mapping, parse_assignment, parse_value
from .events import (
    BatchReported,
    CheckpointSaved,
    EpochEnded,
    Event,
    RunDiverged,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesPredicted,
    Terminal,
)
from .presets import DEFAULT_PRESET, list_presets, load_config_file, load_preset, preset_description

__all__ = [
    "DEFAULT_PRESET",
    "BatchReported",
    "CheckpointSaved",
    "Config",
    "ConfigError",
    "EpochEnded",
    "Event",
    "RunDiverged",
    "RunFailed",
    "RunFinished",
    "RunStarted",
    "RunStopped",
    "SamplesPredicted",
    "Terminal",
    "config_from_mapping",
    "list_presets",
    "load_config_file",
    "load_preset",
    "parse_assignment",
    "parse_value",
    "preset_description",
]
