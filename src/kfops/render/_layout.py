"""Where each object goes in the bundle: stage folders, one file per component, kind order."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from ._objects import BundleObject

CRDS, NAMESPACES, PREREQS, PLATFORM = "00-crds", "10-namespaces", "20-prereqs", "30-platform"
STAGES = (CRDS, NAMESPACES, PREREQS, PLATFORM)

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


def stage_of(item: BundleObject, prereq_components: frozenset[str] = frozenset()) -> str:
    """The stage folder of an object."""
    if item.kind == "CustomResourceDefinition":
        return CRDS
    if item.kind == "Namespace":
        return NAMESPACES
    if item.component in prereq_components:
        return PREREQS
    return PLATFORM


def file_name(component: str) -> str:
    """`certManager` -> `cert-manager.yaml`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", component).lower() + ".yaml"


def kind_rank(kind: str) -> int:
    """Position of `kind` in apply order inside one file."""
    if kind in _LAST:
        return len(_KIND_ORDER) + 1
    return _RANK.get(kind, len(_KIND_ORDER))


def lay_out(
    items: Sequence[BundleObject], component_order: Sequence[str],
    prereq_components: frozenset[str] = frozenset(),
) -> dict[str, list[BundleObject]]:
    """Bundle-relative file path -> its objects, files in stage then component order."""
    order = {name: index for index, name in enumerate(component_order)}
    files: dict[str, list[BundleObject]] = defaultdict(list)
    for item in items:
        files[f"{stage_of(item, prereq_components)}/{file_name(item.component)}"].append(item)
    for objects in files.values():
        # Stable: objects of one kind keep kustomize's order.
        objects.sort(key=lambda o: kind_rank(o.kind))
    return dict(sorted(
        files.items(),
        key=lambda entry: (entry[0].split("/")[0], order.get(entry[1][0].component, len(order))),
    ))
