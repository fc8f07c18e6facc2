"""Field selectors on lists (`?fieldSelector=...`), as the API server reads and applies them.

https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/ : every
kind selects on `metadata.name` and `metadata.namespace`; some kinds add their own fields
(core/v1 Events their `involvedObject.*`, `reason`, `reportingComponent`, `source` and
`type`, Pods their node, phase and the like, read from kube-apiserver v1.35.4's
pkg/registry/core/*/strategy.go `ToSelectableFields`). Terms are `field=value`,
`field==value` or `field!=value`, joined by commas (all must hold); `\\`, `\\,` and `\\=` escape
a value's backslash, comma and equals sign.

Errors are 400 BadRequest worded as kube-apiserver v1.35.4 words them (its core kinds'
field-label conversion, batch's Job conversion and the generic one differ; held by
tests/realcluster/test_conformance.py).
Simpler: the other selectable fields of Secrets, Nodes, Namespaces, Services, ReplicaSets
and Jobs (`type`, `spec.unschedulable`, `status.phase`, ...) and a CRD's `selectableFields`
are refused like unknown ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Extractor = Callable[[dict[str, Any]], str]


class FieldSelectorError(Exception):
    """A field selector the API server refuses (400 BadRequest with this message)."""


def _at(*path: str, default: str = "") -> Extractor:
    def value(obj: dict[str, Any]) -> str:
        found: Any = obj
        for step in path:
            found = found.get(step) if isinstance(found, dict) else None
        return str(found) if found not in (None, "") else default
    return value


def _event_source(event: dict[str, Any]) -> str:
    # source.component, or reportingController when the recorder set none (events.k8s.io)
    return _at("source", "component")(event) or _at("reportingComponent")(event)


def _pod_ip(pod: dict[str, Any]) -> str:
    ips = (pod.get("status") or {}).get("podIPs") or []
    return str(ips[0].get("ip", "")) if ips else _at("status", "podIP")(pod)


_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_FIELDS: dict[tuple[str, str], dict[str, Extractor]] = {
    ("", "events"): {
        **{f"involvedObject.{name}": _at("involvedObject", name) for name in _INVOLVED},
        "reason": _at("reason"), "reportingComponent": _at("reportingComponent"),
        "source": _event_source, "type": _at("type")},
    ("", "pods"): {
        # The defaults the API server (and the ServiceAccount admission plugin) fill in.
        "spec.nodeName": _at("spec", "nodeName"),
        "spec.restartPolicy": _at("spec", "restartPolicy", default="Always"),
        "spec.schedulerName": _at("spec", "schedulerName", default="default-scheduler"),
        "spec.serviceAccountName": _at("spec", "serviceAccountName", default="default"),
        "spec.hostNetwork": lambda pod: str(bool((pod.get("spec") or {}).get("hostNetwork")))
        .lower(),
        "status.phase": _at("status", "phase", default="Pending"),
        "status.podIP": _pod_ip,
        "status.nominatedNodeName": _at("status", "nominatedNodeName")},
}
_CORE_CONVERTED = {"pods", "events", "nodes", "namespaces", "secrets", "services",
                   "replicationcontrollers"}
"""Core kinds with their own field-label conversion (its "field label not supported")."""


def _unsupported(group: str, plural: str, kind: str, label: str) -> str:
    if group == "" and plural in _CORE_CONVERTED:
        return f"field label not supported: {label}"
    if (group, plural) == ("batch", "jobs"):
        return f'field label "{label}" not supported for {kind}'
    return f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'


def parse(text: str) -> list[tuple[str, bool, str]]:
    """The terms of a field selector: (field, equal, value); `equal` False for `!=`."""
    terms = []
    for part in sorted(_split(text, ",")):
        if not part:
            continue
        term = _split_term(part)
        if term is None:
            raise FieldSelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, operator, value = term
        terms.append((field, operator != "!=", _unescape(value)))
    return terms


def select(group: str, plural: str, kind: str, items: list[dict[str, Any]],
           text: str) -> list[dict[str, Any]]:
    """The items the field selector `text` keeps; FieldSelectorError as the server refuses it."""
    terms = parse(text)
    fields = _FIELDS.get((group, plural), {})
    extractors = []
    for field, equal, value in terms:
        if field == "metadata.name":
            extractors.append((_at("metadata", "name"), equal, value))
        elif field == "metadata.namespace":
            extractors.append((_at("metadata", "namespace"), equal, value))
        elif field in fields:
            extractors.append((fields[field], equal, value))
        else:
            raise FieldSelectorError(_unsupported(group, plural, kind, field))
    return [item for item in items
            if all((extract(item) == value) == equal for extract, equal, value in extractors)]


def _split(text: str, separator: str) -> list[str]:
    """`text` split at each unescaped `separator`."""
    parts, start, escaped = [], 0, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _split_term(part: str) -> tuple[str, str, str] | None:
    """(field, operator, value) at the first unescaped operator, or None without one."""
    escaped = False
    for index, char in enumerate(part):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
            continue
        for operator in ("!=", "==", "="):
            if part.startswith(operator, index):
                return part[:index], operator, part[index + len(operator):]
    return None


def _unescape(value: str) -> str:
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise FieldSelectorError(f"invalid field selector: invalid escape sequence: "
                                         f"\\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise FieldSelectorError(f"invalid field selector: unescaped character in value: "
                                     f"{ord(char)}")
        else:
            out.append(char)
    return "".join(out)
