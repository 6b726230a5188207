"""Named presets (TOML files shipped in ``mnist_tui.presets``) and user config files."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

from .config import Config, ConfigError, _did_you_mean, config_from_mapping

PRESET_PACKAGE = "mnist_tui.presets"
DEFAULT_PRESET = "relu-adam-500"


def _preset_files() -> dict[str, resources.abc.Traversable]:
    root = resources.files(PRESET_PACKAGE)
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in root.iterdir()
        if entry.name.endswith(".toml")
    }


def list_presets() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(_preset_files())


def preset_description(name: str) -> str:
    """The first comment line of a preset file: what it reproduces."""
    text = _preset_files()[name].read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def load_preset(name: str) -> Config:
    """The Config of a shipped preset; an unknown name is a ConfigError with the closest name."""
    files = _preset_files()
    if name not in files:
        raise ConfigError(
            f"unknown preset {name!r}{_did_you_mean(name, list(files))}; "
            f"presets: {', '.join(sorted(files))}"
        )
    return _parse(files[name].read_text(encoding="utf-8"), source=f"preset {name}", name=name)


def load_config_file(path: str | Path) -> Config:
    """The Config in a TOML file; syntax, key, type and range errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    return _parse(text, source=str(path), name=path.stem)


def _parse(text: str, *, source: str, name: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: TOML syntax error: {error}") from None
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(f"{source}: tables such as [{key}] are not used; write plain key = value lines")
    data.setdefault("name", name if name.replace("-", "").replace("_", "").isalnum() else "custom")
    return config_from_mapping(data, source=source)


def config_to_toml(config: Config) -> str:
    """The config as a TOML file that :func:`load_config_file` reads back to an equal Config."""
    lines = ["# Resolved configuration of an mnist-tui run.", ""]
    for key, value in config.to_dict().items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)
