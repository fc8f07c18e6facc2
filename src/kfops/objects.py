"""Identity and naming of Kubernetes objects held as plain dicts (shared by every layer)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kfops.errors import OperationError

__all__ = [
    "BUILTIN_CLUSTER_SCOPED",
    "WORKLOAD_KINDS",
    "Identity",
    "cluster_scoped_kinds",
    "container_env",
    "describe",
    "identity_of",
    "secret_value",
    "set_container_env",
    "set_secret_value",
]

Identity = tuple[str, str, str, str]
"""(group, kind, namespace, name); namespace is "" for cluster-scoped objects."""


def identity_of(obj: dict[str, Any]) -> Identity:
    """The identity of a Kubernetes object: (group, kind, namespace, name)."""
    metadata = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return (group, str(obj.get("kind", "")), str(metadata.get("namespace") or ""),
            str(metadata.get("name", "")))


def describe(obj: dict[str, Any]) -> str:
    """`kind namespace/name` (or `kind name` when cluster-scoped), for messages."""
    _, kind, namespace, name = identity_of(obj)
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


#: Kinds whose pods kfops waits for, restarts and reports on.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

#: Built-in kinds that are not namespaced (every other built-in kind is).
BUILTIN_CLUSTER_SCOPED = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
    "ClusterTrustBundle", "CSIDriver", "CSINode", "CustomResourceDefinition", "DeviceClass",
    "FlowSchema", "IngressClass", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
    "PriorityLevelConfiguration", "RuntimeClass", "StorageClass", "StorageVersionMigration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration", "VolumeAttachment", "VolumeAttributesClass",
})


def cluster_scoped_kinds(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(group, kind) of cluster-scoped custom kinds defined by the CRDs among `objects`."""
    kinds: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        if spec.get("scope") == "Cluster":
            kinds.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    return kinds


def secret_value(secret: dict[str, Any], key: str) -> str | None:
    """A Secret's value for `key` (from `stringData` or decoded `data`), or None.

    OperationError, naming the Secret and key, when `data` holds no base64 text.
    """
    if key in (secret.get("stringData") or {}):
        return str(secret["stringData"][key])
    encoded = (secret.get("data") or {}).get(key)
    if encoded is None:
        return None
    try:
        return base64.b64decode(str(encoded), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        # no cause: it holds the Secret's bytes
        raise OperationError(f"{describe(secret)}: data.{key} is not base64 of UTF-8 text "
                             "(edited by hand?); fix or remove that key") from None


def set_secret_value(secret: dict[str, Any], key: str, value: str) -> None:
    """Set `key` in a Secret's `data` (base64), dropping it from `stringData`.

    `data` is what the API server stores and returns; writing it keeps a later
    comparison with the live object exact.
    """
    string_data = secret.get("stringData") or {}
    string_data.pop(key, None)
    if not string_data:
        secret.pop("stringData", None)
    secret.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()


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
