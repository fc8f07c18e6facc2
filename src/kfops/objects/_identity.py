"""Identity and naming of Kubernetes objects held as plain dicts."""

from __future__ import annotations

from typing import Any

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


def storage_version(crd: dict[str, Any]) -> str:
    """The version a CustomResourceDefinition stores its objects in ("" when none is marked)."""
    for version in (crd.get("spec") or {}).get("versions") or []:
        if version.get("storage"):
            return str(version["name"])
    return ""


#: The API group of Kubeflow's Profile.
PROFILE_GROUP = "kubeflow.org"


def is_profile(obj: dict[str, Any]) -> bool:
    """A Kubeflow Profile (deleting it deletes the namespace of the same name)."""
    return obj["kind"] == "Profile" and \
        str(obj["apiVersion"]).startswith(f"{PROFILE_GROUP}/")
