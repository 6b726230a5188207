"""How the form shows a field's value: the shortest exact text, and long floats to four digits."""

from __future__ import annotations

from typing import Any

FLOAT_CHARS = 10
"""The longest number a field shows as it is: a cut-off ``2.97962336`` (for 2.97962336307e-06)
reads as another number. Longer ones show to four digits, their exact value kept behind the field."""


def exact_float(value: float) -> str:
    """The shortest text that parses back to ``value`` exactly: ``0.001``, ``1e-05``, ``2.9796233630685e-06``."""
    text = repr(value)  # Python's shortest round trip, positional from 1e-4 to 1e16
    return text.removesuffix(".0") if text.endswith(".0") else text


def format_value(value: Any) -> str:
    """A field's value as the form shows it: ``512,256``, ``0.001``, ``2.98e-06``, ``true``.

    A float whose exact text is longer than :data:`FLOAT_CHARS` shows to four significant digits:
    :class:`ConfigForm` keeps its exact value while the field shows that text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        text = exact_float(value)
        return text if len(text) <= FLOAT_CHARS else f"{value:.4g}"
    return str(value)
