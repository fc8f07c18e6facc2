"""The live objects of the kinds kfops applies: one list per kind."""

from __future__ import annotations

from typing import Any

from kfops.objects import Identity, identity_of

from ._api import Cluster
from ._inventory import PART_OF, Inventory


def snapshot(cluster: Cluster, inventory: Inventory) -> dict[Identity, dict[str, Any]]:
    """Every live object of the inventory's kinds, by identity (one list request per kind).

    Listing whole kinds, not just kfops's members, tells created from updated
    without a request per object, and finds objects a plain-manifests install
    left (which kfops then adopts).
    """
    found: dict[Identity, dict[str, Any]] = {}
    for api_version, kind in sorted(inventory.kinds):
        if not cluster.serves(api_version, kind):
            continue  # its CRD is gone, and every object of it with the CRD
        for obj in cluster.list(api_version, kind):
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            found[identity_of(obj)] = obj
    return found


def members(live: dict[Identity, dict[str, Any]],
            applyset_id: str) -> dict[Identity, dict[str, Any]]:
    """The objects of `live` that belong to this ApplySet."""
    return {identity: obj for identity, obj in live.items()
            if (obj["metadata"].get("labels") or {}).get(PART_OF) == applyset_id}
