"""The ApplySet (KEP-3659) parent: the Secret `kfops-<platform>` in kube-system.

Members carry `applyset.kubernetes.io/part-of: <id>`; the parent records the
group-kinds and namespaces they use, so plan, prune and uninstall list exactly
what kfops applied (https://github.com/kubernetes/enhancements/tree/master/keps/sig-cli/3659-kubectl-apply-prune).

kfops adds three records of its own to the parent: the apiVersion of each kind
(group-kinds alone do not say how to list them), every ApplySet id whose
members it still tracks (its own, and those of an install it took over with
`--adopt`, until their last member is gone), and the workloads of each
component (so `kfops status` works from the cluster alone).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kfops._version import __version__
from kfops.errors import ClusterError
from kfops.objects import (
    ADDITIONAL_NAMESPACES,
    GROUP_KINDS,
    ID_LABEL,
    MANAGED_BY,
    PARENT_NAMESPACE,
    PLATFORM_LABEL,
    TOOLING,
    ApplySet,
)

from ._api import Cluster
from ._steps import BundleFile

KINDS = "kfops.io/api-version-kinds"
IDS = "kfops.io/applyset-ids"
WORKLOADS = "kfops.io/workloads"
RELEASE = "kfops.io/release"

Workload = tuple[str, str, str, str, str]
"""(component, apiVersion, kind, namespace, name) of a Deployment, StatefulSet or DaemonSet."""


@dataclass(frozen=True)
class Inventory:
    """What the parent says kfops applied: apiVersion/kind pairs, namespaces, ApplySet ids."""

    kinds: frozenset[tuple[str, str]]
    namespaces: frozenset[str]
    ids: frozenset[str] = frozenset()
    """Every ApplySet id whose members belong to this install (renames and adoptions)."""
    workloads: tuple[Workload, ...] = ()
    """What `status` checks, by component in bundle order (from the latest apply)."""
    release: str = ""
    """The Kubeflow release the latest apply installed ("" when not recorded: applied by
    an earlier kfops, or from a bundle without a lock)."""

    @property
    def group_kinds(self) -> frozenset[str]:
        """KEP-3659's `Kind.group` form."""
        return frozenset(group_kind({"apiVersion": a, "kind": k}) for a, k in self.kinds)

    def union(self, other: Inventory | None) -> Inventory:
        """Both inventories together (what to list while changing from one to the other).

        The workloads stay this inventory's: they describe the platform being applied.
        """
        if other is None:
            return self
        return Inventory(self.kinds | other.kinds, self.namespaces | other.namespaces,
                         self.ids | other.ids, self.workloads, self.release or other.release)

    def outside(self, obj: dict[str, Any]) -> str | None:
        """Why `obj` cannot be a member by KEP-3659 (kind or namespace not listed), or None."""
        if group_kind(obj) not in self.group_kinds:
            return f"its kind {group_kind(obj)} is not one the ApplySet lists"
        namespace = (obj.get("metadata") or {}).get("namespace")
        # The parent's own namespace is always part of the ApplySet (KEP-3659).
        if namespace and namespace != PARENT_NAMESPACE and namespace not in self.namespaces:
            return f"namespace {namespace} is not one the ApplySet lists"
        return None


def group_kind(obj: dict[str, Any]) -> str:
    """`Deployment.apps`, or `Secret` for the core group."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{obj['kind']}.{group}" if group else str(obj["kind"])


def inventory_of(objects: Iterable[dict[str, Any]], ids: Iterable[str] = ()) -> Inventory:
    """The group-kinds and namespaces of `objects`, applied under `ids`."""
    objects = list(objects)
    return Inventory(frozenset((str(o["apiVersion"]), str(o["kind"])) for o in objects),
                     frozenset(str(o["metadata"]["namespace"]) for o in objects
                               if o["metadata"].get("namespace")),
                     frozenset(ids))


def with_workloads(inventory: Inventory, workloads: Iterable[Workload],
                   release: str = "") -> Inventory:
    """`inventory` recording `workloads` (in bundle order) for status, and the release."""
    return Inventory(inventory.kinds, inventory.namespaces, inventory.ids, tuple(workloads),
                     release)


def read_inventory(cluster: Cluster, platform: str) -> Inventory | None:
    """The inventory the cluster's parent holds, or None before the first apply."""
    parent = cluster.get("v1", "Secret", ApplySet(platform).parent_name, PARENT_NAMESPACE)
    return None if parent is None else _parse(parent)


def _parse(parent: dict[str, Any]) -> Inventory:
    metadata = parent["metadata"]
    annotations = metadata.get("annotations") or {}
    own = (metadata.get("labels") or {}).get(ID_LABEL, "")
    kinds = {tuple(entry.rsplit(" ", 1)) for entry in _split(annotations.get(KINDS))}
    return Inventory(frozenset((a, k) for a, k in kinds),
                     frozenset(_split(annotations.get(ADDITIONAL_NAMESPACES))),
                     frozenset({own, *_split(annotations.get(IDS))} - {""}),
                     _workloads(metadata["name"], annotations.get(WORKLOADS)),
                     str(annotations.get(RELEASE) or ""))


def _workloads(name: str, text: str | None) -> tuple[Workload, ...]:
    found: list[Workload] = []
    try:
        for component, entries in (json.loads(text or "{}")).items():
            for entry in entries:
                api_version, kind, namespace, workload = str(entry).split(" ")
                found.append((str(component), api_version, kind, namespace, workload))
    except (ValueError, AttributeError, TypeError):
        # adds nothing: what is wrong is here
        raise ClusterError(f"Secret {PARENT_NAMESPACE}/{name}: the annotation {WORKLOADS} "
                           "is not what kfops writes") from None
    return tuple(found)


def _split(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part]


def parent(applyset: ApplySet, inventory: Inventory) -> dict[str, Any]:
    """The parent Secret recording `inventory` (its own id always among the ids)."""
    workloads: dict[str, list[str]] = {}
    for component, api_version, kind, namespace, name in inventory.workloads:
        workloads.setdefault(component, []).append(f"{api_version} {kind} {namespace} {name}")
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {
            "name": applyset.parent_name, "namespace": PARENT_NAMESPACE,
            "labels": {ID_LABEL: applyset.id, MANAGED_BY: "kfops",
                       PLATFORM_LABEL: applyset.platform},
            "annotations": {
                TOOLING: f"kfops/v{__version__}",
                GROUP_KINDS: ",".join(sorted(inventory.group_kinds)),
                KINDS: ",".join(sorted(f"{a} {k}" for a, k in inventory.kinds)),
                ADDITIONAL_NAMESPACES: ",".join(sorted(inventory.namespaces)),
                IDS: ",".join(sorted(inventory.ids | {applyset.id})),
                # In bundle order, so `status` lists components as it does with the file.
                WORKLOADS: json.dumps(workloads, separators=(",", ":")),
                **({RELEASE: inventory.release} if inventory.release else {}),
            },
        },
    }


def installed_release(cluster: Cluster, platform: str) -> str:
    """The release the install's latest apply recorded ("" when none)."""
    inventory = read_inventory(cluster, platform)
    return inventory.release if inventory else ""


def installs(cluster: Cluster) -> list[ApplySet]:
    """Every kfops install on the cluster, from the ApplySet parents in kube-system."""
    found = []
    for secret in cluster.list("v1", "Secret", PARENT_NAMESPACE, labels={MANAGED_BY: "kfops"}):
        metadata = secret["metadata"]
        labels = metadata.get("labels") or {}
        platform, applyset_id = labels.get(PLATFORM_LABEL), labels.get(ID_LABEL)
        if platform and applyset_id and metadata["name"] == ApplySet(platform).parent_name:
            found.append(ApplySet(platform, applyset_id))
    return sorted(found)


def recorded_workloads(cluster: Cluster, applyset: ApplySet) -> list[BundleFile]:
    """The workloads the install's last apply recorded, per component, as bundle files
    (what `status` checks when there is no platform file)."""
    inventory = read_inventory(cluster, applyset.platform)
    if inventory is None:
        raise ClusterError(f"no kfops install {applyset.platform} on this cluster "
                           f"(no Secret {PARENT_NAMESPACE}/{applyset.parent_name})")
    return inventory_workloads(inventory)


def inventory_workloads(inventory: Inventory) -> list[BundleFile]:
    """The workloads an inventory records, per component, as bundle files."""
    by_component: dict[str, list[dict[str, Any]]] = {}
    for component, api_version, kind, namespace, name in inventory.workloads:
        by_component.setdefault(component, []).append({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": namespace}})
    return [BundleFile(f"recorded/{component}", component, tuple(objects))
            for component, objects in by_component.items()]
