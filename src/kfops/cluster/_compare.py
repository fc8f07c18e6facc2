"""Whether a live object already has everything kfops would send (so no write is needed).

Only the fields kfops sets are compared, and a live object may hold more
(defaults the API server filled in, status, other managers' fields). A list
matches when it has the same length and each item holds what kfops sends.

A field kfops stops setting (a user's hash that left the platform file) would
go unnoticed by that comparison; the live object's `managedFields` say which
fields kfops applied last time, so one it no longer sends means a write, and
server-side apply then removes it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

_IGNORED_METADATA = ("resourceVersion", "uid", "generation", "creationTimestamp",
                     "managedFields", "selfLink")


def needs_apply(desired: dict[str, Any], live: dict[str, Any] | None,
                manager: str = "kfops") -> bool:
    """True when `live` is missing, differs in a field `desired` sets, or holds a field
    `manager` applied before and `desired` no longer sets."""
    if live is None:
        return True
    if not _covers(comparable(live), comparable(desired)):
        return True
    # Against what is sent: an empty map kfops applies is owned by it, though not stored.
    sent = _folded(desired)
    return any(not _present(sent, path) for path in applied_paths(live, manager))


def applied_paths(live: dict[str, Any], manager: str) -> Iterator[tuple[str, ...]]:
    """The fields `manager` set with server-side apply, from the object's managedFields.

    Lists count as one field (their items' keys are not followed), and
    bookkeeping fields kfops never sends are left out.
    """
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            for path in _field_paths(entry.get("fieldsV1") or {}, ()):
                if path[0] == "stringData":  # stored as data, and compared that way
                    path = ("data", *path[1:])  # noqa: PLW2901
                if path[:2] != ("metadata", "resourceVersion") and path[0] != "status":
                    yield path


def _field_paths(fields: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Leaf paths of a FieldsV1 set: `f:name` keys, stopping at list items (k:, v:, i:)."""
    children = [key for key in fields if key.startswith("f:")]
    if not children or any(key[:2] in ("k:", "v:", "i:") for key in fields):
        if path:
            yield path
        return
    for key in children:
        yield from _field_paths(fields[key] or {}, (*path, key[2:]))


def _present(obj: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return False
        obj = obj[part]
    return True


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server stores it, without fields the server alone sets, and
    with its group for apiVersion.

    A Secret's `stringData` is stored as base64 `data`, and empty maps of the
    built-in map fields (labels, annotations, a Secret's or ConfigMap's data)
    are not stored at all: they are `omitempty` in the API types.
    """
    result = _folded(obj)
    result.pop("status", None)
    # One object, whichever version it is read in: a CRD served in several versions (with
    # conversion None) answers a list in each version with that version's apiVersion.
    result["apiVersion"] = str(obj.get("apiVersion", "")).rpartition("/")[0] or "v1"
    result["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items()
                          if k not in _IGNORED_METADATA
                          and not (k in ("labels", "annotations") and v == {})}
    for key in _MAP_FIELDS.get(str(obj.get("kind")), ()):
        if result.get(key) == {}:
            del result[key]
    return result


def _folded(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy with a Secret's `stringData` written into `data` (base64)."""
    result = dict(obj)
    if obj.get("kind") == "Secret" and "stringData" in obj:
        data = dict(obj.get("data") or {})
        for key, value in (obj["stringData"] or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        result["data"] = data
        result.pop("stringData")
    return result


_MAP_FIELDS = {"Secret": ("data",), "ConfigMap": ("data", "binaryData")}
"""Fields of built-in kinds that are `omitempty` maps: an empty one is not stored."""


def _covers(live: Any, desired: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            key in live and _covers(live[key], value) for key, value in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(
            _covers(a, b) for a, b in zip(live, desired, strict=True))
    return bool(live == desired)
