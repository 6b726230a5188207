"""Questions about a path a person typed, answered without raising.

``Path.is_dir()`` and its kin answer False for a path that is not there, but raise for one the
system will not even look up: a name longer than the file system allows (``File name too
long``), a folder on the way without search permission. A run's name, an image or a folder typed
on a command line or in a form field is either, so every lookup of one goes through these, and a
message about a path found nowhere says which it was (:func:`absent`).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


def is_dir(path: Path | str) -> bool:
    """Whether ``path`` is a folder (False where it cannot be looked up)."""
    return os.path.isdir(path)


def is_file(path: Path | str) -> bool:
    """Whether ``path`` is a regular file (False where it cannot be looked up)."""
    return os.path.isfile(path)


def exists(path: Path | str) -> bool:
    """Whether anything is at ``path``, following links (False where it cannot be looked up)."""
    return os.path.exists(path)


def absent(path: Path | str) -> str:
    """Why nothing is found at ``path``: "does not exist", or why it cannot be looked up
    ("cannot be looked up: File name too long"); for a path that exists, "exists"."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "does not exist"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a loop of links"
        return f"cannot be looked up: {error.strerror or error}"
    except ValueError:  # a NUL character
        return "cannot be looked up: it holds a NUL character"
    return "exists"


def unreachable(path: Path | str) -> str | None:
    """Why ``path`` cannot even be looked up ("cannot be looked up: File name too long"), or None
    where it can: whether or not something is there."""
    why = absent(path)
    return None if why in ("exists", "does not exist") else why
