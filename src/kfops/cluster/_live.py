"""The live objects of the kinds kfops applies (one list per kind), and which are members."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kfops.objects import PART_OF, ApplySet, Identity, identity_of

from ._api import FIELD_MANAGER, Cluster
from ._inventory import Inventory, read_inventory
from ._prune import Decision


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


@dataclass
class Membership:
    """The members of an install among live objects, and lookalikes that are not."""

    members: dict[Identity, dict[str, Any]] = field(default_factory=dict)
    ignored: list[Decision] = field(default_factory=list)
    """Objects that carry one of the install's ids but are not members, and why."""


def members(live: dict[Identity, dict[str, Any]], inventory: Inventory) -> Membership:
    """The objects of `live` that belong to the install, as KEP-3659 defines membership.

    A member carries one of the install's ApplySet ids, is of a group-kind the
    parent lists and in a namespace it lists. kfops also asks that its own
    field manager set that label (metadata.managedFields), so a label copied
    onto another object by hand or by another tool never makes it a member.
    """
    found = Membership()
    for identity, obj in sorted(live.items()):
        if (obj["metadata"].get("labels") or {}).get(PART_OF) not in inventory.ids:
            continue
        why = inventory.outside(obj) or _not_applied_by_kfops(obj)
        if why:
            found.ignored.append(Decision(obj, False, "carries this install's ApplySet "
                                          f"label, but {why}; left alone"))
        else:
            found.members[identity] = obj
    return found


def _not_applied_by_kfops(obj: dict[str, Any]) -> str | None:
    """Why the part-of label is not kfops's (another manager set it), or None."""
    setters = []
    for entry in obj["metadata"].get("managedFields") or []:
        labels = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:labels") or {}
        if f"f:{PART_OF}" in labels:
            if entry.get("manager") == FIELD_MANAGER:
                return None  # applied, or created once (a generated value's Secret)
            setters.append(str(entry.get("manager") or "an unnamed manager"))
    if not setters:
        return "kfops never applied it (no field manager owns the label)"
    return f"kfops never applied it (the label was set by {', '.join(sorted(set(setters)))})"


@dataclass(frozen=True)
class Installed:
    """What the cluster holds of an install: its recorded release and components, and its
    live members."""

    release: str
    components: tuple[str, ...]
    members: tuple[dict[str, Any], ...]


def installed_platform(cluster: Cluster, applyset: ApplySet) -> Installed | None:
    """The install's record and members (one list per recorded kind); None before its
    first apply."""
    inventory = read_inventory(cluster, applyset.platform)
    if inventory is None:
        return None
    components = tuple(dict.fromkeys(w[0] for w in inventory.workloads))
    found = members(snapshot(cluster, inventory), inventory).members
    return Installed(inventory.release, components, tuple(found[i] for i in sorted(found)))
