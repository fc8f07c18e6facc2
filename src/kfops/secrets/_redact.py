"""Keeping secret values out of anything printed."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "<redacted>"


def redact(text: str, values: Iterable[str]) -> str:
    """`text` with every occurrence of each (non-trivial) secret value replaced."""
    for value in sorted({v for v in values if len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
