"""CRD `x-kubernetes-validations` rules, evaluated with cel-python.

Kubernetes adds libraries to CEL (https://kubernetes.io/docs/reference/using-api/cel/).
The regex, string and URL functions that CRDs use most are provided here; a rule
that calls anything else, or that cel-python cannot evaluate, is reported as
not evaluated rather than passed. Transition rules (those reading `oldSelf`)
only run on updates, so they do not apply to objects being created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ._paths import field_path


@dataclass(frozen=True)
class RuleOutcome:
    """A rule that failed (`failed`) or could not be evaluated (`reason` says why)."""

    path: str
    rule: str
    message: str
    failed: bool
    reason: str | None = None


def _kubernetes_functions() -> dict[str, Callable[..., Any]]:
    from celpy import celtypes  # noqa: PLC0415 - only rules need cel-python

    def string(value: Any) -> Any:
        return celtypes.StringType(value)

    def find(text: Any, pattern: Any) -> Any:
        match = re.search(str(pattern), str(text))
        return string(match.group(0) if match else "")

    def find_all(text: Any, pattern: Any, limit: Any = -1) -> Any:
        found = [m.group(0) for m in re.finditer(str(pattern), str(text))]
        kept = found if int(limit) < 0 else found[:int(limit)]
        return celtypes.ListType([string(f) for f in kept])

    def join(items: Any, separator: Any = "") -> Any:
        return string(str(separator).join(str(i) for i in items))

    def substring(text: Any, start: Any, end: Any = None) -> Any:
        return string(str(text)[int(start):None if end is None else int(end)])

    def url(text: Any) -> Any:
        parts = urlsplit(str(text))
        if not (parts.scheme and parts.netloc) and not str(text).startswith("/"):
            raise ValueError(f"url: {text!r} is not an absolute URI or absolute path")
        return string(text)

    def is_url(text: Any) -> Any:
        parts = urlsplit(str(text))
        return celtypes.BoolType(bool(parts.scheme and parts.netloc) or str(text).startswith("/"))

    return {
        "url": url,
        "isURL": is_url,
        "getScheme": lambda u: string(urlsplit(str(u)).scheme),
        "getHost": lambda u: string(urlsplit(str(u)).netloc.rsplit("@", 1)[-1]),
        "getHostname": lambda u: string(urlsplit(str(u)).hostname or ""),
        "getPort": lambda u: string(str(urlsplit(str(u)).port or "")),
        "getEscapedPath": lambda u: string(urlsplit(str(u)).path),
        "find": find,
        "findAll": find_all,
        "lowerAscii": lambda s: string(str(s).lower()),
        "upperAscii": lambda s: string(str(s).upper()),
        "trim": lambda s: string(str(s).strip()),
        "split": lambda s, sep: celtypes.ListType([string(p) for p in str(s).split(str(sep))]),
        "join": join,
        "indexOf": lambda s, sub: celtypes.IntType(str(s).find(str(sub))),
        "lastIndexOf": lambda s, sub: celtypes.IntType(str(s).rfind(str(sub))),
        "replace": lambda s, old, new: string(str(s).replace(str(old), str(new))),
        "substring": substring,
        "charAt": lambda s, i: string(str(s)[int(i)] if int(i) < len(str(s)) else ""),
    }


class CelEvaluator:
    """Compiles each rule once and evaluates it against values."""

    def __init__(self) -> None:
        import celpy  # noqa: PLC0415 - cel-python loads a grammar; only rules need it
        from celpy.adapter import json_to_cel  # noqa: PLC0415

        self._celpy = celpy
        self._json_to_cel = json_to_cel
        self._env = celpy.Environment()
        self._functions = _kubernetes_functions()
        self._programs: dict[str, Any] = {}

    def evaluate(self, rule: str, value: Any) -> tuple[bool | None, str | None]:
        """(True/False, None) when evaluated; (None, reason) when it could not be."""
        try:
            program = self._programs.get(rule)
            if program is None:
                program = self._env.program(self._env.compile(_without_trailing_commas(rule)),
                                            functions=self._functions)
                self._programs[rule] = program
            result = program.evaluate({"self": self._json_to_cel(value)})
        except Exception as error:  # boundary: cel-python raises many types on a rule it
            # cannot parse or evaluate; the rule is reported as not evaluated, never crashes
            return None, f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"
        if isinstance(result, bool | self._celpy.celtypes.BoolType):
            return bool(result), None
        return None, f"rule gave {type(result).__name__}, not a boolean"


def _without_trailing_commas(rule: str) -> str:
    """`rule` without commas that end a list or map literal.

    The CEL grammar allows them (`[a, b,]`, as Karpenter's CRDs write) and
    Kubernetes accepts them; cel-python's parser does not.
    """
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(rule):
        char = rule[index]
        if quote:
            out.append(char)
            if char == "\\" and index + 1 < len(rule):
                out.append(rule[index + 1])
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "," and rule[index + 1:].lstrip()[:1] in ("]", "}"):
            pass
        else:
            out.append(char)
        index += 1
    return "".join(out)


def rule_outcomes(
    schema: dict[str, Any], value: Any, evaluator: CelEvaluator, path: tuple[str | int, ...] = ()
) -> Iterator[RuleOutcome]:
    """Failed and unevaluated rules for `value` and everything inside it."""
    for rule in schema.get("x-kubernetes-validations") or []:
        text = str(rule.get("rule", ""))
        if re.search(r"\boldSelf\b", text):
            continue
        passed, reason = evaluator.evaluate(text, value)
        if passed is True:
            continue
        where = field_path(path) + str(rule.get("fieldPath") or "")
        message = str(rule.get("message") or f"failed rule: {text}")
        yield RuleOutcome(where, text, message, failed=passed is False, reason=reason)
    yield from _children(schema, value, evaluator, path)


def _children(
    schema: dict[str, Any], value: Any, evaluator: CelEvaluator, path: tuple[str | int, ...]
) -> Iterator[RuleOutcome]:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
            if sub is not None and child is not None:
                yield from rule_outcomes(sub, child, evaluator, (*path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            yield from rule_outcomes(schema["items"], child, evaluator, (*path, index))


def has_rules(schema: Any) -> bool:
    """Whether a schema holds any `x-kubernetes-validations` rule."""
    if isinstance(schema, dict):
        return "x-kubernetes-validations" in schema or any(has_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_rules(v) for v in schema)
    return False
