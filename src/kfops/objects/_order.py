"""The order of kinds: inside a bundle file when applying, and when deleting."""

from __future__ import annotations

from typing import Any

from ._identity import is_profile

#: Kind order inside a file: the legacy order of upstream's example/kustomization.yaml.
_KIND_ORDER = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "MutatingWebhookConfiguration", "ServiceAccount", "PodSecurityPolicy", "NetworkPolicy",
    "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret",
    "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
)
_LAST = ("ValidatingWebhookConfiguration",)
_RANK = {kind: index for index, kind in enumerate(_KIND_ORDER)}


def kind_rank(kind: str) -> int:
    """Position of `kind` in apply order inside one file."""
    if kind in _LAST:
        return len(_KIND_ORDER) + 1
    return _RANK.get(kind, len(_KIND_ORDER))


_HOOKS = frozenset({"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                    "APIService"})


def deletion_order(obj: dict[str, Any]) -> int:
    """Webhooks first (a webhook whose Service is gone refuses what it guards), objects, then
    Profiles (their namespace goes with them), namespaces, CRDs."""
    if obj["kind"] in _HOOKS:
        return -1
    if obj["kind"] == "CustomResourceDefinition":
        return 3
    if obj["kind"] == "Namespace":
        return 2
    return 1 if is_profile(obj) else 0
