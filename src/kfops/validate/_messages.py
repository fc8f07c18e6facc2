"""jsonschema's errors as short, plain problems at a field path."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

from ._paths import field_path


def schema_problem(error: SchemaError) -> tuple[str, str]:
    """(field path, problem) for one jsonschema error."""
    path = field_path(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = _unexpected(error)
        if extra:
            where = f"{path}.{extra}" if path else extra
            return where, f'unknown field "{extra}"'
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return path, f'required field "{missing}" is missing'
    if error.validator == "type":
        return path, f"expected {_types(error.validator_value)}, got {_show(error.instance)}"
    if error.validator == "enum":
        allowed = ", ".join(_show(v) for v in error.validator_value)
        return path, f"expected one of {allowed}, got {_show(error.instance)}"
    return path, str(error.message)[:300]


def _unexpected(error: SchemaError) -> str | None:
    if isinstance(error.instance, dict) and isinstance(error.schema, dict):
        known = set(error.schema.get("properties") or {})
        extras = sorted(k for k in error.instance if k not in known)
        return extras[0] if extras else None
    return None


def _types(value: Any) -> str:
    kinds = [v for v in (value if isinstance(value, list) else [value]) if v != "null"]
    words = {"object": "a mapping", "array": "a list", "integer": "an integer"}
    return " or ".join(words.get(k, f"a {k}") for k in kinds)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)[:80]
