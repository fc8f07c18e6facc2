"""What an update changes in an object, as lines a person reads (`kfops plan -v`).

Fields are named by their YAML path; list items that carry a `name` are named
by it (`spec.template.spec.containers[name=manager].image`), others by their
index. A multi-line string (a ConfigMap's `config.yaml`) shows as a unified
diff of its lines. Values are shown whole, as JSON; a Secret's values never.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

from ._compare import comparable

_MISSING = object()


def changed_fields(live: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """The changes from `live` to `result` (a dry run's answer), one entry per field."""
    secret = live.get("kind") == "Secret" or result.get("kind") == "Secret"
    before, after = comparable(live), comparable(result)
    before.pop("status", None)
    after.pop("status", None)
    return list(_diff(before, after, "", secret))


def _diff(before: Any, after: Any, path: str, secret: bool) -> Iterator[str]:
    if before == after:
        return
    if secret and (path == ".data" or path.startswith(".data.")):
        yield from _secret_diff(before, after, path)
    elif isinstance(before, dict) and isinstance(after, dict):
        for key in [*after, *(k for k in before if k not in after)]:
            yield from _diff(before.get(key, _MISSING), after.get(key, _MISSING),
                             f"{path}.{key}", secret)
    elif isinstance(before, list) and isinstance(after, list) and _aligned(before, after):
        yield from _list_diff(before, after, path, secret)
    elif _multiline(before) and _multiline(after):
        yield _text_diff(before, after, path.lstrip("."))
    else:
        yield f"{path.lstrip('.')}: {_change(before, after)}"


def _list_diff(before: list[Any], after: list[Any], path: str, secret: bool) -> Iterator[str]:
    if _named(before) and _named(after):
        old = {item["name"]: item for item in before}
        new = {item["name"]: item for item in after}
        for name in [*new, *(n for n in old if n not in new)]:
            yield from _diff(old.get(name, _MISSING), new.get(name, _MISSING),
                             f"{path}[name={name}]", secret)
        return
    for index, (old_item, new_item) in enumerate(zip(before, after, strict=True)):
        yield from _diff(old_item, new_item, f"{path}[{index}]", secret)


def _aligned(before: list[Any], after: list[Any]) -> bool:
    """Whether items can be compared one by one: by name, or by position at equal length."""
    return (_named(before) and _named(after)) or len(before) == len(after)


def _named(items: list[Any]) -> bool:
    names = [item.get("name") for item in items if isinstance(item, dict)]
    return bool(items) and len(names) == len(items) and all(
        isinstance(n, str) for n in names) and len(set(names)) == len(names)


def _multiline(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.rstrip("\n")


def _text_diff(before: str, after: str, path: str) -> str:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2)
    body = [line for line in lines if not line.startswith(("---", "+++"))]
    return "\n".join([f"{path}:", *(f"  {line}" for line in body)])


def _change(before: Any, after: Any) -> str:
    if before is _MISSING:
        return f"added {_shown(after)}"
    if after is _MISSING:
        return "removed"
    return f"{_shown(before)} -> {_shown(after)}"


def _secret_diff(before: Any, after: Any, path: str) -> Iterator[str]:
    """Which keys of a Secret's data are added, changed or removed; never their values."""
    if path != ".data":
        what = "added" if before is _MISSING else "removed" if after is _MISSING else "changed"
        yield f"{path.lstrip('.')}: {what}"
        return
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    for key in [*new, *(k for k in old if k not in new)]:
        if old.get(key, _MISSING) != new.get(key, _MISSING):
            yield from _secret_diff(old.get(key, _MISSING), new.get(key, _MISSING),
                                    f".data.{key}")


def _shown(value: Any) -> str:
    return json.dumps(value, sort_keys=False, ensure_ascii=False)
