"""Kubernetes label selectors."""

from __future__ import annotations

from typing import Any


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against labels."""
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values) or (
                operator == "NotIn" and labels.get(key) in values) or (
                operator == "Exists" and key not in labels) or (
                operator == "DoesNotExist" and key in labels):
            return False
    return True
