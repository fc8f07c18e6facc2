"""Environment variables of containers held as plain dicts."""

from __future__ import annotations

from typing import Any


def container_env(container: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The env entry `name` of a container, or None."""
    return next((e for e in container.get("env") or [] if e.get("name") == name), None)


def set_container_env(container: dict[str, Any], name: str, value: str) -> None:
    """Set env `name` of a container to a literal value (replacing a reference)."""
    entry = container_env(container, name)
    if entry is None:
        container.setdefault("env", []).append({"name": name, "value": value})
    else:
        entry.pop("valueFrom", None)
        entry["value"] = value


def set_container_secret_env(container: dict[str, Any], name: str, secret: str,
                             key: str) -> None:
    """Set env `name` of a container to `key` of the Secret `secret` (replacing a value)."""
    entry = container_env(container, name)
    reference = {"secretKeyRef": {"name": secret, "key": key}}
    if entry is None:
        container.setdefault("env", []).append({"name": name, "valueFrom": reference})
    else:
        entry.pop("value", None)
        entry["valueFrom"] = reference
