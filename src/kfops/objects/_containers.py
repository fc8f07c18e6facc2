"""Containers held as plain dicts: their environment variables, and Istio's sidecar."""

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


ISTIO_PROXY = "istio-proxy"
"""The container Istio's injector adds to a pod."""


def istio_proxy_image(pod: dict[str, Any]) -> str | None:
    """The image of the pod's Istio sidecar, or None when it has none.

    With native sidecars (istiod's ENABLE_NATIVE_SIDECARS=true, which Kubeflow's Istio
    overlays set) the proxy is an init container that keeps running
    (https://istio.io/latest/blog/2023/native-sidecars/); otherwise a container.
    """
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if container.get("name") == ISTIO_PROXY:
            return str(container.get("image") or "")
    return None
