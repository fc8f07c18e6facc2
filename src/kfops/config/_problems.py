"""Turn pydantic's validation errors into one located, plain-language line each."""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from ._yaml import Loc

_EXPECTED = {
    "bool_type": "expected true or false",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
}


#: Errors whose input is not repeated: a secret (or a password typed as its hash) is never
#: printed.
_NO_ECHO = frozenset({"plain_secret", "duplicate", "connector_credentials", "bcrypt"})


def show(value: Any) -> str:
    """A value as the user wrote it in YAML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def yaml_path(loc: Loc) -> str:
    """`("spec", "auth", "users", 0, "email")` as `spec.auth.users[0].email`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", part):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else part
    return text


def clean_loc(loc: tuple[int | str, ...]) -> tuple[Loc, bool]:
    """Drop pydantic's bookkeeping parts of a location; say whether it is about a key."""
    about_key = "[key]" in loc
    parts = tuple(p for p in loc if p != "[key]" and not str(p).startswith("function-"))
    return parts, about_key


def message(error: ErrorDetails, root: type[BaseModel]) -> str:
    """The plain-language explanation of one pydantic error."""
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(error, root)
    if kind == "missing":
        return "required, but missing"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {show(given)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace("True", "true")
        return f"expected {expected}, got {show(given)}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()))
        words = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than_equal": "at most", "less_than": "less than"}[kind]
        return f"must be {words} {bound}, got {show(given)}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind in ("too_long", "string_too_long"):
        return f"too long: at most {ctx.get('max_length')} characters, got {show(given)}"
    text = error["msg"].removeprefix("Value error, ")
    if kind in _NO_ECHO or isinstance(given, dict | list):
        return text
    return f"{text}, got {show(given)}"


def _unknown_key(error: ErrorDetails, root: type[BaseModel]) -> str:
    loc = error["loc"]
    key = str(loc[-1])
    known = _keys_at(root, loc[:-1])
    hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    text = f"unknown key {json.dumps(key)}"
    if hint:
        return f"{text} (did you mean {json.dumps(hint[0])}?)"
    if known:
        return f"{text}; allowed: {', '.join(known)}"
    return text


def _keys_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    model: Any = root
    for part in loc:
        model = _step(model, part)
        if model is None:
            return []
    model = _model_in(model)
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _step(annotation: Any, part: int | str) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(part, str):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, dict) and args:
        return args[-1]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            stepped = _step(arg, part)
            if stepped is not None:
                return stepped
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
