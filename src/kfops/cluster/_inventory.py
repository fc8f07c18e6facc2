"""The ApplySet (KEP-3659) parent: the Secret `kfops-<platform>` in kube-system.

Members carry `applyset.kubernetes.io/part-of: <id>`; the parent records the
group-kinds and namespaces they use, so plan, prune and uninstall list exactly
what kfops applied (https://github.com/kubernetes/enhancements/tree/master/keps/sig-cli/3659-kubectl-apply-prune).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import kfops

from ._api import Cluster

PART_OF = "applyset.kubernetes.io/part-of"
ID_LABEL = "applyset.kubernetes.io/id"
TOOLING = "applyset.kubernetes.io/tooling"
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
KINDS = "kfops.io/api-version-kinds"
"""kfops's own record of members' apiVersion/kind (group-kinds alone do not say how to list)."""
NAMESPACES = "applyset.kubernetes.io/additional-namespaces"
PARENT_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class Inventory:
    """What the parent says kfops applied: apiVersion/kind pairs and namespaces."""

    kinds: frozenset[tuple[str, str]]
    namespaces: frozenset[str]

    @property
    def group_kinds(self) -> frozenset[str]:
        """KEP-3659's `Kind.group` form."""
        return frozenset(group_kind({"apiVersion": a, "kind": k}) for a, k in self.kinds)

    def union(self, other: Inventory | None) -> Inventory:
        """Both inventories together (what to list while changing from one to the other)."""
        if other is None:
            return self
        return Inventory(self.kinds | other.kinds, self.namespaces | other.namespaces)


def group_kind(obj: dict[str, Any]) -> str:
    """`Deployment.apps`, or `Secret` for the core group."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{obj['kind']}.{group}" if group else str(obj["kind"])


def inventory_of(objects: Iterable[dict[str, Any]]) -> Inventory:
    """The group-kinds and namespaces of `objects`."""
    objects = list(objects)
    return Inventory(frozenset((str(o["apiVersion"]), str(o["kind"])) for o in objects),
                     frozenset(str(o["metadata"]["namespace"]) for o in objects
                               if o["metadata"].get("namespace")))


def read_inventory(cluster: Cluster, platform: str) -> Inventory | None:
    """The inventory the cluster's parent holds, or None before the first apply."""
    parent = cluster.get("v1", "Secret", f"kfops-{platform}", PARENT_NAMESPACE)
    if parent is None:
        return None
    annotations = parent["metadata"].get("annotations") or {}
    kinds = {tuple(entry.rsplit(" ", 1)) for entry in
             filter(None, annotations.get(KINDS, "").split(","))}
    return Inventory(frozenset((a, k) for a, k in kinds),
                     frozenset(filter(None, annotations.get(NAMESPACES, "").split(","))))


def parent(platform: str, applyset_id: str, inventory: Inventory) -> dict[str, Any]:
    """The parent Secret recording `inventory`."""
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {
            "name": f"kfops-{platform}", "namespace": PARENT_NAMESPACE,
            "labels": {ID_LABEL: applyset_id, "app.kubernetes.io/managed-by": "kfops",
                       "kfops.io/platform": platform},
            "annotations": {
                TOOLING: f"kfops/v{kfops.__version__}",
                GROUP_KINDS: ",".join(sorted(inventory.group_kinds)),
                KINDS: ",".join(sorted(f"{a} {k}" for a, k in inventory.kinds)),
                NAMESPACES: ",".join(sorted(inventory.namespaces)),
            },
        },
    }
