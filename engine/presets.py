"""Named presets (TOML files shipped in ``mnist_tui.presets``) and user config files."""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import unicodedata
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

from .config import Config, ConfigError, _did_you_mean, config_from_mapping

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 4
"""The deepest nesting a config file may have (no field takes more than a list)."""

PRESET_PACKAGE = "mnist_tui.presets"
DEFAULT_PRESET = "relu-adam-500"
SPACE_KEYS = ("low", "high", "log", "step", "choices")
"""The keys of a search space's entries (``engine/space.py``): a config file of them is a space given by mistake."""


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
        # utf-8-sig: a byte order mark, as some editors write, is not part of the text.
        text = read_small_file(path, "config file", "a config").decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    return _parse(text, source=str(path), name=path.stem)


class NotRegularFile(OSError):
    """A path that names a FIFO, a socket or a device where a file was expected."""


def regular_file(path: Path) -> Path:
    """``path``, if it names a regular file; else an OSError saying what it is, before anything
    opens it: opening a FIFO waits for a writer, and ``/dev/zero`` never ends. A folder is an
    IsADirectoryError, anything else a :class:`NotRegularFile`."""
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
    return path


def read_small_file(path: Path, kind: str, what: str) -> bytes:
    """A config or search space file's bytes; a ConfigError when it is no regular file or is over
    ``MAX_FILE_BYTES`` (:func:`regular_file`). A folder is an IsADirectoryError; other read errors
    are the caller's to word."""
    try:
        regular_file(path)
    except NotRegularFile:
        raise ConfigError(f"{kind} {path} is not a regular file") from None
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)  # the file may have grown since
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{kind} {path} is over {MAX_FILE_BYTES:,} bytes; {what} is a few lines")
    return data


def run_name(stem: str) -> str:
    """A run name from a file's name: accents dropped, other characters as '-' ("ünï" -> "uni")."""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-.")[:64] or "custom"


def parse_toml(text: str, *, source: str) -> dict[str, object]:
    """A config or search space file's TOML, within the bounds both get: a syntax error, nesting
    too deep for the parser's stack, or an integer past Python's digit limit is a ConfigError
    starting with ``source``."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: TOML syntax error: {error}") from None
    except RecursionError:
        raise ConfigError(f"{source}: values are nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError:  # Python's limit on converting a long integer (4,300 digits)
        raise ConfigError(f"{source}: a number has too many digits") from None


def check_nesting(key: str, value: object, *, source: str) -> None:
    """Refuse a value nested deeper than ``MAX_DEPTH`` levels of lists and tables."""
    if _depth(value) > MAX_DEPTH:
        raise ConfigError(f"{source}: {key} is nested too deeply (at most {MAX_DEPTH} levels)")


def _parse(text: str, *, source: str, name: str) -> Config:
    data = parse_toml(text, source=source)
    for key, value in data.items():
        if isinstance(value, dict):
            if value and all(entry in SPACE_KEYS for entry in value):
                raise ConfigError(
                    f"{source}: this looks like a search space ({key} has {', '.join(value)}): "
                    "give it to mnist-tui sweep --space; a config file has plain key = value lines"
                )
            raise ConfigError(f"{source}: tables such as [{key}] are not used; write plain key = value lines")
        check_nesting(key, value, source=source)
    data.setdefault("name", run_name(name))
    return config_from_mapping(data, source=source)


def _depth(value: object) -> int:
    """How deeply lists and tables nest in ``value`` (without recursing: parsing already took the stack)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            if level + 1 > MAX_DEPTH:
                return level + 1
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


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
