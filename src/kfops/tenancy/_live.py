"""Profiles on a running cluster (`--live`): list, create, delete, contributors.

A Profile's namespace is made by Kubeflow's profile controller; kfops waits
for it before writing contributors and PodDefaults into it. Profiles the
platform file owns are changed in the file (an apply would undo a live edit);
Profiles made through the dashboard's registration flow are listed as `other`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfops.cluster import (
    Cluster,
    WaitSettings,
    namespace_claims,
    namespace_pending,
    wait_for,
)
from kfops.config import Platform, Profile, Taint
from kfops.errors import DataProtected, InputError
from kfops.objects import PART_OF

from ._kfam import binding_name, contributor_objects, contributors_in
from ._profiles import namespace_objects, profile_object

CREATED_BY = "kfops.io/created-by"
LIVE = "live"


@dataclass(frozen=True)
class ProfileInfo:
    """A profile as `kfops profile list` shows it."""

    name: str
    owner: str
    source: str
    """platform-file, live (kfops profile create --live) or other (dashboard, another tool)."""
    contributors: dict[str, str]
    """e-mail -> role."""
    quota: dict[str, str]


@dataclass(frozen=True)
class ProfileContents:
    """What a profile's namespace holds, as a deletion would take it."""

    pods: int
    notebooks: list[str]
    claims: str
    """Its PVCs, comma-separated ("" when none)."""


def file_profiles(platform: Platform) -> list[ProfileInfo]:
    """The profiles `platform` lists, as `kfops profile list` shows them."""
    return [ProfileInfo(p.name, p.owner, "platform-file",
                        {c.email: c.role for c in p.contributors},
                        {k: str(v) for k, v in p.quota.items()})
            for p in platform.spec.profiles]


class LiveProfiles:
    """The Profiles of a running Kubeflow."""

    def __init__(self, cluster: Cluster, waits: WaitSettings | None = None) -> None:
        self._cluster = cluster
        self._waits = waits or WaitSettings(timeout=300)

    def profiles(self) -> list[ProfileInfo]:
        """Every Profile, with its owner, source and contributors."""
        found = []
        for profile in sorted(self._cluster.list("kubeflow.org/v1", "Profile"),
                              key=lambda p: p["metadata"]["name"]):
            name = profile["metadata"]["name"]
            bindings = self._cluster.list("rbac.authorization.k8s.io/v1", "RoleBinding", name)
            found.append(ProfileInfo(
                name, str(((profile.get("spec") or {}).get("owner") or {}).get("name", "")),
                _source(profile), contributors_in(bindings),
                dict(((profile.get("spec") or {}).get("resourceQuotaSpec") or {}).get("hard")
                     or {})))
        return found

    def create(self, profile: Profile, taint: Taint) -> None:
        """Create the Profile, wait for its namespace, then add its contributors and defaults."""
        if self._get(profile.name) is not None:
            raise InputError(f"profile {profile.name} already exists")
        namespace = self._cluster.get("v1", "Namespace", profile.name)
        if namespace is not None:
            raise InputError(f"namespace {profile.name} already exists and is not a profile's; "
                             "a profile's namespace is made by the profile controller, so "
                             "choose another name")
        obj = profile_object(profile.name, profile.owner, profile.quota)
        obj["metadata"]["annotations"][CREATED_BY] = LIVE
        self._cluster.apply(obj)
        self._wait_for_namespace(profile.name)
        for item in namespace_objects(profile, taint):
            self._cluster.apply(item)

    def contents(self, name: str) -> ProfileContents:
        """What deleting profile `name` takes with it: its namespace's pods, notebooks, PVCs."""
        notebooks = self._cluster.list("kubeflow.org/v1", "Notebook", name) \
            if self._cluster.serves("kubeflow.org/v1", "Notebook") else []
        return ProfileContents(
            pods=len(self._cluster.list("v1", "Pod", name)),
            notebooks=sorted(n["metadata"]["name"] for n in notebooks),
            claims=namespace_claims(self._cluster, name))

    def deletion(self, name: str, purge_data: bool = False) -> ProfileContents:
        """What deleting profile `name` takes with it; DataProtected (nothing changed) when
        its namespace holds PVCs and `purge_data` is False."""
        contents = self.contents(name)
        if contents.claims and not purge_data:
            raise DataProtected(f"profile {name}: its namespace holds PersistentVolumeClaims "
                                f"({contents.claims}); nothing was changed (--purge-data "
                                "deletes them with the profile)")
        return contents

    def purge(self, name: str) -> None:
        """Delete the Profile `name` whoever made it, data included: the platform file's
        profile, before `--apply` removes it from the file (the apply then finds it gone)."""
        self._cluster.delete("kubeflow.org/v1", "Profile", name)

    def delete(self, name: str, purge_data: bool = False) -> None:
        """Delete a Profile (and so its namespace) unless the namespace holds PVCs."""
        profile = self._changeable(name)
        claims = namespace_claims(self._cluster, name)
        if claims and not purge_data:
            raise DataProtected(f"profile {name}: its namespace holds PersistentVolumeClaims "
                                f"({claims}); nothing was deleted (--purge-data deletes them "
                                "with the profile)")
        self._cluster.delete("kubeflow.org/v1", "Profile", profile["metadata"]["name"])

    def set_contributor(self, name: str, email: str, role: str) -> None:
        """Make `email` a contributor of the profile with `role` (replacing another role)."""
        profile = self._changeable(name)
        if str(profile["spec"]["owner"].get("name", "")).lower() == email.lower():
            raise InputError(f"{email} owns profile {name}; an owner is not a contributor")
        self._remove_bindings(name, email, keep=role)
        for obj in contributor_objects(name, email, role):
            self._cluster.apply(obj)

    def remove_contributor(self, name: str, email: str) -> None:
        """Take away a contributor's access to the profile."""
        self._changeable(name)
        if not self._remove_bindings(name, email):
            raise InputError(f"{email} is not a contributor of profile {name}")

    def _remove_bindings(self, namespace: str, email: str, keep: str | None = None) -> bool:
        bindings = self._cluster.list("rbac.authorization.k8s.io/v1", "RoleBinding", namespace)
        removed = False
        for found, role in contributors_in(bindings).items():
            if found.lower() != email.lower() or role == keep:
                continue
            name = binding_name(found, role)
            self._cluster.delete("rbac.authorization.k8s.io/v1", "RoleBinding", name, namespace)
            self._cluster.delete("security.istio.io/v1beta1", "AuthorizationPolicy", name,
                                 namespace)
            removed = True
        return removed

    def _changeable(self, name: str) -> dict[str, Any]:
        profile = self._get(name)
        if profile is None:
            raise InputError(f"profile {name} does not exist")
        if _source(profile) == "platform-file":
            raise InputError(f"profile {name} comes from the platform file; change it there "
                             "(kfops profile ... -f platform.yaml --apply), or the next apply "
                             "undoes this")
        return profile

    def _get(self, name: str) -> dict[str, Any] | None:
        return self._cluster.get("kubeflow.org/v1", "Profile", name)

    def _wait_for_namespace(self, name: str) -> None:
        wait_for(self._waits, f"profile {name}", lambda: namespace_pending(self._cluster, name))


def _source(profile: dict[str, Any]) -> str:
    metadata = profile["metadata"]
    if PART_OF in (metadata.get("labels") or {}):
        return "platform-file"
    return LIVE if (metadata.get("annotations") or {}).get(CREATED_BY) == LIVE else "other"
