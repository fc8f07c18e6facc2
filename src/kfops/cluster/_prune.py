"""What prune and uninstall delete, decided once before anything is deleted.

`plan` shows these decisions and `apply` and `uninstall` carry them out, so a
plan says exactly what they will do. Objects are decided in deletion order
(objects, then Profiles, then namespaces, then CustomResourceDefinitions),
each knowing what the ones before it will do:

- a member that is data (see _protect) stays unless --purge-data;
- a namespace, or a Profile (whose namespace goes with it), is deleted only
  when everything in it goes too. Everything in it is found by listing every
  namespaced kind the API server serves (discovery; events aside, which expire
  on their own). What goes: members being deleted, and what Kubernetes or
  their controllers made from them: objects whose ownerReferences lead to a
  member, the `default` ServiceAccount and `kube-root-ca.crt` ConfigMap of
  every namespace, the Endpoints of a Service, the token Secret of a
  ServiceAccount. PersistentVolumeClaims made from a member StatefulSet's
  volume claim templates are data (kept unless --purge-data). Anything else
  is foreign: it keeps the namespace, and the reason names it, unless
  --purge-foreign;
- a CRD is deleted only when every object of its kind goes too (a member
  being deleted, or an object in a namespace being deleted); objects kfops did
  not apply keep it, even with --purge-data, unless --purge-foreign;
- users' data kfops did not apply (a PersistentVolumeClaim of a notebook, a
  Profile made through the dashboard) is deleted with its namespace or CRD only
  when both --purge-data and --purge-foreign are given.

Carrying them out, a deletion that fails stops only what would take the failed
object along (`held_back`): its namespace or Profile, and the CRD of its kind
(or of objects in a namespace that stays), as each was decided counting on it
going first. Every other deletion is still tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kfops.errors import ClusterError, Forbidden, Unavailable
from kfops.objects import (
    Identity,
    deletion_order,
    describe,
    identity_of,
    is_profile,
    storage_version,
)

from ._api import Cluster
from ._protect import data_reason

EVENTS = frozenset({("", "Event"), ("events.k8s.io", "Event")})
SHOWN = 20
"""How many objects a reason names before it counts the rest."""

MEMBER, MADE, DATA, FOREIGN = "member", "made", "data", "foreign"


@dataclass(frozen=True)
class PruneRules:
    """What may be deleted besides what kfops applied and holds no data."""

    purge_data: bool = False
    """PVCs, Profiles, namespaces and CRDs holding them (kfops's data objects)."""
    purge_foreign: bool = False
    """Namespaces, Profiles and CRDs holding objects kfops did not apply, with them."""


@dataclass(frozen=True)
class Decision:
    """Delete or keep one object, and why."""

    obj: dict[str, Any]
    delete: bool
    reason: str = ""
    """Why it stays; for a deletion, what else goes with it (--purge-foreign)."""

    @property
    def what(self) -> str:
        """`kind namespace/name`."""
        return describe(self.obj)

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}" if self.reason else self.what


def decide(cluster: Cluster, leaving: Iterable[dict[str, Any]],
           members: dict[Identity, dict[str, Any]], wanted: Sequence[dict[str, Any]],
           rules: PruneRules) -> list[Decision]:
    """Delete or keep each of `leaving` (members that left the platform, or every member
    on uninstall), in deletion order; `wanted` are the objects that stay applied."""
    world = _World(cluster, members, wanted)
    decisions = []
    for obj in sorted(leaving, key=lambda o: (deletion_order(o), identity_of(o))):
        decision = _decide_one(world, obj, rules)
        if decision.delete:
            world.going(obj)
        decisions.append(decision)
    return decisions


def held_back(cluster: Cluster, obj: dict[str, Any],
              left: Sequence[dict[str, Any]]) -> str | None:
    """Why `obj` must not be deleted now, as `left` (objects that could not be deleted, or
    were held back) stay: deleting it would take one of them along. None when nothing
    holds it back."""
    if not left:
        return None
    if obj["kind"] == "Namespace" or is_profile(obj):
        namespace = obj["metadata"]["name"]
        inside = [o for o in left if o["metadata"].get("namespace") == namespace]
        whose = "its namespace " if is_profile(obj) else ""
        return f"{whose}holds {_names(inside)}, which stay" if inside else None
    if obj["kind"] != "CustomResourceDefinition":
        return None
    spec = obj["spec"]
    of_kind = [o for o in left if o["kind"] == spec["names"]["kind"]
               and str(o["apiVersion"]).startswith(f"{spec['group']}/")]
    staying = {o["metadata"]["name"] for o in left if o["kind"] == "Namespace" or is_profile(o)}
    if staying and not of_kind:
        try:
            of_kind = [o for o in crd_instances(cluster, obj)
                       if o["metadata"].get("namespace") in staying]
        except ClusterError as error:
            return f"cannot tell whether namespaces that stay hold its objects ({error})"
    return f"deleting it deletes {_names(of_kind)}, which stay" if of_kind else None


def _decide_one(world: _World, obj: dict[str, Any], rules: PruneRules) -> Decision:
    reason = None if rules.purge_data else data_reason(obj)
    if reason:
        return Decision(obj, False, reason)
    if obj["kind"] == "Namespace":
        return world.container(obj, obj["metadata"]["name"], rules, "")
    if is_profile(obj):
        return world.container(obj, obj["metadata"]["name"], rules, "its namespace ")
    if obj["kind"] == "CustomResourceDefinition":
        return world.crd(obj, rules)
    return Decision(obj, True)


@dataclass
class _World:
    """What the decisions look at, read from the cluster once and only when needed."""

    cluster: Cluster
    members: dict[Identity, dict[str, Any]]
    wanted: Sequence[dict[str, Any]]
    gone: set[Identity] = field(default_factory=set)
    doomed_namespaces: set[str] = field(default_factory=set)
    _held: dict[str, dict[Identity, dict[str, Any]]] | None = None
    _by_uid: dict[str, dict[str, Any]] = field(default_factory=dict)
    _origins: dict[Identity, str] = field(default_factory=dict)
    unlisted: list[str] = field(default_factory=list)
    """Kinds (or group versions) the API server would not list: namespaces are kept."""

    def __post_init__(self) -> None:
        self._by_uid.update({str(o["metadata"].get("uid")): o for o in self.members.values()})

    def going(self, obj: dict[str, Any]) -> None:
        """`obj` will be deleted (a namespace or Profile with everything in it)."""
        self.gone.add(identity_of(obj))
        if obj["kind"] == "Namespace" or is_profile(obj):
            self.doomed_namespaces.add(obj["metadata"]["name"])

    def container(self, obj: dict[str, Any], namespace: str, rules: PruneRules,
                  whose: str) -> Decision:
        """Delete a namespace (or Profile) only when nothing in it must stay."""
        stays, data, foreign = [], [], []
        held_objects = self.held(namespace)
        if self.unlisted:
            # What cannot be listed might be in it: not knowing is no licence to delete.
            return Decision(obj, False, f"{whose}may hold objects kfops cannot list "
                                        f"({'; '.join(self.unlisted)}); kept")
        for held in held_objects:
            origin = self.origin(held)
            if origin == MEMBER and identity_of(held) not in self.gone:
                stays.append(held)
            elif origin == DATA:
                data.append(held)
            elif origin == FOREIGN:
                foreign.append(held)
        stays += [o for o in self.wanted if o["metadata"].get("namespace") == namespace
                  and identity_of(o) not in {identity_of(s) for s in stays}]
        reasons = []
        if stays:
            reasons.append(f"{whose}holds objects that stay: {_names(stays)}")
        if data and not rules.purge_data:
            reasons.append(f"{whose}holds data its StatefulSets made: {_names(data)} "
                           "(--purge-data deletes it)")
        users_data = [o for o in foreign if _is_data(o)]
        if users_data and not (rules.purge_data and rules.purge_foreign):
            reasons.append(f"{whose}holds users' data kfops did not apply: {_names(users_data)} "
                           "(only --purge-data with --purge-foreign deletes it)")
        elif foreign and not rules.purge_foreign:
            reasons.append(f"{whose}holds {self.foreign(foreign)} (--purge-foreign deletes "
                           "them with it)")
        if reasons:
            return Decision(obj, False, "; ".join(reasons))
        if foreign:
            return Decision(obj, True, f"also deletes {self.foreign(foreign)} "
                                       "(--purge-foreign)")
        return Decision(obj, True)

    def crd(self, crd: dict[str, Any], rules: PruneRules) -> Decision:
        """Delete a CRD (and so every object of its kind) only when they all go anyway."""
        stays, foreign = [], []
        for instance in self.instances(crd):
            identity = identity_of(instance)
            namespace = instance["metadata"].get("namespace")
            if identity in self.gone or (namespace and namespace in self.doomed_namespaces):
                continue
            origin = self.origin(instance)
            if origin == MEMBER:
                stays.append(instance)
            elif origin == FOREIGN:
                foreign.append(instance)
        kind = crd["spec"]["names"]["kind"]
        stays += [o for o in self.wanted if o["kind"] == kind and
                  str(o["apiVersion"]).startswith(f"{crd['spec']['group']}/")]
        if stays:
            return Decision(crd, False, f"{kind} objects kfops keeps still exist: "
                                        f"{_names(stays)}")
        if any(_is_data(o) for o in foreign) and not (rules.purge_data and rules.purge_foreign):
            return Decision(crd, False, f"deleting it deletes {self.foreign(foreign, kind)}, "
                                        "users' data (only --purge-data with --purge-foreign "
                                        "deletes them with it)")
        if foreign and not rules.purge_foreign:
            return Decision(crd, False, f"deleting it deletes {self.foreign(foreign, kind)} "
                                        "(--purge-foreign deletes them with it)")
        if foreign:
            return Decision(crd, True, f"also deletes {self.foreign(foreign, kind)} "
                                       "(--purge-foreign)")
        return Decision(crd, True)

    def instances(self, crd: dict[str, Any]) -> list[dict[str, Any]]:
        """Every object of the CRD's kind (listed in its storage version)."""
        return crd_instances(self.cluster, crd)

    def held(self, namespace: str) -> list[dict[str, Any]]:
        """Every object in `namespace`, of every namespaced kind the API server serves."""
        return list(self._everything().get(namespace, {}).values())

    def origin(self, obj: dict[str, Any], seen: frozenset[str] = frozenset()) -> str:
        """member, made (from a member, by Kubernetes or a controller), data or foreign."""
        identity = identity_of(obj)
        if identity in self.members:
            return MEMBER
        if identity not in self._origins:
            self._origins[identity] = self._origin(obj, seen)
        return self._origins[identity]

    def _origin(self, obj: dict[str, Any], seen: frozenset[str]) -> str:
        metadata = obj["metadata"]
        kind, namespace, name = obj["kind"], metadata.get("namespace", ""), metadata["name"]
        core = obj["apiVersion"] == "v1"
        if core and (kind, name) in {("ServiceAccount", "default"),
                                     ("ConfigMap", "kube-root-ca.crt")}:
            return MADE  # Kubernetes puts these in every namespace
        owners = metadata.get("ownerReferences") or []
        if owners:
            return self._owned(owners, seen | {str(metadata.get("uid"))})
        if core and kind == "Endpoints":
            return self._made_from(("", "Service", namespace, name), seen)
        annotations = metadata.get("annotations") or {}
        if core and kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
            account = annotations.get("kubernetes.io/service-account.name", "")
            return self._made_from(("", "ServiceAccount", namespace, account), seen)
        if core and kind == "PersistentVolumeClaim" and self._from_claim_template(obj):
            return DATA
        return FOREIGN

    def _owned(self, owners: list[dict[str, Any]], seen: frozenset[str]) -> str:
        """MADE when every owner is kfops's (or made from it), else FOREIGN."""
        for reference in owners:
            uid = str(reference.get("uid"))
            owner = self._by_uid.get(uid) or self._everything_by_uid().get(uid)
            if owner is None or uid in seen or self.origin(owner, seen) == FOREIGN:
                return FOREIGN
        return MADE

    def _made_from(self, identity: Identity, seen: frozenset[str]) -> str:
        source = self.members.get(identity) or \
            self._everything().get(identity[2], {}).get(identity)
        if source is None or self.origin(source, seen) == FOREIGN:
            return FOREIGN
        return MADE

    def _from_claim_template(self, claim: dict[str, Any]) -> bool:
        namespace, name = claim["metadata"].get("namespace"), claim["metadata"]["name"]
        for member in self.members.values():
            if member["kind"] != "StatefulSet" or member["metadata"].get("namespace") != namespace:
                continue
            workload = re.escape(member["metadata"]["name"])
            for template in (member.get("spec") or {}).get("volumeClaimTemplates") or []:
                prefix = re.escape(str((template.get("metadata") or {}).get("name", "")))
                if re.fullmatch(rf"{prefix}-{workload}-\d+", name):
                    return True
        return False

    @staticmethod
    def foreign(objects: list[dict[str, Any]], kind: str = "") -> str:
        """`2 objects kfops did not apply: A, B`, naming those no other of them owns (a
        user's Deployment, not its ReplicaSets and Pods, which are counted)."""
        uids = {str(o["metadata"].get("uid")) for o in objects}
        roots = [o for o in objects if not any(str(r.get("uid")) in uids for r in
                                               o["metadata"].get("ownerReferences") or [])]
        owned = len(objects) - len(roots)
        return (f"{_count(roots, kind)} kfops did not apply"
                + (f" (and {_count(objects[:owned])} they own)" if owned else "")
                + f": {_names(roots)}")

    def _everything(self) -> dict[str, dict[Identity, dict[str, Any]]]:
        if self._held is None:
            self._held = {}
            for obj in self.cluster.list("v1", "Namespace"):
                obj.setdefault("apiVersion", "v1")
                obj.setdefault("kind", "Namespace")
                self._by_uid[str(obj["metadata"].get("uid"))] = obj
            found = self.cluster.discover()
            self.unlisted += found.unavailable
            for info in found.kinds:
                if not info.namespaced or (info.group, info.kind) in EVENTS:
                    continue
                try:
                    listed = self.cluster.list(info.api_version, info.kind)
                except (Forbidden, Unavailable) as error:
                    self.unlisted.append(f"{info.kind}.{info.group or 'core'} ({error})")
                    continue
                for obj in listed:
                    obj.setdefault("apiVersion", info.api_version)
                    obj.setdefault("kind", info.kind)
                    self._held.setdefault(obj["metadata"]["namespace"], {})[
                        identity_of(obj)] = obj
                    self._by_uid[str(obj["metadata"].get("uid"))] = obj
        return self._held

    def _everything_by_uid(self) -> dict[str, dict[str, Any]]:
        self._everything()
        return self._by_uid


def crd_instances(cluster: Cluster, crd: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object of the CRD's kind (listed in its storage version)."""
    version = storage_version(crd)
    if not version:
        return []
    cluster.learn_crds([crd])
    spec = crd["spec"]
    return cluster.list(f"{spec['group']}/{version}", spec["names"]["kind"])


def _is_data(obj: dict[str, Any]) -> bool:
    """Users' data whoever made it: a PVC, or a Profile (its namespace and all in it)."""
    return (obj["kind"] == "PersistentVolumeClaim" and obj["apiVersion"] == "v1") or \
        is_profile(obj)


def _names(objects: list[dict[str, Any]]) -> str:
    names = sorted(describe(o) for o in objects)
    shown = ", ".join(names[:SHOWN])
    return shown if len(names) <= SHOWN else f"{shown} and {len(names) - SHOWN} more"


def _count(objects: list[dict[str, Any]], kind: str = "") -> str:
    noun = f"{kind} object" if kind else "object"
    return f"{len(objects)} {noun}{'' if len(objects) == 1 else 's'}"
