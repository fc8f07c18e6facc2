"""Whether a live object already has everything kfops would send (so no write is needed).

Only the fields kfops sets are compared, and a live object may hold more
(defaults the API server filled in, status, other managers' fields). A list
matches when it has the same length and each item holds what kfops sends.
"""

from __future__ import annotations

import base64
from typing import Any

_IGNORED_METADATA = ("resourceVersion", "uid", "generation", "creationTimestamp",
                     "managedFields", "selfLink")


def needs_apply(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """True when `live` is missing or differs in a field `desired` sets."""
    if live is None:
        return True
    return not _covers(comparable(live), comparable(desired))


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server stores it, without fields the server alone sets."""
    result = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in _IGNORED_METADATA}
    result["metadata"] = metadata
    if obj.get("kind") == "Secret" and obj.get("stringData"):
        # The API server turns stringData into base64 data; compare in that form.
        data = dict(obj.get("data") or {})
        for key, value in obj["stringData"].items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        result["data"] = data
        result.pop("stringData")
    return result


def _covers(live: Any, desired: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            key in live and _covers(live[key], value) for key, value in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(
            _covers(a, b) for a, b in zip(live, desired, strict=True))
    return bool(live == desired)
